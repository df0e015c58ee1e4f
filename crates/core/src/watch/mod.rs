//! Watch folders: rules (folder → account, filters, quiet time, what to do with existing
//! files and after upload), kept in config.toml, and the engine calls that manage them.
//!
//! File events are only hints; a scan decides (`scan`). A file is taken once it is
//! complete — not a temp or partial name, and its size and mtime unchanged for the quiet
//! time — and handed to the durable queue, whose content-hash dedupe makes a renamed or
//! moved file cost nothing. `runtime` runs the rules. Nothing here uploads or talks HTTP.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::error::{Code, Error, Result};
use crate::queue::Queue;

pub mod after;
pub mod paths;
pub mod runtime;
pub mod scan;
pub mod store;

/// The watch rules of one home: their config entries (through the queue's accounts),
/// what each took (`store`), and the rule tasks this process runs (`runtime`).
pub struct Watch {
    pub(crate) queue: Arc<Queue>,
    pub(crate) store: store::WatchStore,
    pub(crate) registry: runtime::Registry,
}

/// What to do with files already in the folder when the rule is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Existing {
    #[default]
    Skip,
    Import,
}

/// What to do with a file after it was uploaded — never on failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase", tag = "action", content = "dir")]
pub enum After {
    #[default]
    Keep,
    /// Move into this subfolder of the watched folder (which the rule then ignores).
    Move(String),
    Delete,
}

impl After {
    pub fn parse(s: &str) -> Result<After> {
        match s {
            "keep" => Ok(After::Keep),
            "delete" => Ok(After::Delete),
            m if m.starts_with("move:") && m.len() > 5 => {
                let dir = &m[5..];
                if dir.contains("..") || Path::new(dir).is_absolute() {
                    return Err(Error::new(
                        Code::ConfigInvalid,
                        format!("move:{dir} must name a subfolder of the watched folder"),
                    ));
                }
                Ok(After::Move(dir.to_string()))
            }
            other => Err(Error::new(
                Code::ConfigInvalid,
                format!("--after must be keep, move:SUBDIR or delete (got `{other}`)"),
            )),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            After::Keep => "keep".into(),
            After::Move(d) => format!("move:{d}"),
            After::Delete => "delete".into(),
        }
    }
}

/// One watch rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rule {
    /// Short id used by the CLI and the desktop (`w1`, `w2`…).
    pub id: String,
    pub dir: PathBuf,
    pub account: String,
    /// Other destinations every file also goes to (fan-out: a job each). The
    /// after-upload action waits until the file is at all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
    #[serde(default)]
    pub recursive: bool,
    /// Globs on the file name (or path relative to the folder). Empty: the media types
    /// the destination accepts (checked from the bytes by the queue).
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Quiet time: size and mtime unchanged this long before a file is taken.
    #[serde(default = "default_settle")]
    pub settle_secs: f64,
    #[serde(default)]
    pub existing: Existing,
    #[serde(default)]
    pub after: After,
    #[serde(default)]
    pub paused: bool,
    /// Full rescan, the safety net behind events.
    #[serde(default = "default_rescan")]
    pub rescan_secs: u64,
}

impl Rule {
    /// Every destination of the rule: `account`, then `also`.
    pub fn accounts(&self) -> Vec<String> {
        let mut out = vec![self.account.clone()];
        out.extend(self.also.iter().filter(|a| **a != self.account).cloned());
        out
    }
}

fn default_settle() -> f64 {
    2.0
}
fn default_rescan() -> u64 {
    600
}

/// What `watch add` takes.
#[derive(Debug, Clone)]
pub struct NewRule {
    pub dir: PathBuf,
    pub account: String,
    /// Other destinations (fan-out).
    pub also: Vec<String>,
    pub recursive: bool,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub settle_secs: f64,
    pub existing: Existing,
    pub after: After,
}

impl NewRule {
    pub fn new(dir: impl Into<PathBuf>, account: &str) -> Self {
        NewRule {
            dir: dir.into(),
            account: account.to_string(),
            also: vec![],
            recursive: false,
            include: vec![],
            exclude: vec![],
            settle_secs: default_settle(),
            existing: Existing::Skip,
            after: After::Keep,
        }
    }
}

/// A rule with its live state, as `ferry watch list` and the desktop show it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "WatchRuleView"))]
#[serde(rename_all = "camelCase")]
pub struct RuleView {
    #[serde(flatten)]
    pub rule: Rule,
    /// `watching`, `paused`, `unavailable`, `degraded-polling`, or `not running` when no
    /// Ferry process runs the rule right now.
    pub state: String,
    /// Files seen but not taken yet because they are still being written.
    pub waiting: u64,
    /// Why the state is what it is, and what to do (unavailable, degraded polling).
    pub reason: Option<String>,
    pub last_error: Option<String>,
}

impl Watch {
    pub fn new(queue: Arc<Queue>, db: Arc<Db>) -> Watch {
        Watch {
            queue,
            store: store::WatchStore::new(db),
            registry: Default::default(),
        }
    }

    fn config(&self) -> crate::config::Config {
        self.queue.accounts.config()
    }

    /// Add a rule. Files already there are taken now (`import`) or remembered as seen
    /// (`skip`), so only new files are uploaded.
    pub fn add(&self, new: NewRule) -> Result<Rule> {
        let cfg = self.config();
        cfg.account(&new.account)?;
        for a in &new.also {
            cfg.account(a)?;
        }
        let mut also: Vec<String> = Vec::new();
        for a in &new.also {
            if *a != new.account && !also.contains(a) {
                also.push(a.clone());
            }
        }
        let dir = std::path::absolute(&new.dir).unwrap_or(new.dir.clone());
        if !dir.is_dir() {
            return Err(Error::new(
                Code::InputNotFound,
                format!("{} is not a folder", dir.display()),
            ));
        }
        if !(new.settle_secs.is_finite() && new.settle_secs >= 0.0) {
            return Err(Error::new(
                Code::ConfigInvalid,
                "--settle must be a number of seconds",
            ));
        }
        let filters = scan::Filters::new(&new.include, &new.exclude, &new.after)?;
        self.refuse_own_folders(&dir, new.recursive, &filters)?;
        let used = self.store.rule_ids_used()?;
        let rule = self.queue.accounts.modify(|cfg| {
            if cfg
                .watch
                .iter()
                .any(|r| r.dir == dir && r.account == new.account)
            {
                return Err(Error::new(
                    Code::ConfigAccountExists,
                    format!("{} is already watched for `{}`", dir.display(), new.account),
                ));
            }
            // Never reuse an id: jobs and records of a removed rule still carry its id,
            // and a new rule's after-upload action must never apply to them.
            let in_config = cfg
                .watch
                .iter()
                .filter_map(|r| rule_number(&r.id))
                .max()
                .unwrap_or(0);
            let n = cfg.next_watch_id.max(in_config + 1).max(used + 1).max(1);
            cfg.next_watch_id = n + 1;
            let rule = Rule {
                id: format!("w{n}"),
                dir: dir.clone(),
                account: new.account.clone(),
                also: also.clone(),
                recursive: new.recursive,
                include: new.include.clone(),
                exclude: new.exclude.clone(),
                settle_secs: new.settle_secs,
                existing: new.existing,
                after: new.after.clone(),
                paused: false,
                rescan_secs: default_rescan(),
            };
            if rule.existing == Existing::Skip {
                let found = scan::scan(&rule.dir, rule.recursive, &filters);
                self.store.mark_seen_all(&rule.id, &found.files)?;
            }
            cfg.watch.push(rule.clone());
            Ok(rule)
        })?;
        self.queue.emit(crate::queue::Event::WatchChanged {
            rule: rule.id.clone(),
        });
        Ok(rule)
    }

    /// Ferry's own folders are never watched: the home (its database, thumbnails,
    /// spool) and every local library folder. A folder that contains one is refused
    /// too, unless the rule cannot reach it (not recursive, hidden, or excluded).
    fn refuse_own_folders(
        &self,
        dir: &Path,
        recursive: bool,
        filters: &scan::Filters,
    ) -> Result<()> {
        let cfg = self.config();
        let home = self.queue.accounts.home();
        let mut own: Vec<(PathBuf, &str)> = vec![
            (home.data_dir.clone(), "Ferry's home folder"),
            (home.config_dir.clone(), "Ferry's home folder"),
        ];
        for a in cfg.accounts.values() {
            if a.kind == crate::providers::Kind::Local {
                let lib = a
                    .options
                    .get("dir")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| home.data_dir.join("library"));
                own.push((lib, "a library folder Ferry uploads into"));
            }
        }
        let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let watched = canon(dir);
        for (path, what) in own {
            let path = canon(&path);
            let refuse = if watched.starts_with(&path) {
                true
            } else if let Ok(rel) = path.strip_prefix(&watched) {
                recursive && !filters.cannot_reach(rel)
            } else {
                false
            };
            if refuse {
                return Err(Error::new(
                    Code::ConfigInvalid,
                    format!(
                        "{} is or contains {what} ({}); Ferry would upload its own files. \
                         Watch another folder (or a subfolder that does not contain it), or exclude it",
                        dir.display(),
                        path.display()
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn rules(&self) -> Vec<Rule> {
        self.config().watch
    }

    pub fn list(&self) -> Result<Vec<RuleView>> {
        let store = &self.store;
        self.config()
            .watch
            .into_iter()
            .map(|rule| {
                let live = store.status(&rule.id)?;
                let (state, waiting, reason, last_error) = match live {
                    _ if rule.paused => ("paused".to_string(), 0, None, None),
                    Some(s) if s.fresh => (s.state, s.waiting, s.reason, s.last_error),
                    other => (
                        if rule.paused { "paused" } else { "not running" }.to_string(),
                        0,
                        (!rule.paused).then(|| "no Ferry process runs watch rules now: start `ferry watch run` or the desktop app".to_string()),
                        other.and_then(|s| s.last_error),
                    ),
                };
                Ok(RuleView {
                    rule,
                    state,
                    waiting,
                    reason,
                    last_error,
                })
            })
            .collect()
    }

    fn set_paused(&self, id: &str, paused: bool) -> Result<Rule> {
        let out = self.queue.accounts.modify(|cfg| {
            let rule = cfg
                .watch
                .iter_mut()
                .find(|r| r.id == id)
                .ok_or_else(|| unknown_rule(id))?;
            rule.paused = paused;
            Ok(rule.clone())
        })?;
        self.queue.emit(crate::queue::Event::WatchChanged {
            rule: id.to_string(),
        });
        Ok(out)
    }

    pub fn pause(&self, id: &str) -> Result<Rule> {
        self.set_paused(id, true)
    }

    pub fn resume(&self, id: &str) -> Result<Rule> {
        self.set_paused(id, false)
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        self.queue.accounts.modify(|cfg| {
            let before = cfg.watch.len();
            cfg.watch.retain(|r| r.id != id);
            if cfg.watch.len() == before {
                return Err(unknown_rule(id));
            }
            // Keep the counter past it even if it was the newest rule.
            if let Some(n) = rule_number(id) {
                cfg.next_watch_id = cfg.next_watch_id.max(n + 1);
            }
            Ok(())
        })?;
        self.store.forget(id)?;
        self.queue.emit(crate::queue::Event::WatchChanged {
            rule: id.to_string(),
        });
        Ok(())
    }
}

/// `w12` → 12.
pub(crate) fn rule_number(id: &str) -> Option<u64> {
    id.strip_prefix('w')?.parse().ok()
}

fn unknown_rule(id: &str) -> Error {
    Error::new(
        Code::ConfigInvalid,
        format!("there is no watch rule `{id}`; `ferry watch list` shows them"),
    )
}
