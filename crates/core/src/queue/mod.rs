//! The durable queue: every upload and import is a job in the journal (`journal`), run
//! by `runner` with bounded concurrency — a global file limit and a per-account limit that
//! halves when an account answers 429/503 and grows back after successes (AIMD).
//!
//! [`Queue`] owns job execution (`exec`), the controls (`control`), the runner and the
//! home lock (`lock`, `owner`): exactly one process per FERRY_HOME runs jobs; every other
//! process only writes jobs and control requests to the journal and reads progress back.
//!
//! Types here are shared with hosts (CLI, desktop) and serialise in camelCase. Nothing
//! here talks HTTP: providers do that.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, Notify};

use crate::accounts::Accounts;
use crate::db::Db;
use crate::library::Library;
use crate::providers::RemoteMedia;
use crate::transfer::Phase;

pub mod bandwidth;
mod behind;
pub mod control;
pub mod exec;
pub mod expand;
mod hashes;
pub mod hold;
pub mod journal;
pub mod lock;
pub mod owner;
pub mod runner;
mod shares;

/// The durable queue of one home: the journal, what this process runs, and (when this
/// process owns the home) the lock that makes it the one runner.
pub struct Queue {
    pub(crate) accounts: Arc<Accounts>,
    pub(crate) jobs: journal::JobsTable,
    pub(crate) library: Library,
    events: broadcast::Sender<Event>,
    pub(crate) aimd: Aimd,
    pub(crate) running: Mutex<HashMap<JobId, runner::Running>>,
    pub(crate) notify: Notify,
    /// (account, size) of uploads in flight: a second file of the same size to the same
    /// account waits, so two identical files started together are still sent once.
    pub(crate) inflight: Mutex<exec::Inflight>,
    pub(crate) owner: Mutex<Option<lock::HomeLock>>,
    /// Additions of dropped folders in progress (`expand`): their count, for ids, and the
    /// stop generation every one of them watches.
    pub(crate) adding: expand::Adding,
    /// Why the runner holds sending (offline), in memory (`hold`).
    pub(crate) holds: hold::Holds,
    /// The D-Bus system bus asked about the network (Linux).
    pub(crate) bus: Arc<crate::sysbus::SystemBus>,
    /// Bandwidth limits, followed as the config changes.
    pub(crate) bandwidth: bandwidth::Bandwidth,
    /// Content hashes shared by a file's jobs (fan-out hashes a file once).
    pub(crate) hashes: hashes::Hashes,
    /// Reads shared by a file's jobs sending at once (fan-out reads a file once).
    pub(crate) shares: shares::Shares,
}

impl Queue {
    pub fn new(accounts: Arc<Accounts>, db: Arc<Db>) -> Queue {
        let (events, _) = broadcast::channel(4096);
        let per_account = accounts.config().settings.per_account.max(1);
        let queue = Queue {
            jobs: journal::JobsTable::new(db.clone()),
            library: Library::new(db.clone()),
            accounts,
            events,
            aimd: Aimd::new(per_account),
            running: Mutex::new(HashMap::new()),
            notify: Notify::new(),
            adding: Default::default(),
            bandwidth: Default::default(),
            hashes: Default::default(),
            shares: Default::default(),
            inflight: Mutex::new(HashMap::new()),
            owner: Mutex::new(None),
            holds: Default::default(),
            bus: Default::default(),
        };
        queue.bandwidth.refresh(&queue.accounts.config());
        queue
    }

    /// Everything the queue (and the watch rules, through it) reports, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub fn emit(&self, ev: Event) {
        let _ = self.events.send(ev);
    }

    /// Emit an event about a job as the journal has it now. The job is read only when
    /// someone listens: a `ferry upload` without progress bars has no one, and each
    /// read is a database transaction per job.
    pub(crate) fn emit_job(&self, id: JobId, ev: impl FnOnce(Job) -> Event) -> crate::Result<()> {
        if self.has_listeners() {
            self.emit(ev(self.jobs.get(id)?));
        }
        Ok(())
    }

    /// Whether anyone listens to this queue's events.
    pub(crate) fn has_listeners(&self) -> bool {
        self.events.receiver_count() > 0
    }
}

pub type JobId = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Path,
    Url,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Path => "path",
            SourceKind::Url => "url",
        }
    }
}

/// One status per job:
/// `queued → preparing → uploading → processing → succeeded | failed | cancelled`,
/// plus `paused` and `waiting_retry` (until `retry_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Preparing,
    Uploading,
    Processing,
    Succeeded,
    Failed,
    Cancelled,
    Paused,
    WaitingRetry,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Preparing => "preparing",
            JobStatus::Uploading => "uploading",
            JobStatus::Processing => "processing",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Paused => "paused",
            JobStatus::WaitingRetry => "waiting_retry",
        }
    }

    pub fn parse(s: &str) -> JobStatus {
        match s {
            "preparing" => JobStatus::Preparing,
            "uploading" => JobStatus::Uploading,
            "processing" => JobStatus::Processing,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            "cancelled" => JobStatus::Cancelled,
            "paused" => JobStatus::Paused,
            "waiting_retry" => JobStatus::WaitingRetry,
            _ => JobStatus::Queued,
        }
    }

    /// Nothing more will happen to it without a person asking.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }

    pub fn is_running(self) -> bool {
        matches!(
            self,
            JobStatus::Preparing | JobStatus::Uploading | JobStatus::Processing
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: JobId,
    pub account: String,
    pub source_kind: SourceKind,
    /// Absolute path or URL. Shown (JSON, the UI) without a URL's query; the journal keeps
    /// it whole, to resume.
    #[serde(serialize_with = "crate::redact::serialize")]
    pub input: String,
    pub name: String,
    /// `cli`, `drop`, `paste`, `pick`, `watch:<rule>`.
    pub origin: String,
    pub status: JobStatus,
    pub force: bool,
    pub attempts: u32,
    pub error: Option<JobError>,
    pub bytes_sent: u64,
    pub bytes_total: Option<u64>,
    pub deduplicated: bool,
    pub media: Vec<RemoteMedia>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub retry_at: Option<DateTime<Utc>>,
    /// Above 0 once moved to the top of the queue: the highest starts first.
    pub priority: i64,
    #[serde(skip)]
    pub src_size: Option<u64>,
    #[serde(skip)]
    pub src_mtime_ns: Option<i64>,
    #[serde(skip)]
    pub content_hash: Option<String>,
    #[serde(skip)]
    pub mime_type: Option<String>,
}

/// Where the next page of the queue starts: right after the job `before` in its section
/// (open jobs first, then finished ones — succeeded or cancelled — each newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct JobCursor {
    /// In the finished section (else the open one).
    pub finished: bool,
    pub before: JobId,
}

/// Counts of the whole queue per status, and its bytes (jobs not cancelled): what the
/// total bar shows whatever page is loaded.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct QueueSummary {
    pub total: u64,
    pub queued: u64,
    /// Preparing, uploading or processing.
    pub running: u64,
    pub paused: u64,
    pub waiting_retry: u64,
    pub failed: u64,
    pub succeeded: u64,
    pub cancelled: u64,
    pub bytes_sent: u64,
    pub bytes_total: u64,
}

impl QueueSummary {
    /// Jobs not finished yet, failed included (they wait for a person): the open section.
    pub fn open(&self) -> u64 {
        self.total - self.succeeded - self.cancelled
    }
}

/// One page of the queue: open jobs first, then finished ones, newest first in each.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// The cursor of the next page; `None` on the last one.
    pub next: Option<JobCursor>,
    pub summary: QueueSummary,
}

/// A job to add.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub account: String,
    pub source_kind: SourceKind,
    pub input: String,
    pub name: String,
    pub origin: String,
    pub force: bool,
    /// The file's size when it was queued (`None`: not known, a URL import), for the
    /// "small files first" order.
    pub size: Option<u64>,
}

/// Which waiting job starts next (the `queue_order` setting). Jobs moved to the top
/// ([`Queue::move_to_top`]) come first in either order, the last moved first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum QueueOrder {
    /// In the order they were added.
    #[default]
    Added,
    /// The smallest file first (ties in the order added); URL imports, whose size is
    /// not known until they are fetched, after every file.
    SmallFirst,
}

impl QueueOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueOrder::Added => "added",
            QueueOrder::SmallFirst => "small-first",
        }
    }

    pub fn parse(s: &str) -> crate::Result<QueueOrder> {
        match s {
            "added" => Ok(QueueOrder::Added),
            "small-first" => Ok(QueueOrder::SmallFirst),
            other => Err(crate::Error::new(
                crate::error::Code::InputInvalid,
                format!("the queue order must be `added` or `small-first` (got `{other}`)"),
            )),
        }
    }
}

/// Which jobs a control action applies to.
#[derive(Debug, Clone, Copy)]
pub enum Selector {
    One(JobId),
    All,
}

/// What the engine tells its host. Progress is throttled to about 10 a second per job.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Event {
    JobAdded {
        job: Job,
    },
    #[serde(rename_all = "camelCase")]
    JobProgress {
        id: JobId,
        phase: Phase,
        bytes_sent: u64,
        bytes_total: u64,
        /// Bytes a second over the last few seconds.
        speed: u64,
        eta_secs: Option<u64>,
    },
    /// Any change of status (started, paused, resumed, waiting, processing…).
    JobChanged {
        job: Job,
    },
    JobSucceeded {
        job: Job,
    },
    #[serde(rename_all = "camelCase")]
    JobFailed {
        job: Job,
        code: String,
        message: String,
        retryable: bool,
    },
    #[serde(rename_all = "camelCase")]
    JobRetrying {
        id: JobId,
        attempt: u32,
        delay_ms: u64,
        code: String,
        message: String,
    },
    JobCancelled {
        job: Job,
    },
    /// Many jobs were added at once (a big drop, a long paste): one event for all of them,
    /// instead of one `jobAdded` each; whoever shows the queue reloads it.
    JobsAdded {
        count: usize,
    },
    /// A big drop or pick being added (`expand`): its counts so far, after every batch,
    /// and once more when it ended (`done`).
    Adding {
        id: u64,
        added: expand::Added,
        cap: usize,
        done: bool,
    },
    LibraryChanged,
    AccountConcurrency {
        account: String,
        limit: usize,
    },
    /// A watch rule's state changed (see `watch`).
    WatchChanged {
        rule: String,
    },
    /// Sending was held (offline) or is no longer (`hold` is `null`).
    HoldChanged {
        hold: Option<hold::Hold>,
    },
}

/// Per-account concurrency, additive increase / multiplicative decrease.
pub struct Aimd {
    max: usize,
    limits: Mutex<HashMap<String, f64>>,
}

impl Aimd {
    pub fn new(max: usize) -> Self {
        Aimd {
            max: max.max(1),
            limits: Mutex::new(HashMap::new()),
        }
    }

    pub fn limit(&self, account: &str) -> usize {
        let m = self.limits.lock().expect("aimd lock");
        m.get(account)
            .map(|l| l.floor() as usize)
            .unwrap_or(self.max)
            .clamp(1, self.max)
    }

    /// The account pushed back (429/503): halve. Returns the new limit if it changed.
    pub fn decrease(&self, account: &str) -> Option<usize> {
        let mut m = self.limits.lock().expect("aimd lock");
        let cur = *m.get(account).unwrap_or(&(self.max as f64));
        let next = (cur / 2.0).max(1.0);
        m.insert(account.to_string(), next);
        (next.floor() != cur.floor()).then_some(next.floor() as usize)
    }

    /// A success: grow by one step (a whole slot every `limit` successes).
    pub fn increase(&self, account: &str) -> Option<usize> {
        let mut m = self.limits.lock().expect("aimd lock");
        let cur = *m.get(account).unwrap_or(&(self.max as f64));
        let next = (cur + 1.0 / cur.max(1.0)).min(self.max as f64);
        m.insert(account.to_string(), next);
        (next.floor() != cur.floor()).then_some(next.floor() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aimd_halves_on_pushback_and_grows_back() {
        let a = Aimd::new(8);
        assert_eq!(a.limit("x"), 8);
        a.decrease("x");
        assert_eq!(a.limit("x"), 4);
        a.decrease("x");
        a.decrease("x");
        a.decrease("x");
        assert_eq!(a.limit("x"), 1);
        for _ in 0..100 {
            a.increase("x");
        }
        assert_eq!(a.limit("x"), 8);
        assert_eq!(a.limit("other"), 8);
    }
}
