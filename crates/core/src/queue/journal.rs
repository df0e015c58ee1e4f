//! The job journal: the `jobs` table. Every state change is committed here before it is
//! reported, and a job's row is written before any network call, so a crash or `kill -9`
//! loses nothing: `ferry queue run` finds every unfinished job and resumes it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

use super::{Job, JobError, JobId, JobStatus, NewJob, SourceKind};
use crate::db::Db;
use crate::error::{Code, Error, Result};
use crate::providers::RemoteMedia;

#[derive(Clone)]
pub struct JobsTable {
    db: Arc<Db>,
}

const COLUMNS: &str = "id, account, source_kind, input, name, origin, status, force, attempts, error_code, \
                       error_message, bytes_sent, bytes_total, deduplicated, result, created_at, updated_at, \
                       retry_at, src_size, src_mtime_ns, content_hash, mime_type";

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
    })
}

fn now() -> String {
    Utc::now().to_rfc3339()
}

impl JobsTable {
    pub fn new(db: Arc<Db>) -> Self {
        JobsTable { db }
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        self.db.err(e)
    }

    pub fn insert(&self, jobs: &[NewJob]) -> Result<Vec<JobId>> {
        let mut conn = self.db.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let mut ids = Vec::with_capacity(jobs.len());
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO jobs (account, source_kind, input, name, origin, status, force, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?7, ?7)",
                )
                .map_err(|e| self.err(e))?;
            for j in jobs {
                let t = now();
                stmt.execute(params![
                    j.account,
                    j.source_kind.as_str(),
                    j.input,
                    j.name,
                    j.origin,
                    j.force,
                    t
                ])
                .map_err(|e| self.err(e))?;
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(ids)
    }

    pub fn get(&self, id: JobId) -> Result<Job> {
        self.db
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
            })
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
        Ok(jobs)
    }

    /// The next job that may start: queued, or waiting for a retry whose time has come;
    /// among `scope` if given, skipping `busy_accounts`.
    pub fn next_runnable(
        &self,
        scope: Option<&[JobId]>,
        busy_accounts: &[String],
    ) -> Result<Option<Job>> {
        let conn = self.db.conn();
        // Two simple queries rather than one with OR, so each walks the status index in
        // id order instead of scanning every finished job (this runs once per job).
        let queries = [
            (format!("SELECT {COLUMNS} FROM jobs WHERE status = 'queued' ORDER BY id"), None),
            (
                format!("SELECT {COLUMNS} FROM jobs WHERE status = 'waiting_retry' AND retry_at <= ?1 ORDER BY id"),
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

    /// Take a runnable job for this process. False if someone else took it first.
    pub fn claim(&self, id: JobId) -> Result<bool> {
        let n = self.db.exec(
                "UPDATE jobs SET status = 'preparing', owner_pid = ?2, heartbeat = ?3, updated_at = ?3,
                        attempts = attempts + 1, control = NULL
                 WHERE id = ?1 AND status IN ('queued', 'waiting_retry')",
                params![id, std::process::id(), now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    pub fn set_status(&self, id: JobId, status: JobStatus) -> Result<()> {
        self.db
            .exec(
                "UPDATE jobs SET status = ?2, updated_at = ?3, heartbeat = ?3 WHERE id = ?1",
                params![id, status.as_str(), now()],
            )
            .map_err(|e| self.err(e))?;
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
        let n = self.db.exec(
                &format!("UPDATE jobs SET status = ?2, updated_at = ?3{extra} WHERE id = ?1 AND status IN ({list})"),
                params![id, to.as_str(), now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    pub fn set_prepared(
        &self,
        id: JobId,
        name: &str,
        size: u64,
        mtime_ns: Option<i64>,
        mime: &str,
    ) -> Result<()> {
        self.db.exec(
                "UPDATE jobs SET name = ?2, src_size = ?3, src_mtime_ns = ?4, mime_type = ?5, bytes_total = ?3,
                        updated_at = ?6 WHERE id = ?1",
                params![id, name, size as i64, mtime_ns, mime, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn set_hash(&self, id: JobId, hash: &str) -> Result<()> {
        self.db
            .exec(
                "UPDATE jobs SET content_hash = ?2 WHERE id = ?1",
                params![id, hash],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn set_progress(&self, id: JobId, sent: u64, total: u64) -> Result<()> {
        self.db
            .exec(
                "UPDATE jobs SET bytes_sent = ?2, bytes_total = ?3, heartbeat = ?4 WHERE id = ?1",
                params![id, sent as i64, total as i64, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn succeed(&self, id: JobId, media: &[RemoteMedia], deduplicated: bool) -> Result<()> {
        let json = serde_json::to_string(media).unwrap_or_else(|_| "[]".into());
        self.db.exec(
                "UPDATE jobs SET status = 'succeeded', result = ?2, deduplicated = ?3, resume = NULL,
                        error_code = NULL, error_message = NULL, control = NULL, owner_pid = NULL,
                        bytes_sent = COALESCE(bytes_total, bytes_sent), updated_at = ?4
                 WHERE id = ?1",
                params![id, json, deduplicated, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Record a failure; `retry_at` makes it wait and start again by itself.
    pub fn fail(&self, id: JobId, err: &Error, retry_at: Option<DateTime<Utc>>) -> Result<()> {
        let status = if retry_at.is_some() {
            JobStatus::WaitingRetry
        } else {
            JobStatus::Failed
        };
        self.db
            .exec(
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
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn resume_state(&self, id: JobId) -> Result<Option<serde_json::Value>> {
        let s: Option<String> = self
            .db
            .query_row("SELECT resume FROM jobs WHERE id = ?1", [id], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(s.and_then(|s| serde_json::from_str(&s).ok()))
    }

    pub fn set_resume_state(&self, id: JobId, state: Option<&serde_json::Value>) -> Result<()> {
        self.db
            .exec(
                "UPDATE jobs SET resume = ?2, heartbeat = ?3 WHERE id = ?1",
                params![id, state.map(|s| s.to_string()), now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Ask the process running a job to pause or cancel it.
    pub fn request(&self, id: JobId, control: &str) -> Result<()> {
        self.db
            .exec(
                "UPDATE jobs SET control = ?2 WHERE id = ?1",
                params![id, control],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn request_clear(&self, id: JobId) -> Result<()> {
        self.db
            .exec(
                "UPDATE jobs SET control = NULL, owner_pid = NULL WHERE id = ?1",
                [id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn control(&self, id: JobId) -> Result<Option<String>> {
        self.db
            .query_row("SELECT control FROM jobs WHERE id = ?1", [id], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Jobs left mid-flight by a process that is gone (crash, kill -9, power loss) go back
    /// to the queue with their resume state. Returns how many.
    pub fn reclaim_orphans(&self) -> Result<usize> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, owner_pid, heartbeat FROM jobs WHERE status IN ('preparing', 'uploading', 'processing')",
            )
            .map_err(|e| self.err(e))?;
        let rows: Vec<(JobId, Option<u32>, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))?;
        drop(stmt);
        let mut n = 0;
        for (id, pid, beat) in rows {
            let stale = ts(beat).is_none_or(|b| Utc::now() - b > chrono::Duration::seconds(120));
            if pid.is_none_or(|p| !process_alive(p, stale)) {
                conn.execute(
                    "UPDATE jobs SET status = 'queued', owner_pid = NULL, updated_at = ?2 WHERE id = ?1",
                    params![id, now()],
                )
                .map_err(|e| self.err(e))?;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Whether a process id is alive on this machine. Our own id counts as dead: a job this
/// process owns but is not running was left by a previous life of it.
fn process_alive(pid: u32, heartbeat_stale: bool) -> bool {
    if pid == std::process::id() {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        let _ = heartbeat_stale;
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        // Elsewhere rely on the heartbeat alone.
        !heartbeat_stale
    }
}
