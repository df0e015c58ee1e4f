//! Write-behind for a running job's informational columns: the status it moves through
//! between its claim and its outcome (preparing, uploading, processing), what preparing
//! it learned (name, size, mtime, type, content hash) and how many bytes are out.
//!
//! None of these needs to be on disk the moment it is known: a job found running after a
//! crash goes back to the queue whichever running status it had, and a job whose
//! recorded size and mtime are missing starts its bytes over (its remote state is given
//! up as belonging to other bytes). What they cost is a commit each, and a small file
//! made several: so they wait here and go to disk with the next write of the journal —
//! the next claim or outcome of any job, a resume handle (which therefore always lands
//! after the facts it depends on) — or at the latest after [`FLUSH_EVERY`], so another
//! process following the journal is at most that far behind.
//!
//! This process reads its own pending values through [`Behind::overlay`]. Applying
//! never overrides a job that is no longer running: a late report from a job that was
//! let go cannot undo its outcome. Claims, outcomes and controls are never held here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rusqlite::params;

use super::{Job, JobId, JobStatus};
use crate::db::Db;

/// The longest a pending value waits for a write to carry it.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// What preparing a job learned about its source.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub name: String,
    pub size: u64,
    pub mtime_ns: Option<i64>,
    pub mime: String,
}

/// One job's values not written yet; `None` = nothing new.
#[derive(Debug, Clone, Default)]
struct Row {
    status: Option<JobStatus>,
    prepared: Option<Prepared>,
    hash: Option<String>,
    /// (bytes sent, bytes total)
    progress: Option<(u64, u64)>,
}

impl Row {
    /// `newer` on top of `self`.
    fn merge(&mut self, newer: Row) {
        if newer.status.is_some() {
            self.status = newer.status;
        }
        if newer.prepared.is_some() {
            self.prepared = newer.prepared;
        }
        if newer.hash.is_some() {
            self.hash = newer.hash;
        }
        if newer.progress.is_some() {
            self.progress = newer.progress;
        }
    }
}

/// The pending values of every job this process runs.
#[derive(Clone, Default)]
pub struct Behind {
    rows: Arc<Mutex<HashMap<JobId, Row>>>,
}

/// Pending values taken out to be written; given back if the write fails.
pub struct Taken(HashMap<JobId, Row>);

const RUNNING: &str = "status IN ('preparing', 'uploading', 'processing')";

impl Behind {
    fn with(&self, id: JobId, f: impl FnOnce(&mut Row)) {
        let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        f(rows.entry(id).or_default());
    }

    pub fn status(&self, id: JobId, status: JobStatus) {
        self.with(id, |r| r.status = Some(status));
    }

    pub fn prepared(&self, id: JobId, p: Prepared) {
        self.with(id, |r| r.prepared = Some(p));
    }

    pub fn hash(&self, id: JobId, hash: &str) {
        self.with(id, |r| r.hash = Some(hash.to_string()));
    }

    pub fn progress(&self, id: JobId, sent: u64, total: u64) {
        self.with(id, |r| r.progress = Some((sent, total)));
    }

    pub fn is_empty(&self) -> bool {
        self.rows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// Everything pending, to be written by the caller's transaction.
    pub fn take(&self) -> Taken {
        Taken(std::mem::take(
            &mut *self.rows.lock().unwrap_or_else(|p| p.into_inner()),
        ))
    }

    /// A write failed: what it carried is pending again, under anything newer.
    pub fn give_back(&self, taken: Taken) {
        let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        for (id, mut old) in taken.0 {
            if let Some(newer) = rows.remove(&id) {
                old.merge(newer);
            }
            rows.insert(id, old);
        }
    }

    /// This process's view of a job: the row as read, with what is pending for it.
    pub fn overlay(&self, mut job: Job) -> Job {
        if !job.status.is_running() {
            return job;
        }
        let rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        let Some(r) = rows.get(&job.id) else {
            return job;
        };
        if let Some(s) = r.status {
            job.status = s;
        }
        if let Some(p) = &r.prepared {
            job.name = p.name.clone();
            job.src_size = Some(p.size);
            job.bytes_total = Some(p.size);
            job.src_mtime_ns = p.mtime_ns;
            job.mime_type = Some(p.mime.clone());
        }
        if let Some(h) = &r.hash {
            job.content_hash = Some(h.clone());
        }
        if let Some((sent, total)) = r.progress {
            job.bytes_sent = sent;
            job.bytes_total = Some(total);
        }
        job
    }

    /// Start the timer that writes pending values no other write carried. It ends
    /// when the database is gone.
    pub fn start_flusher(&self, db: &Arc<Db>) {
        let rows: Weak<Mutex<HashMap<JobId, Row>>> = Arc::downgrade(&self.rows);
        let db = Arc::downgrade(db);
        let spawned = std::thread::Builder::new()
            .name("ferry-journal-flush".into())
            .spawn(move || loop {
                std::thread::sleep(FLUSH_EVERY);
                let (Some(rows), Some(db)) = (rows.upgrade(), db.upgrade()) else {
                    return;
                };
                let behind = Behind { rows };
                if behind.is_empty() {
                    continue;
                }
                // Taken under the connection's lock, as every journal write takes them.
                let mut slot = None;
                let written = db.transact(|tx| apply_in(tx, slot.insert(behind.take())));
                if let Err(e) = written {
                    tracing::debug!("journal: pending progress not written yet: {e}");
                    if let Some(taken) = slot {
                        behind.give_back(taken);
                    }
                }
            });
        if let Err(e) = spawned {
            // Without the timer, pending values still go out with the next write.
            tracing::warn!("journal: no background writer: {e}");
        }
    }
}

/// Write taken values in the caller's transaction, before whatever it writes itself.
pub fn apply_in(tx: &rusqlite::Connection, taken: &Taken) -> rusqlite::Result<()> {
    let now = chrono::Utc::now().to_rfc3339();
    for (id, r) in &taken.0 {
        if let Some(s) = r.status {
            tx.prepare_cached(&format!(
                "UPDATE jobs SET status = ?2, updated_at = ?3 WHERE id = ?1 AND {RUNNING}"
            ))?
            .execute(params![id, s.as_str(), now])?;
        }
        if let Some(p) = &r.prepared {
            tx.prepare_cached(&format!(
                "UPDATE jobs SET name = ?2, src_size = ?3, src_mtime_ns = ?4, mime_type = ?5,
                        bytes_total = ?3, updated_at = ?6 WHERE id = ?1 AND {RUNNING}"
            ))?
            .execute(params![id, p.name, p.size as i64, p.mtime_ns, p.mime, now])?;
        }
        if let Some(h) = &r.hash {
            tx.prepare_cached(&format!(
                "UPDATE jobs SET content_hash = ?2 WHERE id = ?1 AND {RUNNING}"
            ))?
            .execute(params![id, h])?;
        }
        if let Some((sent, total)) = r.progress {
            tx.prepare_cached(&format!(
                "UPDATE jobs SET bytes_sent = ?2, bytes_total = ?3 WHERE id = ?1 AND {RUNNING}"
            ))?
            .execute(params![id, sent as i64, total as i64])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::journal::JobsTable;
    use crate::queue::{NewJob, SourceKind};

    fn table() -> (tempfile::TempDir, Arc<Db>, JobsTable, JobId) {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(&dir.path().join("ferry.db")).unwrap());
        let jobs = JobsTable::new(db.clone());
        let id = jobs
            .insert(&[NewJob {
                account: "a".into(),
                source_kind: SourceKind::Path,
                input: "/x/clip.mp4".into(),
                name: "clip.mp4".into(),
                origin: "test".into(),
                force: false,
                size: None,
            }])
            .unwrap()[0];
        assert!(jobs.claim(id).unwrap());
        (dir, db, jobs, id)
    }

    /// The row as another process reads it: its own connection to the file.
    fn from_outside(dir: &tempfile::TempDir, id: JobId) -> (String, Option<i64>) {
        let db = Db::open(&dir.path().join("ferry.db")).unwrap();
        db.query_row(
            "SELECT status, src_size FROM jobs WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }

    #[test]
    fn pending_values_are_seen_here_at_once_and_elsewhere_within_the_flush_interval() {
        let (dir, db, jobs, id) = table();
        let commits = db.commits();
        jobs.note_running(id, JobStatus::Uploading);
        jobs.set_prepared(id, "clip.mp4", 1234, Some(7), "video/mp4");
        assert_eq!(db.commits(), commits, "noting is not a commit");
        let here = jobs.get(id).unwrap();
        assert_eq!(here.status, JobStatus::Uploading);
        assert_eq!(here.src_size, Some(1234));
        // The timer writes them; bounded wait.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while from_outside(&dir, id) != ("uploading".into(), Some(1234)) {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn the_next_write_carries_pending_values_and_a_late_note_never_undoes_an_outcome() {
        let (dir, _db, jobs, id) = table();
        jobs.set_prepared(id, "clip.mp4", 99, None, "video/mp4");
        let err = crate::Error::new(crate::Code::ProviderRejected, "no");
        jobs.fail(id, &err, None).unwrap();
        // Carried by the failure's own commit, before the timer could have run.
        assert_eq!(from_outside(&dir, id), ("failed".into(), Some(99)));
        // A report that arrives after the outcome (a job let go after its grace).
        jobs.note_running(id, JobStatus::Uploading);
        assert_eq!(jobs.get(id).unwrap().status, JobStatus::Failed);
        std::thread::sleep(FLUSH_EVERY * 3);
        assert_eq!(from_outside(&dir, id).0, "failed");
    }
}
