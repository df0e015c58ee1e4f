//! Becoming the one process that runs a home's queue: take the home lock, then put back
//! every job a dead owner left mid-flight (with its resume state) and remove what it
//! left on disk. Other processes stay clients and see who the owner is.
//!
//! The lock itself is `lock`; running jobs is `runner`.

use super::lock::{self, Holder, HomeLock};
use super::Queue;
use crate::error::{Code, Error, Result};

/// What taking the home gave.
#[derive(Debug)]
pub enum Taken {
    /// This process runs the queue now; `resumed` jobs a dead owner left mid-flight were
    /// put back to run again.
    Owner { resumed: usize },
    /// Another process runs it.
    HeldBy(Holder),
}

impl Queue {
    /// Become the home's runner if no other process is. Taking it twice is harmless.
    pub fn take_home(&self, program: &str) -> Result<Taken> {
        let mut owner = self.owner.lock().expect("owner lock");
        if owner.is_some() {
            return Ok(Taken::Owner { resumed: 0 });
        }
        let dir = &self.accounts.home().data_dir;
        let held = match HomeLock::try_acquire(dir, program)? {
            Ok(l) => l,
            Err(holder) => return Ok(Taken::HeldBy(holder)),
        };
        // Whoever held the lock before is gone: a job still marked running is theirs.
        let resumed = self.jobs.reclaim_all()?;
        *owner = Some(held);
        drop(owner);
        // What a dead owner left on disk: spilled downloads, half-written library
        // files (in every local library folder), unfinished thumbnail fetches.
        let mut gone = crate::import::remove_leftovers(dir);
        for a in self.accounts.config().accounts.values() {
            if let (crate::providers::Kind::Local, Some(lib)) = (a.kind, a.options.get("dir")) {
                let more = crate::import::remove_part_files(std::path::Path::new(lib));
                gone = gone.and_then(|mut v| {
                    v.extend(more?);
                    Ok(v)
                });
            }
        }
        match gone {
            Ok(v) if !v.is_empty() => {
                tracing::info!("removed {} leftover file(s) of an earlier run", v.len())
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("leftover files: {}", e.message),
        }
        if resumed > 0 {
            tracing::info!("resuming {resumed} interrupted job(s)");
        }
        self.notify.notify_waiters();
        Ok(Taken::Owner { resumed })
    }

    /// Stop being the runner (a `ferry upload` that finished its files), so a waiting
    /// process can take over. Jobs must not be running here.
    pub fn release_home(&self) {
        self.owner.lock().expect("owner lock").take();
    }

    pub fn owns_home(&self) -> bool {
        self.owner.lock().expect("owner lock").is_some()
    }

    /// Only the home's owner runs jobs and watch rules: `home.in_use` otherwise.
    pub(crate) fn require_owner(&self) -> Result<()> {
        if self.owns_home() {
            return Ok(());
        }
        Err(match self.runner() {
            Some(h) => in_use(&h),
            None => Error::new(
                Code::Internal,
                "jobs run only in the process that took the home (Queue::take_home)",
            ),
        })
    }

    /// Who runs this home's queue now (this process included), if anyone.
    pub fn runner(&self) -> Option<Holder> {
        if let Some(l) = self.owner.lock().expect("owner lock").as_ref() {
            return Some(l.holder().clone());
        }
        lock::holder(&self.accounts.home().data_dir)
    }

    /// Publish why sending is held (offline…) in the runner note and to listeners.
    pub(crate) fn publish_hold(&self) {
        let hold = self.holds.current();
        if let Some(l) = self.owner.lock().expect("owner lock").as_mut() {
            l.set_hold(hold.clone());
        }
        self.emit(super::Event::HoldChanged { hold });
    }

    /// Say what the runner is struggling with (shown by `queue list` and the app).
    pub(crate) fn set_problem(&self, problem: Option<String>) {
        if let Some(l) = self.owner.lock().expect("owner lock").as_mut() {
            l.set_problem(problem);
        }
    }
}

/// The error for "another process runs this home".
pub fn in_use(h: &Holder) -> Error {
    Error::new(
        Code::HomeInUse,
        format!(
            "this Ferry home is being run by {} since {}; it sends the queue and watches the folders. \
             Stop it first, or pass --wait-for-lock to wait until it ends",
            h.describe(),
            h.since.format("%Y-%m-%d %H:%M:%S UTC")
        ),
    )
}
