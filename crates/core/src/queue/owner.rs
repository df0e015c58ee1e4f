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
        // Spilled downloads and half-written library files a dead owner left behind
        // (nobody else writes them).
        let mut leftovers = crate::import::remove_leftovers(dir);
        for (_, a) in self.accounts.config().accounts {
            if let (crate::providers::Kind::Local, Some(lib)) = (a.kind, a.options.get("dir")) {
                if let (Ok(list), Ok(more)) = (
                    leftovers.as_mut(),
                    crate::import::remove_part_files(std::path::Path::new(lib)),
                ) {
                    list.extend(more);
                }
            }
        }
        match leftovers {
            Ok(gone) if !gone.is_empty() => {
                tracing::info!("removed {} leftover file(s) of an earlier run", gone.len())
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

    /// Take the home, or fail saying who has it (the CLI's `queue run` and `watch run`
    /// without `--wait-for-lock`).
    pub fn take_home_or_fail(&self, program: &str) -> Result<usize> {
        match self.take_home(program)? {
            Taken::Owner { resumed } => Ok(resumed),
            Taken::HeldBy(h) => Err(in_use(&h)),
        }
    }

    /// Stop being the runner (a `ferry upload` that finished its files), so a waiting
    /// process can take over. Jobs must not be running here.
    pub fn release_home(&self) {
        self.owner.lock().expect("owner lock").take();
    }

    pub fn owns_home(&self) -> bool {
        self.owner.lock().expect("owner lock").is_some()
    }

    /// Who runs this home's queue now (this process included), if anyone.
    pub fn runner(&self) -> Option<Holder> {
        if let Some(l) = self.owner.lock().expect("owner lock").as_ref() {
            return Some(l.holder().clone());
        }
        lock::holder(&self.accounts.home().data_dir)
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
