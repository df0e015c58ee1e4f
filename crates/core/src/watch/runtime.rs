//! Running watch rules: one task per active rule that turns file events (hints) and scans
//! (the truth) into jobs once files are complete, falls back to polling where the OS
//! cannot watch, waits for a missing folder to come back, and rescans on overflow and
//! periodically; plus the after-upload actions (`after`) and the queue runner, until
//! stopped. Only the home's owner runs rules.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::Watcher;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::paths;
use super::scan::{self, FileInfo, Filters};
use super::store::Status;
use super::{Rule, Watch};
use crate::error::Result;
use crate::queue::runner::{self, RunOptions};
use crate::queue::Event;

/// What the OS watcher tells a rule task.
#[derive(Debug)]
pub enum Hint {
    /// Something happened at these paths: look at them.
    Paths(Vec<PathBuf>),
    /// Events were lost (queue overflow) or the watcher failed: scan everything.
    Rescan(String),
}

/// Turn a notify callback into a hint. The rescan flag (inotify queue overflow) and
/// watcher errors both lead to a full scan.
pub fn hint_of(res: notify::Result<notify::Event>) -> Hint {
    match res {
        Ok(ev) if ev.need_rescan() => Hint::Rescan("the event queue overflowed".into()),
        Ok(ev) => Hint::Paths(ev.paths),
        Err(e) => Hint::Rescan(format!("watcher error: {e}")),
    }
}

/// Live rule tasks of this process, by rule id: how to reach each (tests and
/// diagnostics inject hints through it).
#[derive(Default)]
pub struct Registry {
    tasks: Mutex<HashMap<String, (CancellationToken, mpsc::UnboundedSender<Hint>)>>,
    /// Rules whose path events are dropped, to reproduce a lost-events overflow.
    muted: Mutex<std::collections::HashSet<String>>,
    /// Use polling even where OS events work (diagnostics; tests of the fallback).
    force_polling: std::sync::atomic::AtomicBool,
}

impl Watch {
    /// Run every active watch rule and the queue until `stop` is cancelled. The caller
    /// has taken the home (`Queue::take_home`).
    pub async fn run(self: &Arc<Self>, stop: CancellationToken) -> Result<()> {
        self.queue.require_owner()?;
        let queue = {
            let q = self.queue.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                runner::run(
                    &q,
                    RunOptions {
                        forever: true,
                        stop: Some(stop),
                        ..RunOptions::default()
                    },
                )
                .await
            })
        };
        let after = tokio::spawn(super::after::run(self.clone(), stop.clone()));
        // Start, stop and restart rule tasks as the config changes (add, pause, remove).
        let mut running: HashMap<String, Rule> = HashMap::new();
        loop {
            let rules = self.rules();
            for r in &rules {
                let changed = running.get(&r.id).is_some_and(|old| old != r);
                if changed || (r.paused && running.contains_key(&r.id)) {
                    self.stop_rule(&r.id);
                    running.remove(&r.id);
                }
                if r.paused {
                    let _ = self.store.set_status(
                        &r.id,
                        &Status {
                            state: "paused".into(),
                            waiting: 0,
                            reason: None,
                            last_error: None,
                            fresh: true,
                        },
                    );
                } else if !running.contains_key(&r.id) {
                    self.start_rule(r.clone(), stop.child_token());
                    running.insert(r.id.clone(), r.clone());
                }
            }
            for id in running.keys().cloned().collect::<Vec<_>>() {
                if !rules.iter().any(|r| r.id == id) {
                    self.stop_rule(&id);
                    running.remove(&id);
                }
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
        for id in running.keys() {
            self.stop_rule(id);
        }
        let _ = after.await;
        queue
            .await
            .map_err(|e| crate::Error::new(crate::Code::Internal, e.to_string()))??;
        Ok(())
    }

    fn start_rule(self: &Arc<Self>, rule: Rule, stop: CancellationToken) {
        let (tx, rx) = mpsc::unbounded_channel();
        self.registry
            .tasks
            .lock()
            .expect("registry lock")
            .insert(rule.id.clone(), (stop.clone(), tx.clone()));
        tokio::spawn(rule_task(self.clone(), rule, stop, tx, rx));
    }

    fn stop_rule(&self, id: &str) {
        if let Some((stop, _)) = self
            .registry
            .tasks
            .lock()
            .expect("registry lock")
            .remove(id)
        {
            stop.cancel();
        }
    }

    /// Drop (or stop dropping) a rule's path events, as an overflowing event queue does;
    /// for diagnosing and testing the rescan that must follow.
    #[doc(hidden)]
    pub fn drop_events(&self, id: &str, drop: bool) {
        let mut muted = self.registry.muted.lock().expect("registry lock");
        if drop {
            muted.insert(id.to_string());
        } else {
            muted.remove(id);
        }
    }

    /// Watch by polling, as when the OS refuses more watches (takes effect for rules
    /// started from now on).
    #[doc(hidden)]
    pub fn force_polling(&self, on: bool) {
        self.registry
            .force_polling
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// Deliver a watcher callback result to a running rule, as the OS watcher would.
    /// Returns false when the rule is not running in this process.
    pub fn inject(&self, id: &str, res: notify::Result<notify::Event>) -> bool {
        let tasks = self.registry.tasks.lock().expect("registry lock");
        tasks
            .get(id)
            .is_some_and(|(_, tx)| tx.send(hint_of(res)).is_ok())
    }
}

/// A file seen but not taken yet.
struct Pending {
    info: FileInfo,
    since: Instant,
}

/// How the rule is watching right now.
#[derive(Clone, PartialEq)]
enum Mode {
    Events,
    Polling(String),
}

async fn rule_task(
    engine: Arc<Watch>,
    rule: Rule,
    stop: CancellationToken,
    tx: mpsc::UnboundedSender<Hint>,
    mut rx: mpsc::UnboundedReceiver<Hint>,
) {
    let filters = match Filters::new(&rule.include, &rule.exclude, &rule.after) {
        Ok(f) => f,
        Err(e) => {
            set_status(&engine, &rule, "unavailable", 0, Some(e.message), None);
            return;
        }
    };
    let settle = Duration::from_secs_f64(rule.settle_secs);
    let mut last_error: Option<String> = None;
    while !stop.is_cancelled() {
        if !rule.dir.is_dir() {
            set_status(
                &engine,
                &rule,
                "unavailable",
                0,
                Some(format!(
                    "{} is missing (an unmounted drive?); watching resumes when it is back",
                    rule.dir.display()
                )),
                last_error.clone(),
            );
            tokio::select! {
                _ = stop.cancelled() => {
                    let _ = engine.store.clear_status(&rule.id);
                    return;
                }
                _ = tokio::time::sleep(Duration::from_millis(500)) => continue,
            }
        }
        // Events where the OS can deliver them; polling where it cannot.
        let forced = engine
            .registry
            .force_polling
            .load(std::sync::atomic::Ordering::SeqCst);
        let (watcher, mode) = start_watcher(&rule, tx.clone(), forced);
        let root = paths::canonical(&rule.dir);
        let mut pending: HashMap<PathBuf, Pending> = HashMap::new();
        let mut rescan_needed = true;
        let mut next_rescan = Instant::now() + rescan_every(&rule);
        let mut last_status = (String::new(), u64::MAX);
        let mut last_beat = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            if rescan_needed || Instant::now() >= next_rescan {
                let found = {
                    let (dir, rec, f) = (rule.dir.clone(), rule.recursive, filters.clone());
                    tokio::task::spawn_blocking(move || scan::scan(&dir, rec, &f))
                        .await
                        .unwrap_or_default()
                };
                if let Some(e) = found.errors.first() {
                    last_error = Some(format!(
                        "{} unreadable entr{}: {e}",
                        found.errors.len(),
                        if found.errors.len() == 1 { "y" } else { "ies" }
                    ));
                }
                for f in found.files {
                    consider(&engine, &rule, &mut pending, f);
                }
                rescan_needed = false;
                next_rescan = Instant::now() + rescan_every(&rule);
            }
            tokio::select! {
                _ = stop.cancelled() => {
                    drop(watcher);
                    let _ = engine.store.clear_status(&rule.id);
                    return;
                }
                hint = rx.recv() => match hint {
                    Some(Hint::Rescan(why)) => {
                        tracing::debug!("rule {}: rescan ({why})", rule.id);
                        rescan_needed = true;
                    }
                    Some(Hint::Paths(_)) if engine.registry.muted.lock().expect("registry lock").contains(&rule.id) => {}
                    Some(Hint::Paths(paths)) => {
                        for p in paths {
                            look_at(&engine, &rule, &root, &filters, &mut pending, &p, &mut rescan_needed);
                        }
                    }
                    None => return,
                },
                _ = tick.tick() => {}
            }
            if !rule.dir.is_dir() {
                break; // unavailable: back to the outer loop, which waits for it
            }
            take_settled(&engine, &rule, &mut pending, settle).await;
            let (state, reason) = match &mode {
                Mode::Events => ("watching".to_string(), None),
                Mode::Polling(why) => ("degraded-polling".to_string(), Some(why.clone())),
            };
            let waiting = pending.len() as u64;
            if (state.clone(), waiting) != last_status
                || last_beat.elapsed() > Duration::from_secs(2)
            {
                if waiting != last_status.1 {
                    engine.queue.emit(Event::WatchChanged {
                        rule: rule.id.clone(),
                    });
                }
                set_status(&engine, &rule, &state, waiting, reason, last_error.clone());
                last_status = (state, waiting);
                last_beat = Instant::now();
            }
        }
        drop(watcher);
    }
}

/// Start an OS watcher for the rule, or a polling one (and say why) where watches cannot
/// be added — e.g. the inotify watch limit.
fn start_watcher(
    rule: &Rule,
    tx: mpsc::UnboundedSender<Hint>,
    force_polling: bool,
) -> (Option<Box<dyn Watcher + Send>>, Mode) {
    let mode = if rule.recursive {
        notify::RecursiveMode::Recursive
    } else {
        notify::RecursiveMode::NonRecursive
    };
    let tx2 = tx.clone();
    let native = if force_polling {
        Err(notify::Error::generic("polling was forced"))
    } else {
        notify::recommended_watcher(move |res| {
            let _ = tx2.send(hint_of(res));
        })
        .and_then(|mut w| w.watch(&rule.dir, mode).map(|_| w))
    };
    match native {
        Ok(w) => (Some(Box::new(w)), Mode::Events),
        Err(e) => {
            let why = polling_reason(&e);
            let poll = notify::PollWatcher::new(
                move |res| {
                    let _ = tx.send(hint_of(res));
                },
                notify::Config::default().with_poll_interval(Duration::from_secs(2)),
            )
            .and_then(|mut w| w.watch(&rule.dir, mode).map(|_| w));
            match poll {
                Ok(w) => (Some(Box::new(w)), Mode::Polling(why)),
                // Even polling failed: the periodic rescan is all that is left.
                Err(_) => (None, Mode::Polling(why)),
            }
        }
    }
}

/// Why a rule polls, and how to fix it, from the error that stopped OS watching.
pub fn polling_reason(e: &notify::Error) -> String {
    match e.kind {
        notify::ErrorKind::MaxFilesWatch => format!(
            "the OS limit on watched folders was reached ({e}); polling every 2 s instead. \
             Raise it with `sudo sysctl fs.inotify.max_user_watches=524288`"
        ),
        _ => format!("file events are unavailable here ({e}); polling every 2 s instead"),
    }
}

fn look_at(
    engine: &Watch,
    rule: &Rule,
    root: &Option<PathBuf>,
    filters: &Filters,
    pending: &mut HashMap<PathBuf, Pending>,
    p: &Path,
    rescan: &mut bool,
) {
    // The OS may name the folder otherwise than the rule does (see `paths`).
    let Some(named) = paths::in_rule(&rule.dir, root.as_deref(), p, paths::NAMES_FOLD) else {
        return;
    };
    let p = named.as_path();
    let Ok(rel) = p.strip_prefix(&rule.dir) else {
        return;
    };
    if rel.as_os_str().is_empty() {
        return;
    }
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {
            // A folder moved or created inside a recursive rule: its files raise no
            // events of their own, so look inside.
            if rule.recursive && !filters.skips_dir(rel) {
                *rescan = true;
            }
        }
        Ok(m) if m.is_file() => {
            if (rule.recursive || rel.components().count() == 1) && filters.wants(rel) {
                if let Some(info) = scan::stat(p) {
                    consider(engine, rule, pending, info);
                }
            }
        }
        _ => {
            pending.remove(p);
        }
    }
}

/// How often a rule rescans its folder besides its events. At most every minute on
/// Windows: notify's ReadDirectoryChangesW backend drops a buffer overflow without a
/// rescan (notify issue #963), so after a card dump the periodic scan is what finds
/// the files it lost.
fn rescan_every(rule: &Rule) -> Duration {
    let secs = rule.rescan_secs.max(1);
    Duration::from_secs(if cfg!(windows) { secs.min(60) } else { secs })
}

/// Track a file until it is quiet for the settle time.
fn consider(engine: &Watch, rule: &Rule, pending: &mut HashMap<PathBuf, Pending>, info: FileInfo) {
    match pending.get_mut(&info.path) {
        Some(p) if p.info == info => {}
        Some(p) => {
            p.info = info;
            p.since = Instant::now();
        }
        None => {
            if engine.store.seen(&rule.id, &info).unwrap_or(false) {
                return;
            }
            pending.insert(
                info.path.clone(),
                Pending {
                    info,
                    since: Instant::now(),
                },
            );
        }
    }
}

/// Queue every file that has been quiet for the settle time (re-checked on disk).
async fn take_settled(
    engine: &Arc<Watch>,
    rule: &Rule,
    pending: &mut HashMap<PathBuf, Pending>,
    settle: Duration,
) {
    let now = Instant::now();
    let due: Vec<PathBuf> = pending
        .iter()
        .filter(|(_, p)| now.duration_since(p.since) >= settle)
        .map(|(k, _)| k.clone())
        .collect();
    if due.is_empty() {
        return;
    }
    let accepts = engine
        .queue
        .accounts
        .provider(&rule.account)
        .map(|p| p.limits())
        .ok();
    let mut ready: Vec<FileInfo> = Vec::new();
    let mut skipped: Vec<FileInfo> = Vec::new();
    for path in due {
        match scan::stat(&path) {
            None => {
                pending.remove(&path);
            }
            Some(now_info) => {
                let p = pending.get_mut(&path).expect("pending entry");
                if now_info != p.info {
                    // Still being written: wait another quiet period.
                    p.info = now_info;
                    p.since = Instant::now();
                    continue;
                }
                if scan::held_by_a_writer(&path) {
                    // Quiet but still open in the program writing it: wait on.
                    p.since = Instant::now();
                    continue;
                }
                pending.remove(&path);
                // By default a rule takes what its destination accepts (from the bytes);
                // other files are left alone, not failed.
                let not_accepted = rule.include.is_empty()
                    && accepts.is_some_and(|l| {
                        !l.accepts.is_empty()
                            && !crate::media::sniff_path(&path).is_ok_and(|m| l.accepts_mime(&m))
                    });
                if not_accepted {
                    skipped.push(now_info);
                } else {
                    ready.push(now_info);
                }
            }
        }
    }
    if !skipped.is_empty() {
        let _ = engine.store.mark_seen_all(&rule.id, &skipped);
    }
    if ready.is_empty() {
        return;
    }
    // The jobs and the "taken" marks go in together: a crash or stop between them can
    // neither lose a file nor take it twice.
    if let Err(e) = engine
        .queue
        .enqueue_watched(&rule.id, &rule.accounts(), &ready)
    {
        tracing::warn!("rule {}: could not queue files: {}", rule.id, e.message);
        // Put them back: nothing is dropped.
        for f in ready {
            pending.insert(
                f.path.clone(),
                Pending {
                    info: f,
                    since: Instant::now(),
                },
            );
        }
    }
}

fn set_status(
    engine: &Watch,
    rule: &Rule,
    state: &str,
    waiting: u64,
    reason: Option<String>,
    last_error: Option<String>,
) {
    let _ = engine.store.set_status(
        &rule.id,
        &Status {
            state: state.to_string(),
            waiting,
            reason,
            last_error,
            fresh: true,
        },
    );
}
