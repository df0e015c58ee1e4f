//! The one SQLite database, FERRY_HOME/ferry.db: the job journal and the library.
//!
//! Opened in WAL mode with versioned migrations applied at open. A database from a newer
//! Ferry, or one that is not a readable database at all, is refused with a clear message
//! and left exactly as it was. This module owns the schema; `queue` and `library` own
//! the queries on their tables.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Code, Error, Result};

/// Each entry moves the schema from version `i` to `i + 1`. Append only; never edit a
/// migration that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: the job journal and the library.
    r#"
    CREATE TABLE jobs (
        id            INTEGER PRIMARY KEY,
        account       TEXT NOT NULL,
        source_kind   TEXT NOT NULL,          -- path | url
        input         TEXT NOT NULL,          -- absolute path or URL
        name          TEXT NOT NULL,
        origin        TEXT NOT NULL,          -- cli | drop | paste | watch:<rule>
        status        TEXT NOT NULL,
        force         INTEGER NOT NULL DEFAULT 0,
        attempts      INTEGER NOT NULL DEFAULT 0,
        error_code    TEXT,
        error_message TEXT,
        bytes_sent    INTEGER NOT NULL DEFAULT 0,
        bytes_total   INTEGER,
        src_size      INTEGER,
        src_mtime_ns  INTEGER,
        content_hash  TEXT,
        mime_type     TEXT,
        resume        TEXT,                   -- provider resume state (JSON)
        retry_at      TEXT,
        control       TEXT,                   -- pause | cancel, asked by another process
        owner_pid     INTEGER,
        heartbeat     TEXT,
        deduplicated  INTEGER NOT NULL DEFAULT 0,
        result        TEXT,                   -- what exists remotely (JSON list of media)
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
    );
    CREATE INDEX jobs_status ON jobs(status);
    CREATE TABLE library (
        id            INTEGER PRIMARY KEY,
        account       TEXT NOT NULL,
        provider      TEXT NOT NULL,
        remote_id     TEXT NOT NULL,
        name          TEXT NOT NULL,
        mime_type     TEXT,
        size          INTEGER,
        content_hash  TEXT,
        url           TEXT,
        status        TEXT NOT NULL,          -- processing | ready | failed | expired | deleted
        created_at    TEXT NOT NULL,
        expires_at    TEXT,
        job_id        INTEGER,
        source        TEXT
    );
    CREATE INDEX library_dedupe ON library(account, content_hash);
    "#,
    // 2: one row per remote item, and where the desktop keeps an item's thumbnail.
    r#"
    ALTER TABLE library ADD COLUMN thumbnail TEXT;
    CREATE UNIQUE INDEX library_remote ON library(account, remote_id);
    "#,
    // 3: what each watch rule has already taken (path with the size and mtime it had),
    // so a restart catches up on new files without taking old ones again; and each
    // rule's live state for `ferry watch list` in another process.
    r#"
    CREATE TABLE watch_seen (
        rule      TEXT NOT NULL,
        path      TEXT NOT NULL,
        size      INTEGER NOT NULL,
        mtime_ns  INTEGER,
        job_id    INTEGER,
        PRIMARY KEY (rule, path)
    );
    CREATE TABLE watch_status (
        rule       TEXT PRIMARY KEY,
        state      TEXT NOT NULL,
        waiting    INTEGER NOT NULL DEFAULT 0,
        reason     TEXT,
        last_error TEXT,
        updated_at TEXT NOT NULL
    );
    "#,
    // 4: after-upload actions of watch rules are durable: a job that succeeded is
    // `pending` until its action is done or deliberately skipped (with the reason).
    r#"
    ALTER TABLE jobs ADD COLUMN after_state TEXT;
    CREATE INDEX jobs_after_pending ON jobs(after_state) WHERE after_state = 'pending';
    "#,
    // 5: facts about the database itself. `home_id` is random, made once: with a job's
    // id it names a job uniquely across every Ferry home (remote names derived from it
    // need no journaling before their request).
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('home_id', lower(hex(randomblob(16))));
    "#,
    // 6: big libraries and queues. The library's pages are newest first (id order) under
    // any combination of account and status: each index ends in the rowid, so an equality
    // on its columns walks it in id order and a page stops after `limit` rows. The queue
    // screen pages through open jobs, then finished ones, newest first: a partial index
    // on each, so neither walks the other. `library_search` holds every column a filter
    // reads: a search's total is counted over it, not over the table's much wider rows.
    r#"
    CREATE INDEX library_search ON library(name, account, status);
    CREATE INDEX library_account ON library(account);
    CREATE INDEX library_status ON library(status);
    CREATE INDEX library_account_status ON library(account, status);
    CREATE INDEX jobs_open ON jobs(id) WHERE status NOT IN ('succeeded', 'cancelled');
    CREATE INDEX jobs_finished ON jobs(id) WHERE status IN ('succeeded', 'cancelled');
    "#,
    // 7: the order jobs start in. `priority` is raised by "move to top" (higher starts
    // first); `queued_size` is the file's size when it was queued, or i64::MAX when it is
    // not known (a URL import), so "small files first" puts unknown sizes last without
    // NULLs (SQLite sorts them first and an index cannot say otherwise). One index per
    // queue order, each led by the status the runner asks for: picking the next job walks
    // an index in order and stops at the first fit, however many jobs wait.
    r#"
    ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN queued_size INTEGER NOT NULL DEFAULT 9223372036854775807;
    UPDATE jobs SET queued_size = src_size
     WHERE src_size IS NOT NULL AND status NOT IN ('succeeded', 'cancelled');
    CREATE INDEX jobs_next_added ON jobs(status, priority DESC, id);
    CREATE INDEX jobs_next_small ON jobs(status, priority DESC, queued_size, id);
    "#,
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub struct Db {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Write transactions committed through this handle (each a disk write, some a
    /// sync): the measure the journal keeps low for runs of small files.
    commits: AtomicU64,
    /// The highest commit number known to be on disk; held while syncing.
    synced: Mutex<u64>,
    syncs: AtomicU64,
}

fn damaged(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::new(
        Code::ConfigInvalid,
        format!(
            "{} is not a readable Ferry database ({why}). Ferry left it untouched; move it aside \
             to start with an empty queue and library (files already uploaded are not affected)",
            path.display()
        ),
    )
}

/// Create an empty database file readable by its owner only, so SQLite never creates it
/// with the umask's wider mode. An existing file is not touched here.
fn create_private_file(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => Ok(()),
        // Another process created it between the check and here: fine.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io(e, path.display())),
    }
}

/// SQLite's file beside the database: `ferry.db-wal`, `ferry.db-shm`.
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Owner-only permissions on Unix; on Windows the file inherits the profile folder's ACL.
fn restrict_to_owner(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(e, path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl Db {
    /// Open (creating if needed) and migrate to the schema this Ferry knows.
    pub fn open(path: &Path) -> Result<Db> {
        Self::open_to(path, SCHEMA_VERSION)
    }

    /// Open and migrate up to `version` only: lets tests build an older database.
    pub fn open_to(path: &Path, version: i64) -> Result<Db> {
        if let Some(dir) = path.parent() {
            crate::config::create_private_dir(dir)?;
        }
        create_private_file(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| damaged(path, e))?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(|e| damaged(path, e))?;
        // Read before writing anything: a damaged or newer file must stay as it is.
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| damaged(path, e))?;
        let _: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(|e| damaged(path, e))?;
        if found > SCHEMA_VERSION {
            return Err(Error::new(
                Code::ConfigInvalid,
                format!(
                    "{} was written by a newer Ferry (schema {found}; this Ferry knows up to {SCHEMA_VERSION}). \
                     Upgrade Ferry, or use another --home. The database was left untouched",
                    path.display()
                ),
            ));
        }
        // The file is Ferry's own: owner-only even if an older Ferry made it readable.
        // SQLite gives the -wal and -shm files the database's mode when it creates them.
        restrict_to_owner(path)?;
        for side in ["-wal", "-shm"] {
            let p = sidecar(path, side);
            if p.exists() {
                restrict_to_owner(&p)?;
            }
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| damaged(path, e))?;
        // NORMAL in WAL mode keeps the file consistent through a power loss but may
        // forget the last commits; the commits that must survive one (a success with its
        // library rows, a resume handle journaled before its request) go through
        // [`Db::durable`], which syncs the WAL — and with it everything before. One sync
        // per job instead of one per progress or status write (bench/run reports it).
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| damaged(path, e))?;
        let db = Db {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            commits: AtomicU64::new(0),
            synced: Mutex::new(0),
            syncs: AtomicU64::new(0),
        };
        db.migrate(found, version)?;
        Ok(db)
    }

    fn migrate(&self, from: i64, to: i64) -> Result<()> {
        let mut conn = self.conn();
        for v in from..to {
            let tx = conn.transaction().map_err(|e| self.err(e))?;
            tx.execute_batch(MIGRATIONS[v as usize])
                .map_err(|e| self.err(e))?;
            tx.pragma_update(None, "user_version", v + 1)
                .map_err(|e| self.err(e))?;
            tx.commit().map_err(|e| self.err(e))?;
            tracing::debug!("migrated {} to schema {}", self.path.display(), v + 1);
        }
        Ok(())
    }

    /// How long a statement waits for another connection's lock before failing (10 s
    /// by default). Tests shorten it to reach "busy" quickly.
    pub fn set_busy_timeout(&self, t: Duration) -> Result<()> {
        self.conn().busy_timeout(t).map_err(|e| self.err(e))
    }

    /// Run `f` in one transaction and commit it (`synchronous = NORMAL`: it survives a
    /// crash of this process, and a power loss once a later durable commit is synced).
    pub fn transact<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.commit_numbered(f).map(|(out, _)| out)
    }

    /// Run `f` in one transaction, commit it, and give its commit number.
    fn commit_numbered<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<(T, u64)> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok((out, self.commits.fetch_add(1, Ordering::AcqRel) + 1))
    }

    /// How many write transactions this handle has committed.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Run `f` and commit it durably: synced to disk before this returns, so it
    /// survives a power loss — what SQLite's `synchronous = FULL` gives a commit in WAL
    /// mode, with the sync done after the connection is free again. Jobs finishing
    /// together then share one sync (group commit): a sync that started after a commit
    /// covers it, so a caller whose commit was covered meanwhile does not sync again, and
    /// no other job's database work waits behind a sync.
    pub fn durable<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let (out, mine) = self.commit_numbered(f)?;
        self.sync_through(mine)?;
        Ok(out)
    }

    /// Make every commit up to number `mine` durable, unless a sync since did.
    fn sync_through(&self, mine: u64) -> rusqlite::Result<()> {
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        if *synced >= mine {
            return Ok(());
        }
        // Every commit counted so far has its pages in the WAL file; one sync of that
        // file makes them all durable. A commit whose pages a checkpoint has moved into
        // the database file was synced there by that checkpoint, before the WAL space
        // could be reused.
        let upto = self.commits.load(Ordering::Acquire);
        let wal = sidecar(&self.path, "-wal");
        let target = if wal.exists() { wal } else { self.path.clone() };
        // Write access: Windows flushes only a handle opened for writing.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&target)
            .and_then(|f| f.sync_data())
            .map_err(|e| {
                rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR_FSYNC),
                    Some(format!("{}: {e}", target.display())),
                )
            })?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        *synced = upto;
        Ok(())
    }

    /// How many syncs [`Self::durable`] has made (fewer than its commits when they
    /// overlap).
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// `PRAGMA quick_check`: `ok`, or SQLite's first findings joined by newlines.
    pub fn quick_check(&self) -> Result<String> {
        let conn = self.conn();
        let mut st = conn
            .prepare("PRAGMA quick_check(20)")
            .map_err(|e| Error::new(Code::Io, format!("checking the records: {e}")))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|r| r.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| Error::new(Code::Io, format!("checking the records: {e}")))?;
        Ok(rows.join("\n"))
    }

    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run one statement, its compiled form cached (the queue runs the same few
    /// statements thousands of times).
    pub fn exec(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        let n = self.conn().prepare_cached(sql)?.execute(params)?;
        self.commits.fetch_add(1, Ordering::AcqRel);
        Ok(n)
    }

    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.conn().prepare_cached(sql)?.query_row(params, f)
    }

    pub fn err(&self, e: rusqlite::Error) -> Error {
        Error::new(Code::Io, format!("{}: {e}", self.path.display()))
    }

    /// This database's random id (see migration 5).
    pub fn home_id(&self) -> Result<String> {
        self.query_row("SELECT value FROM meta WHERE key = 'home_id'", [], |r| {
            r.get(0)
        })
        .map_err(|e| self.err(e))
    }

    pub fn version(&self) -> Result<i64> {
        self.conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Durable commits from many threads: each returns only once a sync that started
    /// after it has finished, and overlapping ones share syncs.
    #[test]
    fn durable_commits_are_synced_before_they_return_and_share_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let db = std::sync::Arc::new(Db::open(&dir.path().join("ferry.db")).unwrap());
        db.exec("CREATE TABLE t (v INTEGER)", []).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let db = db.clone();
                std::thread::spawn(move || {
                    for j in 0..25 {
                        let before = db.commits();
                        db.durable(|tx| tx.execute("INSERT INTO t VALUES (?1)", [i * 100 + j]))
                            .unwrap();
                        // This commit's number is above `before`: the sync covered it.
                        let synced = *db.synced.lock().unwrap();
                        assert!(synced > before, "synced {synced}, committed after {before}");
                        assert!(synced <= db.commits());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n: i64 = db
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 200);
        assert!(db.syncs() >= 1 && db.syncs() <= 200, "{} syncs", db.syncs());
        // The last commit is covered.
        assert_eq!(*db.synced.lock().unwrap(), db.commits());
    }
}
