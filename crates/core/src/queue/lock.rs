//! The home lock: exactly one process per FERRY_HOME runs the queue and the watch rules.
//!
//! The owner holds an exclusive OS file lock on `FERRY_HOME/ferry.lock` (std's
//! `File::try_lock`: `flock` on Unix, `LockFileEx` on Windows), which the OS releases when
//! the process dies however it dies — so "a job found running when the lock is taken
//! belonged to a dead process" holds without pids or heartbeats. Who holds it (pid,
//! program, since when, a problem the runner is retrying and why it holds sending, if
//! any) is written beside it
//! in `runner.json`, because on Windows a locked file cannot be read by others.
//!
//! This module only takes, describes and releases the lock; what the owner does with it
//! (reclaiming jobs, removing leftovers, running) is the queue's.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Code, Error, Result};

const LOCK_FILE: &str = "ferry.lock";
const HOLDER_FILE: &str = "runner.json";

/// Who runs a home's queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holder {
    pub pid: u32,
    /// `ferry watch run`, `ferry upload`, `Ferry desktop app`…
    pub program: String,
    pub since: DateTime<Utc>,
    /// A problem the runner is retrying (a database it cannot write), shown until it
    /// recovers.
    #[serde(default)]
    pub problem: Option<String>,
    /// Why sending is held although jobs wait (offline), shown in the queue header.
    #[serde(default)]
    pub hold: Option<super::hold::Hold>,
}

impl Holder {
    /// "the Ferry desktop app (pid 1234)".
    pub fn describe(&self) -> String {
        format!("{} (pid {})", self.program, self.pid)
    }
}

/// The lock, held for as long as this value lives.
pub struct HomeLock {
    _file: File,
    dir: PathBuf,
    holder: Holder,
}

impl HomeLock {
    /// Take the home's lock, or say who holds it. A process that only looked (a shared
    /// probe, see [`holder`]) can make one attempt fail, so it is tried a few times.
    pub fn try_acquire(dir: &Path, program: &str) -> Result<std::result::Result<HomeLock, Holder>> {
        crate::config::create_private_dir(dir)?;
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(e, path.display()))?;
        for attempt in 0..5 {
            match file.try_lock() {
                Ok(()) => {
                    let holder = Holder {
                        pid: std::process::id(),
                        program: program.to_string(),
                        since: Utc::now(),
                        problem: None,
                        hold: None,
                    };
                    let lock = HomeLock {
                        _file: file,
                        dir: dir.to_path_buf(),
                        holder,
                    };
                    lock.write_holder()?;
                    return Ok(Ok(lock));
                }
                Err(TryLockError::WouldBlock) => {
                    if attempt < 4 {
                        std::thread::sleep(Duration::from_millis(40));
                    }
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::new(
                        Code::Io,
                        format!(
                        "could not lock {} ({e}); Ferry needs a folder where files can be locked",
                        path.display()
                    ),
                    ))
                }
            }
        }
        Ok(Err(read_holder(dir).unwrap_or_else(|| Holder {
            pid: 0,
            program: "another Ferry process".into(),
            since: Utc::now(),
            problem: None,
            hold: None,
        })))
    }

    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// Say (or stop saying) what the runner is struggling with.
    pub fn set_problem(&mut self, problem: Option<String>) {
        if self.holder.problem != problem {
            self.holder.problem = problem;
            if let Err(e) = self.write_holder() {
                tracing::warn!("{}", e.message);
            }
        }
    }

    /// Say (or stop saying) why sending is held.
    pub fn set_hold(&mut self, hold: Option<super::hold::Hold>) {
        if self.holder.hold != hold {
            self.holder.hold = hold;
            if let Err(e) = self.write_holder() {
                tracing::warn!("{}", e.message);
            }
        }
    }

    fn write_holder(&self) -> Result<()> {
        let text = serde_json::to_vec_pretty(&self.holder)
            .map_err(|e| Error::new(Code::Internal, e.to_string()))?;
        crate::config::write_private(&self.dir.join(HOLDER_FILE), &text)
    }
}

impl Drop for HomeLock {
    fn drop(&mut self) {
        // The OS releases the lock with the file; the note goes first so nobody reads a
        // holder that is gone.
        let _ = std::fs::remove_file(self.dir.join(HOLDER_FILE));
    }
}

fn read_holder(dir: &Path) -> Option<Holder> {
    let text = std::fs::read(dir.join(HOLDER_FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Who runs this home's queue now, if anyone: the note is believed only while its lock
/// is held (a process that died leaves a note but no lock).
pub fn holder(dir: &Path) -> Option<Holder> {
    let note = read_holder(dir)?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .ok()?;
    match file.try_lock_shared() {
        // Nobody holds it: the note is stale.
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => Some(note),
        Err(TryLockError::Error(_)) => Some(note),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_is_told_who_holds_the_home() {
        let dir = tempfile::tempdir().unwrap();
        let Ok(first) = HomeLock::try_acquire(dir.path(), "ferry watch run").unwrap() else {
            panic!("the first takes it");
        };
        // A second open file description behaves like another process for flock.
        let second = HomeLock::try_acquire(dir.path(), "ferry queue run").unwrap();
        let Err(held) = second else {
            panic!("held by the first");
        };
        assert_eq!(held.program, "ferry watch run");
        assert_eq!(held.pid, std::process::id());
        assert_eq!(holder(dir.path()).unwrap().program, "ferry watch run");
        drop(first);
        assert!(holder(dir.path()).is_none());
        assert!(HomeLock::try_acquire(dir.path(), "ferry queue run")
            .unwrap()
            .is_ok());
    }
}
