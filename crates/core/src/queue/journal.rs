//! The job journal: the `jobs` table. Every state change is committed here before it is
//! reported, and a job's row is written before any network call, so a crash or `kill -9`
//! loses nothing: `ferry queue run` finds every unfinished job and resumes it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

use super::behind::{self, Behind, Prepared};
use super::{
    Job, JobCursor, JobError, JobId, JobStatus, NewJob, QueueOrder, QueueSummary, SourceKind,
};
use crate::db::Db;
use crate::error::{Code, Error, Result};
use crate::providers::RemoteMedia;

#[derive(Clone)]
pub struct JobsTable {
    db: Arc<Db>,
    /// A running job's informational writes, waiting for the next commit (`behind`).
    behind: Behind,
    home_id: Arc<std::sync::OnceLock<String>>,
}

const COLUMNS: &str = "id, account, source_kind, input, name, origin, status, force, attempts, error_code, \
                       error_message, bytes_sent, bytes_total, deduplicated, result, created_at, updated_at, \
                       retry_at, src_size, src_mtime_ns, content_hash, mime_type, priority";

fn ts(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| {
        DateTime::parse_from_rfc3339(&s)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    })
}

fn row(r: &Row<'_>) -> rusqlite::Result<Job> {
    let code: Option<String> = r.get(9)?;
    let result: Option<String> = r.get(14)?;
    Ok(Job {
        id: r.get(0)?,
        account: r.get(1)?,
        source_kind: if r.get::<_, String>(2)? == "url" {
            SourceKind::Url
        } else {
            SourceKind::Path
        },
        input: r.get(3)?,
        name: r.get(4)?,
        origin: r.get(5)?,
        status: JobStatus::parse(&r.get::<_, String>(6)?),
        force: r.get(7)?,
        attempts: r.get::<_, i64>(8)? as u32,
        error: code.map(|code| JobError {
            code,
            message: r
                .get::<_, Option<String>>(10)
                .ok()
                .flatten()
                .unwrap_or_default(),
        }),
        bytes_sent: r.get::<_, i64>(11)? as u64,
        bytes_total: r.get::<_, Option<i64>>(12)?.map(|v| v as u64),
        deduplicated: r.get(13)?,
        media: result
            .and_then(|s| serde_json::from_str::<Vec<RemoteMedia>>(&s).ok())
            .unwrap_or_default(),
        created_at: ts(Some(r.get(15)?)).unwrap_or_else(Utc::now),
        updated_at: ts(Some(r.get(16)?)).unwrap_or_else(Utc::now),
        retry_at: ts(r.get(17)?),
        src_size: r.get::<_, Option<i64>>(18)?.map(|v| v as u64),
        src_mtime_ns: r.get(19)?,
        content_hash: r.get(20)?,
        mime_type: r.get(21)?,
        priority: r.get(22)?,
    })
}

/// The queue's two sections, written as the partial indexes' WHERE clauses (db.rs,
/// migration 6) so SQLite uses them.
const OPEN: &str = "status NOT IN ('succeeded', 'cancelled')";
const FINISHED: &str = "status IN ('succeeded', 'cancelled')";

fn now() -> String {
    Utc::now().to_rfc3339()
}

fn insert_in(tx: &rusqlite::Connection, jobs: &[NewJob]) -> rusqlite::Result<Vec<JobId>> {
    let mut ids = Vec::with_capacity(jobs.len());
    let mut stmt = tx.prepare_cached(
        "INSERT INTO jobs (account, source_kind, input, name, origin, status, force, created_at, updated_at,
                           queued_size)
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?7, ?7, ?8)",
    )?;
    for j in jobs {
        let t = now();
        stmt.execute(params![
            j.account,
            j.source_kind.as_str(),
            j.input,
            j.name,
            j.origin,
            j.force,
            t,
            // Unknown sizes sort after every known one (migration 7).
            j.size
                .and_then(|n| i64::try_from(n).ok())
                .unwrap_or(i64::MAX)
        ])?;
        ids.push(tx.last_insert_rowid());
    }
    Ok(ids)
}

impl JobsTable {
    pub fn new(db: Arc<Db>) -> Self {
        let behind = Behind::default();
        behind.start_flusher(&db);
        JobsTable {
            db,
            behind,
            home_id: Default::default(),
        }
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        self.db.err(e)
    }

    /// The database's random id, read once.
    pub fn home_id(&self) -> Result<String> {
        if let Some(id) = self.home_id.get() {
            return Ok(id.clone());
        }
        let id = self.db.home_id()?;
        Ok(self.home_id.get_or_init(|| id).clone())
    }

    /// One write to the journal, in one transaction that first carries every pending
    /// informational value (so what is written here always lands after them).
    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        self.write_with(false, f)
    }

    /// [`Self::write`], synced to disk before it returns ([`Db::durable`]).
    fn write_durable<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        self.write_with(true, f)
    }

    fn write_with<T>(
        &self,
        durable: bool,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        // Taken inside the transaction, under the connection's lock: pending values are
        // written in the order the commits happen, never after a job's later outcome.
        let mut slot = None;
        let body = |tx: &rusqlite::Transaction<'_>| {
            let taken = slot.insert(self.behind.take());
            behind::apply_in(tx, taken)?;
            f(tx)
        };
        let out = if durable {
            self.db.durable(body)
        } else {
            self.db.transact(body)
        };
        out.map_err(|e| {
            if let Some(taken) = slot {
                self.behind.give_back(taken);
            }
            self.err(e)
        })
    }

    /// One statement, written as [`Self::write`] does; the rows it changed.
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        self.write(|tx| tx.prepare_cached(sql)?.execute(params))
    }

    pub fn insert(&self, jobs: &[NewJob]) -> Result<Vec<JobId>> {
        self.write(|tx| insert_in(tx, jobs))
    }

    /// Insert a watch rule's jobs and mark their files as taken by the rule, in one
    /// transaction.
    /// `jobs` are `per_file` for each of `files`, in order; a file is marked taken with
    /// its first job.
    pub fn insert_watched(
        &self,
        jobs: &[NewJob],
        rule: &str,
        files: &[crate::watch::scan::FileInfo],
        per_file: usize,
    ) -> Result<Vec<JobId>> {
        self.write(|tx| {
            let ids = insert_in(tx, jobs)?;
            crate::watch::store::mark_in(
                tx,
                rule,
                files
                    .iter()
                    .zip(ids.iter().step_by(per_file.max(1)).copied().map(Some)),
            )?;
            Ok(ids)
        })
    }

    /// The other jobs of `job`'s file from the same addition (a fan-out to several
    /// destinations): same input and origin, within `reach` ids of it — an addition
    /// writes a file's jobs side by side.
    pub fn siblings(&self, job: &Job, reach: i64) -> Vec<Job> {
        ((job.id - reach).max(1)..=job.id + reach)
            .filter(|id| *id != job.id)
            .filter_map(|id| self.get(id).ok())
            .filter(|j| j.input == job.input && j.origin == job.origin)
            .collect()
    }

    pub fn get(&self, id: JobId) -> Result<Job> {
        let job = self
            .db
            .query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                [id],
                row,
            )
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| {
                Error::new(
                    Code::JobNotFound,
                    format!("there is no job {id}; `ferry queue list` shows them"),
                )
            })?;
        Ok(self.behind.overlay(job))
    }

    /// Jobs, oldest first; `active_only` leaves out finished ones.
    pub fn list(&self, active_only: bool) -> Result<Vec<Job>> {
        let conn = self.db.conn();
        let sql = if active_only {
            format!("SELECT {COLUMNS} FROM jobs WHERE status NOT IN ('succeeded', 'cancelled') ORDER BY id")
        } else {
            format!("SELECT {COLUMNS} FROM jobs ORDER BY id")
        };
        let mut stmt = conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let jobs = stmt
            .query_map([], row)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(jobs.into_iter().map(|j| self.behind.overlay(j)).collect())
    }

    /// One page of the queue: up to `limit` jobs after `cursor` (from the top without
    /// one), open jobs first, then finished ones, newest first in each section. Keyset
    /// paging on the partial indexes `jobs_open` / `jobs_finished`: a page costs the
    /// same at the end of 100,000 jobs as at the top, and new jobs never shift it.
    pub fn page(
        &self,
        limit: usize,
        cursor: Option<JobCursor>,
    ) -> Result<(Vec<Job>, Option<JobCursor>)> {
        if limit == 0 {
            return Ok((Vec::new(), None));
        }
        let mut jobs = Vec::new();
        let mut from = cursor.unwrap_or(JobCursor {
            finished: false,
            before: JobId::MAX,
        });
        // One row more than asked: whether there is a next page.
        let want = limit + 1;
        let conn = self.db.conn();
        loop {
            // INDEXED BY: without statistics SQLite would rather seek `jobs_status` once
            // per finished status and sort every finished job for each page.
            let (index, cond) = if from.finished {
                ("jobs_finished", FINISHED)
            } else {
                ("jobs_open", OPEN)
            };
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM jobs INDEXED BY {index} WHERE {cond} AND id < ?1 \
                     ORDER BY id DESC LIMIT ?2"
                ))
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map(params![from.before, (want - jobs.len()) as i64], |r| {
                    Ok((from.finished, row(r)?))
                })
                .map_err(|e| self.err(e))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| self.err(e))?;
            jobs.extend(rows);
            if jobs.len() >= want || from.finished {
                break;
            }
            from = JobCursor {
                finished: true,
                before: JobId::MAX,
            };
        }
        drop(conn);
        let more = jobs.len() > limit;
        jobs.truncate(limit);
        let next = if more {
            jobs.last().map(|(finished, j)| JobCursor {
                finished: *finished,
                before: j.id,
            })
        } else {
            None
        };
        Ok((
            jobs.into_iter()
                .map(|(_, j)| self.behind.overlay(j))
                .collect(),
            next,
        ))
    }

    /// Whether any job is still to be sent or being sent (queued, running, waiting for a
    /// retry): one probe of the status index, however many jobs the queue holds.
    pub fn any_sending(&self) -> Result<bool> {
        self.db
            .conn()
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE status IN
                    ('queued', 'preparing', 'uploading', 'processing', 'waiting_retry'))",
            )
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
            .map_err(|e| self.err(e))
    }

    /// Counts per status and bytes of the whole queue (one pass over the table).
    pub fn summary(&self) -> Result<QueueSummary> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT status, count(*),
                        COALESCE(SUM(CASE WHEN status = 'succeeded' THEN COALESCE(bytes_total, bytes_sent)
                                 ELSE MIN(bytes_sent, COALESCE(bytes_total, bytes_sent)) END), 0),
                        COALESCE(SUM(COALESCE(bytes_total, 0)), 0)
                 FROM jobs GROUP BY status",
            )
            .map_err(|e| self.err(e))?;
        let mut s = QueueSummary::default();
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)? as u64,
                    r.get::<_, i64>(3)? as u64,
                ))
            })
            .map_err(|e| self.err(e))?;
        for r in rows {
            let (status, n, sent, total) = r.map_err(|e| self.err(e))?;
            s.total += n;
            let status = JobStatus::parse(&status);
            match status {
                JobStatus::Queued => s.queued += n,
                JobStatus::Paused => s.paused += n,
                JobStatus::WaitingRetry => s.waiting_retry += n,
                JobStatus::Failed => s.failed += n,
                JobStatus::Succeeded => s.succeeded += n,
                JobStatus::Cancelled => s.cancelled += n,
                _ => s.running += n,
            }
            if status != JobStatus::Cancelled {
                s.bytes_sent += sent;
                s.bytes_total += total;
            }
        }
        // Running jobs' bytes as last written: at most `behind::FLUSH_EVERY` old.
        Ok(s)
    }

    /// The next job that may start: queued, or waiting for a retry whose time has come;
    /// among `scope` if given, skipping `busy_accounts`; in `order`, jobs moved to the
    /// top first.
    pub fn next_runnable(
        &self,
        scope: Option<&[JobId]>,
        busy_accounts: &[String],
        order: QueueOrder,
    ) -> Result<Option<Job>> {
        let conn = self.db.conn();
        // Two simple queries rather than one with OR, so each walks its order's index
        // (migration 7) from the first job to start and stops at the first that fits,
        // instead of sorting every waiting job (this runs once per job). INDEXED BY:
        // without statistics SQLite might pick the plain status index and sort.
        let (index, by) = match order {
            QueueOrder::Added => ("jobs_next_added", "priority DESC, id"),
            QueueOrder::SmallFirst => ("jobs_next_small", "priority DESC, queued_size, id"),
        };
        let queries = [
            (
                format!(
                    "SELECT {COLUMNS} FROM jobs INDEXED BY {index} WHERE status = 'queued' ORDER BY {by}"
                ),
                None,
            ),
            (
                format!(
                    "SELECT {COLUMNS} FROM jobs INDEXED BY {index} \
                     WHERE status = 'waiting_retry' AND retry_at <= ?1 ORDER BY {by}"
                ),
                Some(now()),
            ),
        ];
        for (sql, param) in queries {
            let mut stmt = conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
            let mut rows = match &param {
                Some(p) => stmt.query([p]),
                None => stmt.query([]),
            }
            .map_err(|e| self.err(e))?;
            while let Some(r) = rows.next().map_err(|e| self.err(e))? {
                let job = row(r).map_err(|e| self.err(e))?;
                if scope.is_some_and(|s| !s.contains(&job.id))
                    || busy_accounts.contains(&job.account)
                {
                    continue;
                }
                return Ok(Some(job));
            }
        }
        Ok(None)
    }

    /// Make `ids` the next jobs to start, in the order given, ahead of every job moved
    /// before. Only jobs not started yet move (queued, paused, waiting for a retry; a
    /// paused one keeps its place for when it is resumed); returns how many did.
    pub fn move_to_top(&self, ids: &[JobId]) -> Result<usize> {
        self.write(|tx| {
            // The highest priority any waiting job holds: one probe of the order index
            // per status (the first entry of each is its highest).
            let mut top = 0i64;
            for status in ["queued", "paused", "waiting_retry"] {
                let p: Option<i64> = tx
                    .prepare_cached(
                        "SELECT priority FROM jobs INDEXED BY jobs_next_added WHERE status = ?1 \
                         ORDER BY priority DESC LIMIT 1",
                    )?
                    .query_row([status], |r| r.get(0))
                    .optional()?;
                top = top.max(p.unwrap_or(0));
            }
            let mut stmt = tx.prepare_cached(
                "UPDATE jobs SET priority = ?2, updated_at = ?3
                 WHERE id = ?1 AND status IN ('queued', 'paused', 'waiting_retry')",
            )?;
            let mut moved = 0;
            let t = now();
            // The first id given gets the highest priority: it starts first.
            for (i, id) in ids.iter().enumerate() {
                moved += stmt.execute(params![id, top + (ids.len() - i) as i64, t])?;
            }
            Ok(moved)
        })
    }

    /// Take a runnable job for this process. False if someone else took it first.
    pub fn claim(&self, id: JobId) -> Result<bool> {
        let n = self.exec(
                "UPDATE jobs SET status = 'preparing', updated_at = ?2, attempts = attempts + 1, control = NULL
                 WHERE id = ?1 AND status IN ('queued', 'waiting_retry')",
                params![id, now()],
            )?;
        Ok(n == 1)
    }

    pub fn set_status(&self, id: JobId, status: JobStatus) -> Result<()> {
        self.exec(
            "UPDATE jobs SET status = ?2, updated_at = ?3, heartbeat = ?3 WHERE id = ?1",
            params![id, status.as_str(), now()],
        )?;
        Ok(())
    }

    /// Change status only from one of `from` (control actions racing with the runner).
    pub fn transition(&self, id: JobId, from: &[JobStatus], to: JobStatus) -> Result<bool> {
        let list = from
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        let extra = if to == JobStatus::Queued {
            ", error_code = NULL, error_message = NULL, retry_at = NULL"
        } else {
            ""
        };
        let n = self.exec(
                &format!("UPDATE jobs SET status = ?2, updated_at = ?3{extra} WHERE id = ?1 AND status IN ({list})"),
                params![id, to.as_str(), now()],
            )?;
        Ok(n == 1)
    }

    /// What preparing a running job learned about its source; written behind
    /// (`behind`): it goes to disk with the job's next write.
    pub fn set_prepared(
        &self,
        id: JobId,
        name: &str,
        size: u64,
        mtime_ns: Option<i64>,
        mime: &str,
    ) {
        self.behind.prepared(
            id,
            Prepared {
                name: name.to_string(),
                size,
                mtime_ns,
                mime: mime.to_string(),
            },
        );
    }

    /// A running job's content hash; written behind.
    pub fn set_hash(&self, id: JobId, hash: &str) {
        self.behind.hash(id, hash);
    }

    /// A running job's bytes sent; written behind.
    pub fn set_progress(&self, id: JobId, sent: u64, total: u64) {
        self.behind.progress(id, sent, total);
    }

    /// A running job's status between its claim and its outcome (preparing, uploading,
    /// processing); written behind. Outcomes use [`Self::set_status`].
    pub fn note_running(&self, id: JobId, status: JobStatus) {
        debug_assert!(status.is_running());
        self.behind.status(id, status);
    }

    /// Record success and what now exists remotely in the library, in one transaction:
    /// a crash leaves either both or neither (and then the job resumes against the same
    /// remote object).
    pub fn succeed(
        &self,
        job: &Job,
        done: &super::exec::Done<'_>,
        library: &crate::library::Library,
    ) -> Result<()> {
        let json = serde_json::to_string(&done.media).unwrap_or_else(|_| "[]".into());
        // Durable: a success the CLI or the app reported must survive a power loss.
        self.write_durable(|tx| {
                for m in &done.media {
                    library.record_in(
                        tx,
                        m,
                        &crate::library::Provenance {
                            account: &job.account,
                            kind: done.kind,
                            content_hash: done.hash.as_deref(),
                            job_id: Some(job.id),
                            source: Some(&job.input),
                        },
                    )?;
                }
                tx.prepare_cached(
                    "UPDATE jobs SET status = 'succeeded', result = ?2, deduplicated = ?3, resume = NULL,
                            error_code = NULL, error_message = NULL, control = NULL, owner_pid = NULL,
                            after_state = CASE WHEN origin LIKE 'watch:%' THEN 'pending' ELSE NULL END,
                            bytes_sent = COALESCE(bytes_total, bytes_sent), updated_at = ?4
                     WHERE id = ?1",
                )?
                .execute(params![job.id, json, done.deduplicated, now()])?;
                Ok(())
            })
    }

    /// Succeeded watch-rule jobs whose after-upload action is not settled yet.
    pub fn after_pending(&self, limit: usize) -> Result<Vec<Job>> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM jobs WHERE after_state = 'pending' ORDER BY id LIMIT ?1"
            ))
            .map_err(|e| self.err(e))?;
        let jobs = stmt
            .query_map([limit as i64], row)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(jobs)
    }

    /// Settle a job's after-upload action: what was done, or why the file was kept.
    pub fn set_after(&self, id: JobId, state: &str) -> Result<()> {
        self.exec(
            "UPDATE jobs SET after_state = ?2 WHERE id = ?1",
            params![id, state],
        )?;
        Ok(())
    }

    pub fn after_state(&self, id: JobId) -> Result<Option<String>> {
        self.db
            .query_row("SELECT after_state FROM jobs WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))
    }

    /// A stop interrupted the job: it goes back to the queue with its resume state, and
    /// the attempt it used does not count.
    pub fn interrupt(&self, id: JobId) -> Result<()> {
        self.exec(
            "UPDATE jobs SET status = 'queued', control = NULL, owner_pid = NULL,
                        attempts = MAX(attempts - 1, 0), updated_at = ?2
                 WHERE id = ?1",
            params![id, now()],
        )?;
        Ok(())
    }

    /// The job could not reach the network: it waits as offline (`err` is
    /// `network.offline`) and the attempt it used is given back — being offline is not
    /// the job's failure. `retry_at` is a fallback for a runner that dies meanwhile;
    /// the runner that noticed wakes it as soon as the network is back.
    pub fn wait_offline(&self, id: JobId, err: &Error, retry_at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE jobs SET status = 'waiting_retry', error_code = ?2, error_message = ?3,
                        retry_at = ?4, owner_pid = NULL,
                        attempts = MAX(attempts - 1, 0), updated_at = ?5
                 WHERE id = ?1",
            params![
                id,
                err.code.as_str(),
                err.message,
                retry_at.to_rfc3339(),
                now()
            ],
        )?;
        Ok(())
    }

    /// The network is back: every job waiting as offline may run now. How many.
    pub fn wake_offline(&self) -> Result<usize> {
        self.exec(
            "UPDATE jobs SET retry_at = ?1
                 WHERE status = 'waiting_retry' AND error_code = 'network.offline'",
            params![now()],
        )
    }

    /// Record a failure; `retry_at` makes it wait and start again by itself.
    pub fn fail(&self, id: JobId, err: &Error, retry_at: Option<DateTime<Utc>>) -> Result<()> {
        let status = if retry_at.is_some() {
            JobStatus::WaitingRetry
        } else {
            JobStatus::Failed
        };
        self.exec(
            "UPDATE jobs SET status = ?2, error_code = ?3, error_message = ?4, retry_at = ?5,
                        owner_pid = NULL, updated_at = ?6
                 WHERE id = ?1",
            params![
                id,
                status.as_str(),
                err.code.as_str(),
                err.message,
                retry_at.map(|t| t.to_rfc3339()),
                now()
            ],
        )?;
        Ok(())
    }

    pub fn resume_state(&self, id: JobId) -> Result<Option<serde_json::Value>> {
        let s: Option<String> = self
            .db
            .query_row("SELECT resume FROM jobs WHERE id = ?1", [id], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(s.and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// Durable: a resume handle is journaled before the request that creates its remote
    /// object, and must still be there after a power loss.
    pub fn set_resume_state(&self, id: JobId, state: Option<&serde_json::Value>) -> Result<()> {
        self.write_durable(|tx| {
            tx.prepare_cached("UPDATE jobs SET resume = ?2, heartbeat = ?3 WHERE id = ?1")?
                .execute(params![id, state.map(|s| s.to_string()), now()])
        })?;
        Ok(())
    }

    /// Ask the process running a job to pause or cancel it.
    pub fn request(&self, id: JobId, control: &str) -> Result<()> {
        self.exec(
            "UPDATE jobs SET control = ?2 WHERE id = ?1",
            params![id, control],
        )?;
        Ok(())
    }

    pub fn request_clear(&self, id: JobId) -> Result<()> {
        self.exec(
            "UPDATE jobs SET control = NULL, owner_pid = NULL WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    pub fn control(&self, id: JobId) -> Result<Option<String>> {
        self.db
            .query_row("SELECT control FROM jobs WHERE id = ?1", [id], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Called by a process that has just taken the home lock: every job still marked
    /// running belonged to an owner that is gone (crash, kill -9, power loss). It goes
    /// back to the queue with its resume state — or to what was asked of it meanwhile
    /// (paused; cancelled, its remote state given up by the runner).
    /// Returns how many.
    pub fn reclaim_all(&self) -> Result<usize> {
        self.exec(
                "UPDATE jobs SET status = CASE control WHEN 'pause' THEN 'paused' WHEN 'cancel' THEN 'cancelled'
                        ELSE 'queued' END,
                        control = NULL, owner_pid = NULL, updated_at = ?1
                 WHERE status IN ('preparing', 'uploading', 'processing')",
                [now()],
            )
    }

    /// Cancelled jobs that still hold remote resume state (an S3 multipart upload to
    /// abort): the runner abandons them.
    pub fn cancelled_with_state(&self) -> Result<Vec<(JobId, String)>> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, account FROM jobs WHERE status = 'cancelled' AND resume IS NOT NULL",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }
}
