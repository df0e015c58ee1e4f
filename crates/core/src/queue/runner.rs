//! Runs jobs from the journal: claims runnable ones within the global and per-account
//! limits, runs each (`exec`), and commits every outcome before reporting it. Only the
//! home's owner runs (see `owner`). A job is controlled (pause, cancel) through its row,
//! so another process — the desktop app, a second `ferry` — can steer a job this process
//! runs. A stop (quit, SIGTERM, logout) interrupts: running jobs go back to the queue
//! with their resume state; only a person's cancel cancels.
//!
//! A database that cannot be written for a while (busy, disk full) never ends the runner:
//! it backs off, retries, and says so through the home's runner note until it recovers.
//!
//! With `pause_on_metered` / `pause_on_battery`, the machine's state is read every few
//! seconds; while it is metered (or on battery) the runner starts nothing it holds and
//! sends the running jobs back to the queue with their resume state and their attempt
//! given back; they start again by themselves when it clears.
//!
//! Offline (see `net` for the rule) is not a failure: the job waits as offline with its
//! attempt given back, the runner starts nothing that needs the network, probes the
//! hosts it could not reach every few seconds (backing off), and wakes the waiting jobs
//! when one answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Event, JobId, JobStatus, Queue};
use crate::error::{Code, Error, Result};
use crate::transfer::{Phase, Progress, ProgressEvent};

/// How a run ends.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Files at once (default: the config's `concurrency`).
    pub concurrency: Option<usize>,
    /// Only these jobs (a `ferry upload`); `None` = every runnable job.
    pub scope: Option<Vec<JobId>>,
    /// Keep running and wait for new jobs (the desktop app, `ferry watch run`).
    pub forever: bool,
    /// Stop when this is cancelled (forever runs).
    pub stop: Option<CancellationToken>,
}

/// A job this process is running, and why it was stopped if it was.
pub struct Running {
    pub cancel: CancellationToken,
    pub stop: Arc<Mutex<Option<String>>>,
    /// Its account, so a bandwidth timetable's "do not send" or a metered pause can stop its jobs.
    pub account: String,
}

/// How many times a file that keeps changing is retried before the job fails.
const MAX_CHANGED_RETRIES: u32 = 5;
/// Wait before sending a changed file again: long enough for most writers to finish.
const CHANGED_BACKOFF: Duration = Duration::from_secs(2);
/// How long a paused or cancelled job may take to wind down before it is let go.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long a stop (quit) waits for in-flight requests to end: short, so quitting is
/// never held up for long; what was not finished resumes at the next start.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// The longest wait between tries while the database cannot be written.
const DB_BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How often the machine's metered and battery state is read while a pause wants it.
const CONDITIONS_POLL: Duration = Duration::from_secs(2);
/// An offline job's own retry time, for a runner that dies before the network is back
/// (the next one tries it then); the runner that is there wakes it sooner.
const OFFLINE_FALLBACK: Duration = Duration::from_secs(60);

pub async fn run(queue: &Arc<Queue>, opts: RunOptions) -> Result<()> {
    queue.require_owner()?;
    let global = opts
        .concurrency
        .unwrap_or_else(|| queue.accounts.config().settings.concurrency)
        .max(1);
    let mut tasks: JoinSet<String> = JoinSet::new();
    let mut per_account: HashMap<String, usize> = HashMap::new();
    let scope = opts.scope.as_deref();
    let mut failures = 0u32;
    // Held while this run sends, released when it idles and when it ends.
    let mut awake = crate::power::KeepAwake::new(queue.bus.clone());
    let mut next_conditions = Instant::now();
    abandon_cancelled(queue).await;
    loop {
        if opts.stop.as_ref().is_some_and(|s| s.is_cancelled()) {
            // A stop, not a cancel: every running job goes back to the queue.
            send_back(queue, "stop", |_| true);
            while tasks.join_next().await.is_some() {}
            return Ok(());
        }
        check_conditions(queue, &mut next_conditions).await;
        probe_offline(queue, &opts.stop).await;
        // Follow the bandwidth settings as they change; a rate of 0 puts the jobs it
        // covers back in the queue (resume state kept, attempt given back).
        hold_for_bandwidth(queue);
        // Start what the limits allow.
        let started = start_jobs(
            queue,
            &mut tasks,
            &mut per_account,
            global,
            scope,
            &opts.stop,
        );
        let idle = match started.and_then(|()| {
            Ok(tasks.is_empty() && !opts.forever && !waiting_in_scope(queue, scope)?)
        }) {
            Ok(idle) => {
                if failures > 0 {
                    tracing::info!("the database answers again; sending resumes");
                    queue.set_problem(None);
                    failures = 0;
                }
                idle
            }
            Err(e) => {
                // Busy for longer than the timeout, disk full…: wait and try again, and
                // say so meanwhile; the jobs stay where they are.
                failures += 1;
                let wait =
                    Duration::from_millis(500 * 2u64.pow(failures.min(6))).min(DB_BACKOFF_MAX);
                tracing::warn!(
                    "the queue cannot use its database ({}); retrying in {wait:?}",
                    e.message
                );
                queue.set_problem(Some(format!(
                    "cannot use the database: {}; retrying every {}s",
                    e.message,
                    wait.as_secs().max(1)
                )));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stopped(&opts.stop) => {}
                }
                false
            }
        };
        if idle {
            return Ok(());
        }
        awake
            .sending(
                !tasks.is_empty(),
                queue.accounts.config().settings.keep_awake,
            )
            .await;
        let notified = queue.notify.notified();
        tokio::select! {
            Some(done) = tasks.join_next() => {
                if let Ok(account) = done {
                    if let Some(n) = per_account.get_mut(&account) {
                        *n = n.saturating_sub(1);
                    }
                }
            }
            _ = notified => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stopped(&opts.stop) => {}
        }
    }
}

/// Read the metered and battery state when a pause wants it (every
/// [`CONDITIONS_POLL`]); when it begins, send the running jobs it holds back to the
/// queue; when it ends, let the queue go on.
async fn check_conditions(queue: &Arc<Queue>, next: &mut Instant) {
    if Instant::now() < *next {
        return;
    }
    *next = Instant::now() + CONDITIONS_POLL;
    let (metered, battery) = {
        let s = &queue.accounts.config().settings;
        (s.pause_on_metered, s.pause_on_battery)
    };
    let reason = if !metered && !battery {
        None
    } else {
        let bus = queue.bus.clone();
        tokio::task::spawn_blocking(move || {
            use super::hold::HoldReason;
            if battery && crate::power::on_battery(&bus) == Some(true) {
                Some(HoldReason::Battery)
            } else if metered && crate::connectivity::metered(&bus) == Some(true) {
                Some(HoldReason::Metered)
            } else {
                None
            }
        })
        .await
        .ok()
        .flatten()
    };
    if !queue.holds.set_power(reason) {
        return;
    }
    match reason {
        Some(r) => {
            tracing::info!("{}", r.message());
            send_back(queue, "hold", |run| {
                r.holds_local() || !is_local(queue, &run.account)
            });
        }
        None => tracing::info!("no longer metered or on battery; sending resumes"),
    }
    queue.publish_hold();
    queue.notify.notify_waiters();
}

fn is_local(queue: &Queue, account: &str) -> bool {
    queue
        .accounts
        .config()
        .accounts
        .get(account)
        .is_some_and(|a| a.kind == crate::providers::Kind::Local)
}

/// While offline, and a probe is due: try the hosts that could not be reached, and
/// wake the jobs waiting as offline when one answers.
async fn probe_offline(queue: &Arc<Queue>, stop: &Option<CancellationToken>) {
    let Some(targets) = queue.holds.probe_due() else {
        return;
    };
    let back = tokio::select! {
        back = async {
            if targets.is_empty() {
                // No host known: believe the machine.
                let bus = queue.bus.clone();
                tokio::task::spawn_blocking(move || crate::connectivity::machine_connectivity(&bus))
                    .await
                    .is_ok_and(|c| c == crate::connectivity::Connectivity::Online)
            } else {
                crate::connectivity::reachable(&targets).await
            }
        } => back,
        _ = stopped(stop) => false,
    };
    if !back {
        return;
    }
    tracing::info!("the network is back; sending resumes");
    queue.holds.back_online();
    if let Err(e) = queue.jobs.wake_offline() {
        // They still run at their own retry time.
        tracing::warn!("could not wake the offline jobs: {}", e.message);
    }
    queue.publish_hold();
    queue.notify.notify_waiters();
}

/// Whether a connection failure means the machine is offline (see `net`): already
/// known to be, or the machine says so now.
async fn offline_now(queue: &Arc<Queue>) -> bool {
    if queue.holds.is_offline() {
        return true;
    }
    // Behind a proxy the way out may be the proxy alone (a "limited" network), which a
    // direct probe would never see come back: such failures go through the retry policy.
    if queue.accounts.config().settings.proxy.may_proxy() {
        return false;
    }
    let bus = queue.bus.clone();
    tokio::task::spawn_blocking(move || crate::connectivity::machine_connectivity(&bus))
        .await
        .is_ok_and(|c| c == crate::connectivity::Connectivity::Offline)
}

/// The host to probe for a job that could not connect: the one it tried, else its
/// account's base URL.
fn probe_target(queue: &Queue, job: &super::Job, err: &Error) -> Option<String> {
    err.peer.clone().or_else(|| {
        let cfg = queue.accounts.config();
        let account = cfg.accounts.get(&job.account)?;
        let mut urls: Vec<&String> = account.options.values().collect();
        urls.sort();
        urls.into_iter()
            .find_map(|v| crate::connectivity::target_of(v))
    })
}

/// Accounts whose jobs must not start now: on battery (with `pause_on_battery`) every
/// one; offline or metered, every one that needs the network (all but local library
/// folders).
fn paused_accounts(queue: &Queue) -> Vec<String> {
    let power = queue.holds.power();
    let all = power.is_some_and(|r| r.holds_local());
    if !all && power.is_none() && !queue.holds.is_offline() {
        return Vec::new();
    }
    queue
        .accounts
        .config()
        .accounts
        .iter()
        .filter(|(_, a)| all || a.kind != crate::providers::Kind::Local)
        .map(|(name, _)| name.clone())
        .collect()
}

/// Resolves when the run is stopped; never for a run without a stop.
async fn stopped(stop: &Option<CancellationToken>) {
    match stop {
        Some(s) => s.cancelled().await,
        None => std::future::pending().await,
    }
}

fn start_jobs(
    queue: &Arc<Queue>,
    tasks: &mut JoinSet<String>,
    per_account: &mut HashMap<String, usize>,
    global: usize,
    scope: Option<&[JobId]>,
    stop: &Option<CancellationToken>,
) -> Result<()> {
    // Accounts that may not start a job now: paused (offline, metered, battery) or held
    // by a bandwidth limit of 0; the same for every start of this round.
    let cfg = queue.accounts.config();
    let mut held = paused_accounts(queue);
    held.extend(held_accounts(queue, &cfg));
    // Read each round: a change of the setting (here or in another process) applies
    // from the next job that starts.
    let order = cfg.settings.queue_order;
    // A stop that came while this round waited (an offline probe) starts nothing more.
    while tasks.len() < global && !stop.as_ref().is_some_and(|s| s.is_cancelled()) {
        let mut busy: Vec<String> = per_account
            .iter()
            .filter(|(a, n)| **n >= queue.aimd.limit(a))
            .map(|(a, _)| a.clone())
            .collect();
        busy.extend(held.iter().cloned());
        let Some(mut job) = queue.jobs.next_runnable(scope, &busy, order)? else {
            break;
        };
        if !queue.jobs.claim(job.id)? {
            continue;
        }
        // The row as the claim left it, without reading it back.
        job.status = JobStatus::Preparing;
        job.attempts += 1;
        *per_account.entry(job.account.clone()).or_default() += 1;
        // Running from the claim on, before its task is first polled: a stop (quit)
        // that comes in between must find it, or it is left `preparing` and sends on.
        let control = Control::default();
        queue.running.lock().expect("running lock").insert(
            job.id,
            Running {
                cancel: control.cancel.clone(),
                stop: control.stop.clone(),
                account: job.account.clone(),
            },
        );
        let q = queue.clone();
        tasks.spawn(async move {
            let account = job.account.clone();
            hold_before_start().await;
            run_job(&q, job, control).await;
            account
        });
    }
    Ok(())
}

/// Take the config's bandwidth limits, and stop the running jobs whose account may not
/// send now (a timetable's or a setting's rate of 0).
fn hold_for_bandwidth(queue: &Arc<Queue>) {
    let cfg = queue.accounts.config();
    queue.bandwidth.refresh(&cfg);
    let held = held_accounts(queue, &cfg);
    if held.is_empty() {
        return;
    }
    send_back(queue, "hold", |r| {
        let stop = held.contains(&r.account);
        if stop {
            tracing::info!(
                "the bandwidth limit of {} is 0 now; its job goes back to the queue until it lifts",
                r.account
            );
        }
        stop
    });
}

/// Stop the running jobs `which` picks, for `why` (`stop`: quitting, `hold`: a pause
/// that lifts by itself): they go back to the queue with their resume state, and the
/// attempt they used is given back.
fn send_back(queue: &Queue, why: &str, which: impl Fn(&Running) -> bool) {
    let ids: Vec<JobId> = queue
        .running
        .lock()
        .expect("running lock")
        .iter()
        .filter(|(_, r)| which(r))
        .map(|(id, _)| *id)
        .collect();
    for id in ids {
        queue.stop_running(id, why);
    }
}

/// Accounts whose jobs wait for the bandwidth limit now.
fn held_accounts(queue: &Queue, cfg: &crate::config::Config) -> Vec<String> {
    cfg.accounts
        .iter()
        .filter(|(name, a)| queue.bandwidth.holds(name, a.kind))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Jobs a person cancelled while no runner ran them still hold what they started
/// remotely (an S3 multipart upload): give it up.
async fn abandon_cancelled(queue: &Arc<Queue>) {
    let Ok(list) = queue.jobs.cancelled_with_state() else {
        return;
    };
    for (id, account) in list {
        queue.abandon(id, &account, &queue.quiet_ctx()).await;
    }
}

/// Whether jobs in scope may still become runnable (queued, waiting for a retry, or
/// running).
fn waiting_in_scope(queue: &Queue, scope: Option<&[JobId]>) -> Result<bool> {
    let Some(scope) = scope else {
        return queue.jobs.any_sending();
    };
    let jobs = queue.jobs.list(true)?;
    Ok(jobs.iter().any(|j| {
        scope.contains(&j.id)
            && (matches!(j.status, JobStatus::Queued | JobStatus::WaitingRetry)
                || j.status.is_running())
    }))
}

/// Throttling state of one job's progress reports.
struct Reporter {
    last_event: Instant,
    last_write: Instant,
    window: std::collections::VecDeque<(Instant, u64)>,
    phase: Phase,
    /// The status last written to the row (claiming wrote `preparing`).
    status: JobStatus,
}

fn progress_for(queue: &Arc<Queue>, id: JobId, account: String) -> Progress {
    let weak = Arc::downgrade(queue);
    let state = Mutex::new(Reporter {
        last_event: Instant::now() - Duration::from_secs(1),
        last_write: Instant::now(),
        window: Default::default(),
        phase: Phase::Preparing,
        status: JobStatus::Preparing,
    });
    Progress::new(move |ev| {
        let Some(queue) = weak.upgrade() else { return };
        let mut st = state.lock().expect("reporter lock");
        match ev {
            ProgressEvent::Phase { phase } => {
                if st.phase == phase {
                    return;
                }
                st.phase = phase;
                let status = match phase {
                    Phase::Preparing | Phase::Hashing => JobStatus::Preparing,
                    Phase::Uploading => JobStatus::Uploading,
                    Phase::Processing => JobStatus::Processing,
                };
                // Hashing and asking the server are both `preparing`: note the status
                // only when it changes. It is written behind, with the job's next write.
                if status != st.status {
                    st.status = status;
                    queue.jobs.note_running(id, status);
                }
                if !queue.has_listeners() {
                    return;
                }
                if let Ok(job) = queue.jobs.get(id) {
                    // The status alone does not tell hashing from asking the server: the
                    // phase goes along as a progress event.
                    let progress = Event::JobProgress {
                        id,
                        phase,
                        bytes_sent: job.bytes_sent,
                        bytes_total: job.bytes_total.unwrap_or(0),
                        speed: 0,
                        eta_secs: None,
                    };
                    queue.emit(Event::JobChanged { job });
                    queue.emit(progress);
                }
            }
            ProgressEvent::Bytes { sent, total } => {
                let now = Instant::now();
                st.window.push_back((now, sent));
                while st.window.len() > 2 && now - st.window[0].0 > Duration::from_secs(3) {
                    st.window.pop_front();
                }
                let done = sent >= total;
                // At most one a second, written behind; the end of the bytes is written
                // with the job's outcome.
                if now - st.last_write >= Duration::from_secs(1) && !done {
                    st.last_write = now;
                    queue.jobs.set_progress(id, sent, total);
                }
                if now - st.last_event < Duration::from_millis(100) && !done {
                    return;
                }
                st.last_event = now;
                let (t0, s0) = st.window[0];
                let secs = (now - t0).as_secs_f64();
                let speed = if secs > 0.05 {
                    ((sent.saturating_sub(s0)) as f64 / secs) as u64
                } else {
                    0
                };
                let eta_secs = (speed > 0).then(|| total.saturating_sub(sent) / speed);
                queue.emit(Event::JobProgress {
                    id,
                    phase: st.phase,
                    bytes_sent: sent,
                    bytes_total: total,
                    speed,
                    eta_secs,
                });
            }
            ProgressEvent::Retrying {
                attempt,
                delay_ms,
                code,
                message,
            } => {
                if code == Code::ProviderRateLimited.as_str()
                    || code == Code::ProviderUnavailable.as_str()
                {
                    if let Some(limit) = queue.aimd.decrease(&account) {
                        queue.emit(Event::AccountConcurrency {
                            account: account.clone(),
                            limit,
                        });
                    }
                }
                queue.emit(Event::JobRetrying {
                    id,
                    attempt,
                    delay_ms,
                    code,
                    message,
                });
            }
        }
    })
}

/// What a claimed job is stopped through: the same pair its [`Running`] entry holds.
#[derive(Default)]
struct Control {
    cancel: CancellationToken,
    stop: Arc<Mutex<Option<String>>>,
}

/// Run a job [`start_jobs`] claimed and registered as running.
async fn run_job(queue: &Arc<Queue>, job: super::Job, control: Control) {
    let id = job.id;
    queue.emit(Event::JobChanged { job: job.clone() });
    let Control { cancel, stop } = control;
    // Another process asks through the row; poll it while the job runs.
    let watcher = {
        let queue = queue.clone();
        let cancel = cancel.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(300)).await;
                if let Ok(Some(c)) = queue.jobs.control(id) {
                    *stop.lock().expect("stop lock") = Some(c);
                    cancel.cancel();
                    return;
                }
            }
        })
    };
    let mut ctx = queue
        .accounts
        .ctx(progress_for(queue, id, job.account.clone()));
    ctx.cancel = cancel;
    if let Ok(account) = queue.accounts.config().account(&job.account) {
        ctx.throttle = queue.bandwidth.throttle(&job.account, account.kind);
    }
    ctx.journal = Some(Arc::new(JobJournal {
        queue: Arc::downgrade(queue),
        id,
        stable: queue
            .jobs
            .home_id()
            .map(|home| crate::transfer::TransferRef {
                // The creation instant too: a home copied to a second machine goes on
                // numbering jobs from the same id there.
                id: format!(
                    "{home}-{id}-{}",
                    job.created_at.timestamp_nanos_opt().unwrap_or(0)
                ),
                created: job.created_at,
            })
            .ok(),
    }));
    let result = {
        let work = queue.process_job(&job, &ctx);
        tokio::pin!(work);
        let done = tokio::select! {
            r = &mut work => Some(r),
            _ = ctx.cancel.cancelled() => None,
        };
        match done {
            Some(r) => r,
            // Every step checks the token and winds down itself (keeping resume state,
            // aborting remote sessions); a step stuck on a silent peer is let go after a
            // grace period, so pause, cancel and quit always take effect. Dropping is
            // safe: temp files and in-flight slots are released by their guards, and
            // the resume state was journaled before each request went out.
            None => {
                let shutdown = stop.lock().expect("stop lock").as_deref() == Some("stop");
                let grace = if shutdown { SHUTDOWN_GRACE } else { STOP_GRACE };
                match tokio::time::timeout(grace, work).await {
                    Ok(r) => r,
                    Err(_) => {
                        tracing::warn!("job {id}: did not stop within {grace:?}; let go");
                        Err(Error::cancelled())
                    }
                }
            }
        }
    };
    if result.is_ok() {
        hold_before_record().await;
    }
    watcher.abort();
    queue.running.lock().expect("running lock").remove(&id);
    let reason = stop.lock().expect("stop lock").clone();
    // The outcome must reach the journal; a database that is briefly unavailable gets a
    // few tries (a job left marked running is put back at the next start anyway).
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=8 {
        match finish(queue, &job, &result, reason.as_deref(), &ctx).await {
            Ok(()) => break,
            Err(e) if attempt < 8 => {
                tracing::warn!(
                    "job {id}: could not record its outcome ({}); trying again",
                    e.message
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => tracing::error!("job {id}: could not record its outcome: {}", e.message),
        }
    }
}

/// Tests only: wait this long between claiming a job and starting its task, as a busy
/// machine may (`FERRY_TEST_HOLD_BEFORE_START_MS`). Unset in normal use.
async fn hold_before_start() {
    if let Some(ms) = std::env::var("FERRY_TEST_HOLD_BEFORE_START_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// Crash tests only: wait this long between a provider's success and recording it, the
/// worst instant for a kill (`FERRY_TEST_HOLD_BEFORE_RECORD_MS`). Unset in normal use.
async fn hold_before_record() {
    if let Some(ms) = std::env::var("FERRY_TEST_HOLD_BEFORE_RECORD_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

async fn finish(
    queue: &Arc<Queue>,
    job: &super::Job,
    result: &Result<super::exec::Done<'_>>,
    stop: Option<&str>,
    ctx: &crate::transfer::Ctx,
) -> Result<()> {
    let jobs = &queue.jobs;
    match result {
        Ok(done) => {
            jobs.succeed(job, done, &queue.library)?;
            if let Some(limit) = queue.aimd.increase(&job.account) {
                queue.emit(Event::AccountConcurrency {
                    account: job.account.clone(),
                    limit,
                });
            }
            queue.emit_job(job.id, |job| Event::JobSucceeded { job })?;
            queue.emit(Event::LibraryChanged);
        }
        Err(e) if e.code == Code::Cancelled && stop == Some("pause") => {
            jobs.set_status(job.id, JobStatus::Paused)?;
            jobs.request_clear(job.id)?;
            queue.emit_job(job.id, |job| Event::JobChanged { job })?;
        }
        // A stop (quit, SIGTERM) or a metered/battery pause: back to the queue, resume
        // state kept, for the next start. The attempt it used is given back.
        Err(_) if matches!(stop, Some("stop") | Some("hold")) => {
            jobs.interrupt(job.id)?;
            queue.emit_job(job.id, |job| Event::JobChanged { job })?;
        }
        Err(e) if e.code == Code::Cancelled => {
            queue.abandon(job.id, &job.account, ctx).await;
            jobs.set_status(job.id, JobStatus::Cancelled)?;
            jobs.request_clear(job.id)?;
            queue.emit_job(job.id, |job| Event::JobCancelled { job })?;
        }
        // Offline (see `net`): the job waits for the network, its attempt given back.
        Err(e) if e.code == Code::NetworkConnect && offline_now(queue).await => {
            let waiting = Error::new(
                Code::NetworkOffline,
                format!("{}: {}", super::hold::OFFLINE_MESSAGE, e.message),
            );
            let at = chrono::Utc::now()
                + chrono::Duration::from_std(OFFLINE_FALLBACK).unwrap_or_default();
            jobs.wait_offline(job.id, &waiting, at)?;
            // Said once, when the hold begins (every job that follows adds only its host).
            if queue.holds.go_offline(probe_target(queue, job, e)) {
                tracing::warn!("offline: {}; waiting for the network", e.message);
                queue.publish_hold();
            }
            queue.emit_job(job.id, |job| Event::JobChanged { job })?;
        }
        Err(e) if e.code == Code::InputChanged && job.attempts < MAX_CHANGED_RETRIES => {
            let at = chrono::Utc::now()
                + chrono::Duration::from_std(CHANGED_BACKOFF).unwrap_or_default();
            jobs.fail(job.id, e, Some(at))?;
            queue.emit_job(job.id, |job| Event::JobChanged { job })?;
        }
        Err(e) => {
            jobs.fail(job.id, e, None)?;
            queue.emit_job(job.id, |job| Event::JobFailed {
                job,
                code: e.code.as_str().to_string(),
                message: e.message.clone(),
                retryable: e.is_transient() || e.code == Code::InputChanged,
            })?;
        }
    }
    Ok(())
}

/// A job's resume state, kept in its row.
struct JobJournal {
    queue: std::sync::Weak<Queue>,
    id: JobId,
    stable: Option<crate::transfer::TransferRef>,
}

impl crate::transfer::Journal for JobJournal {
    fn load(&self) -> Option<serde_json::Value> {
        self.queue
            .upgrade()?
            .jobs
            .resume_state(self.id)
            .ok()
            .flatten()
    }

    fn save(&self, state: &serde_json::Value) -> Result<()> {
        let queue = self
            .queue
            .upgrade()
            .ok_or_else(|| Error::new(Code::Internal, "queue gone"))?;
        queue.jobs.set_resume_state(self.id, Some(state))
    }

    fn stable_ref(&self) -> Option<crate::transfer::TransferRef> {
        self.stable.clone()
    }
}
