//! What watch rules remember in ferry.db: each file a rule took (path, size, mtime), so
//! a restart catches up without taking old files again, and each rule's live state, so
//! `ferry watch list` in another process can show it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::scan::FileInfo;
use crate::db::Db;
use crate::error::Result;

#[derive(Clone)]
pub struct WatchStore {
    db: Arc<Db>,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub state: String,
    pub waiting: u64,
    pub reason: Option<String>,
    pub last_error: Option<String>,
    /// Written within the last few seconds: a process is running the rule.
    pub fresh: bool,
}

impl WatchStore {
    pub fn new(db: Arc<Db>) -> Self {
        WatchStore { db }
    }

    /// Whether the rule already took this file as it is now.
    pub fn seen(&self, rule: &str, f: &FileInfo) -> Result<bool> {
        let row: Option<(i64, Option<i64>)> = self
            .db
            .query_row(
                "SELECT size, mtime_ns FROM watch_seen WHERE rule = ?1 AND path = ?2",
                params![rule, f.path.to_string_lossy()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.db.err(e))?;
        Ok(row.is_some_and(|(size, mtime)| size as u64 == f.size && mtime == f.mtime_ns))
    }

    /// Remember files as taken, in one transaction.
    pub fn mark_seen_all(&self, rule: &str, files: &[FileInfo]) -> Result<()> {
        self.mark(rule, files.iter().map(|f| (f, None)))
    }

    pub fn mark<'a>(
        &self,
        rule: &str,
        files: impl Iterator<Item = (&'a FileInfo, Option<i64>)>,
    ) -> Result<()> {
        self.db
            .transact(|tx| mark_in(tx, rule, files))
            .map_err(|e| self.db.err(e))
    }

    /// The highest rule number any record still mentions (jobs, files taken), so a new
    /// rule never takes the id of one that was removed — even in a config written
    /// before ids were counted.
    pub fn rule_ids_used(&self) -> Result<u64> {
        let conn = self.db.conn();
        let mut max = 0;
        for sql in [
            "SELECT DISTINCT substr(origin, 7) FROM jobs WHERE origin LIKE 'watch:%'",
            "SELECT DISTINCT rule FROM watch_seen",
        ] {
            let mut stmt = conn.prepare_cached(sql).map_err(|e| self.db.err(e))?;
            let ids = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(|e| self.db.err(e))?;
            for id in ids.flatten() {
                if let Some(n) = super::rule_number(&id) {
                    max = max.max(n);
                }
            }
        }
        Ok(max)
    }

    pub fn set_status(&self, rule: &str, s: &Status) -> Result<()> {
        self.db
            .exec(
                "INSERT INTO watch_status (rule, state, waiting, reason, last_error, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(rule) DO UPDATE SET state = excluded.state, waiting = excluded.waiting,
                    reason = excluded.reason, last_error = excluded.last_error, updated_at = excluded.updated_at",
                params![rule, s.state, s.waiting as i64, s.reason, s.last_error, Utc::now().to_rfc3339()],
            )
            .map_err(|e| self.db.err(e))?;
        Ok(())
    }

    pub fn status(&self, rule: &str) -> Result<Option<Status>> {
        self.db
            .query_row(
                "SELECT state, waiting, reason, last_error, updated_at FROM watch_status WHERE rule = ?1",
                [rule],
                |r| {
                    let at: String = r.get(4)?;
                    let fresh = DateTime::parse_from_rfc3339(&at)
                        .map(|t| Utc::now() - t.with_timezone(&Utc) < chrono::Duration::seconds(6))
                        .unwrap_or(false);
                    Ok(Status {
                        state: r.get(0)?,
                        waiting: r.get::<_, i64>(1)? as u64,
                        reason: r.get(2)?,
                        last_error: r.get(3)?,
                        fresh,
                    })
                },
            )
            .optional()
            .map_err(|e| self.db.err(e))
    }

    /// The rule stopped running in this process: it has no live state any more.
    pub fn clear_status(&self, rule: &str) -> Result<()> {
        self.db
            .exec("DELETE FROM watch_status WHERE rule = ?1", [rule])
            .map_err(|e| self.db.err(e))?;
        Ok(())
    }

    pub fn forget(&self, rule: &str) -> Result<()> {
        self.db
            .exec("DELETE FROM watch_seen WHERE rule = ?1", [rule])
            .map_err(|e| self.db.err(e))?;
        self.db
            .exec("DELETE FROM watch_status WHERE rule = ?1", [rule])
            .map_err(|e| self.db.err(e))?;
        Ok(())
    }
}

/// Remember files as taken by a rule, inside the caller's transaction (the queue marks a
/// file together with the job that sends it).
pub(crate) fn mark_in<'a>(
    tx: &rusqlite::Connection,
    rule: &str,
    files: impl Iterator<Item = (&'a FileInfo, Option<i64>)>,
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO watch_seen (rule, path, size, mtime_ns, job_id) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(rule, path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
            job_id = excluded.job_id",
    )?;
    for (f, job) in files {
        stmt.execute(params![
            rule,
            f.path.to_string_lossy(),
            f.size as i64,
            f.mtime_ns,
            job
        ])?;
    }
    Ok(())
}
