//! Adding jobs and steering them: enqueue, pause, resume, retry, cancel. Any process may
//! call these: a job this process runs is stopped directly; a job another process (the
//! home's owner) runs is asked through its row, which the owner polls.
//!
//! Nothing here runs a job (`runner`, `exec`).

use std::path::PathBuf;

use super::{Event, Job, JobId, JobStatus, NewJob, Queue, Selector, SourceKind};
use crate::error::Result;
use crate::import;
use crate::watch::scan::FileInfo;

/// Up to this many jobs added at once get a `jobAdded` event each.
pub const ANNOUNCE_EACH: usize = 100;

impl Queue {
    /// Add files as jobs (written to the journal before anything else happens).
    pub fn enqueue_paths(
        &self,
        paths: &[PathBuf],
        account: &str,
        origin: &str,
        force: bool,
    ) -> Result<Vec<JobId>> {
        self.enqueue_paths_to(paths, &[account.to_string()], origin, force)
    }

    /// Add files as jobs to several destinations at once (fan-out): one job per file and
    /// destination, each with its own progress, retries and dedupe. A file's jobs are
    /// written next to each other (file by file, then destination by destination), so
    /// the runner starts them together. Every account is checked before anything is
    /// written. Ids come in that order.
    pub fn enqueue_paths_to(
        &self,
        paths: &[PathBuf],
        accounts: &[String],
        origin: &str,
        force: bool,
    ) -> Result<Vec<JobId>> {
        let cfg = self.accounts.config();
        for account in accounts {
            cfg.account(account)?;
        }
        let jobs: Vec<NewJob> = paths
            .iter()
            .flat_map(|p| accounts.iter().map(move |a| (p, a)))
            .map(|(p, a)| path_job(p, a, origin, force))
            .collect();
        let ids = self.jobs.insert(&jobs)?;
        self.announce(&ids);
        Ok(ids)
    }

    /// Queue the files a watch rule takes (a job per file and destination, a file's
    /// jobs side by side) and remember them as taken, in one transaction: no crash or
    /// stop between the two can lose a file or take it twice.
    pub(crate) fn enqueue_watched(
        &self,
        rule: &str,
        accounts: &[String],
        files: &[FileInfo],
    ) -> Result<Vec<JobId>> {
        let cfg = self.accounts.config();
        for account in accounts {
            cfg.account(account)?;
        }
        let origin = format!("watch:{rule}");
        let jobs: Vec<NewJob> = files
            .iter()
            .flat_map(|f| accounts.iter().map(move |a| (f, a)))
            .map(|(f, a)| NewJob {
                // The scan's size: no second stat.
                size: Some(f.size),
                ..path_job(&f.path, a, &origin, false)
            })
            .collect();
        let ids = self
            .jobs
            .insert_watched(&jobs, rule, files, accounts.len())?;
        self.announce(&ids);
        Ok(ids)
    }

    /// Add URL imports as jobs. Each URL is checked first; a bad one gets its error in
    /// its place and no job.
    pub fn enqueue_urls(
        &self,
        urls: &[String],
        account: &str,
        origin: &str,
    ) -> Result<Vec<Result<JobId>>> {
        self.accounts.config().account(account)?;
        // Checked first, then every valid one written in one transaction: a paste of
        // 100,000 lines is one pass and one commit, not 100,000.
        let checked: Vec<Result<NewJob>> = urls
            .iter()
            .map(|u| {
                import::validate_url(u).map(|url| NewJob {
                    account: account.to_string(),
                    source_kind: SourceKind::Url,
                    name: import::name_for(None, &url),
                    input: url.to_string(),
                    origin: origin.to_string(),
                    force: false,
                    size: None,
                })
            })
            .collect();
        let valid: Vec<NewJob> = checked
            .iter()
            .filter_map(|r| r.as_ref().ok().cloned())
            .collect();
        let mut ids = self.jobs.insert(&valid)?.into_iter();
        let out: Vec<Result<JobId>> = checked
            .into_iter()
            .map(|r| r.map(|_| ids.next().expect("one id per valid URL")))
            .collect();
        let added: Vec<JobId> = out
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        if !added.is_empty() {
            self.announce(&added);
        }
        Ok(out)
    }

    /// Tell listeners and the runner about new jobs: one event each for a few, one
    /// [`Event::JobsAdded`] for many (reading back and sending 100,000 rows one by one
    /// would cost more than the adding).
    pub(super) fn announce(&self, ids: &[JobId]) {
        if ids.len() > ANNOUNCE_EACH {
            self.emit(Event::JobsAdded { count: ids.len() });
        } else {
            for id in ids {
                if let Ok(job) = self.jobs.get(*id) {
                    self.emit(Event::JobAdded { job });
                }
            }
        }
        self.notify.notify_waiters();
    }

    pub fn jobs(&self, active_only: bool) -> Result<Vec<Job>> {
        self.jobs.list(active_only)
    }

    /// See [`super::journal::JobsTable::any_sending`].
    pub fn any_sending(&self) -> Result<bool> {
        self.jobs.any_sending()
    }

    /// One page of the queue with the counts of all of it (see [`super::journal::JobsTable::page`]).
    pub fn page(&self, limit: usize, cursor: Option<super::JobCursor>) -> Result<super::JobPage> {
        let (jobs, next) = self.jobs.page(limit, cursor)?;
        Ok(super::JobPage {
            jobs,
            next,
            summary: self.jobs.summary()?,
        })
    }

    pub fn job(&self, id: JobId) -> Result<Job> {
        self.jobs.get(id)
    }

    fn select(&self, sel: Selector) -> Result<Vec<Job>> {
        match sel {
            Selector::One(id) => Ok(vec![self.jobs.get(id)?]),
            Selector::All => self.jobs.list(true),
        }
    }

    pub(crate) fn changed(&self, id: JobId) {
        if let Ok(job) = self.jobs.get(id) {
            self.emit(Event::JobChanged { job });
        }
    }

    /// Stop a job where it is, keeping what was sent for a later resume.
    pub fn pause(&self, sel: Selector) -> Result<usize> {
        let mut n = 0;
        for job in self.select(sel)? {
            if self.stop_running(job.id, "pause") {
                n += 1;
            } else if job.status.is_running() {
                self.jobs.request(job.id, "pause")?;
                n += 1;
            } else if self.jobs.transition(
                job.id,
                &[JobStatus::Queued, JobStatus::WaitingRetry],
                JobStatus::Paused,
            )? {
                self.changed(job.id);
                n += 1;
            }
        }
        Ok(n)
    }

    pub fn resume(&self, sel: Selector) -> Result<usize> {
        let mut n = 0;
        for job in self.select(sel)? {
            if self
                .jobs
                .transition(job.id, &[JobStatus::Paused], JobStatus::Queued)?
            {
                self.changed(job.id);
                n += 1;
            }
        }
        self.notify.notify_waiters();
        Ok(n)
    }

    /// Make these jobs the next to start, the first given first (still within the
    /// per-account limits). A job already running or finished stays as it is; an id
    /// with no job is refused before anything moves. Returns how many moved.
    pub fn move_to_top(&self, ids: &[JobId]) -> Result<usize> {
        for id in ids {
            self.jobs.get(*id)?;
        }
        let n = self.jobs.move_to_top(ids)?;
        if ids.len() <= ANNOUNCE_EACH {
            for id in ids {
                self.changed(*id);
            }
        }
        self.notify.notify_waiters();
        Ok(n)
    }

    /// Send failed or cancelled jobs again.
    pub fn retry(&self, sel: Selector) -> Result<usize> {
        let jobs = match sel {
            Selector::One(id) => vec![self.jobs.get(id)?],
            Selector::All => self.jobs.list(false)?,
        };
        let mut n = 0;
        for job in jobs {
            if self.jobs.transition(
                job.id,
                &[JobStatus::Failed, JobStatus::Cancelled],
                JobStatus::Queued,
            )? {
                self.changed(job.id);
                n += 1;
            }
        }
        self.notify.notify_waiters();
        Ok(n)
    }

    /// Cancel — only a person does this: a running job stops at once; anything it
    /// started remotely is abandoned (S3 multipart aborted, FastPix session cancelled).
    pub async fn cancel(&self, sel: Selector) -> Result<usize> {
        let mut n = 0;
        for job in self.select(sel)? {
            if self.stop_running(job.id, "cancel") {
                n += 1;
            } else if job.status.is_running() {
                self.jobs.request(job.id, "cancel")?;
                n += 1;
            } else if self.jobs.transition(
                job.id,
                &[
                    JobStatus::Queued,
                    JobStatus::WaitingRetry,
                    JobStatus::Paused,
                    JobStatus::Failed,
                ],
                JobStatus::Cancelled,
            )? {
                self.abandon(job.id, &job.account, &self.quiet_ctx()).await;
                if let Ok(job) = self.jobs.get(job.id) {
                    self.emit(Event::JobCancelled { job });
                }
                n += 1;
            }
        }
        Ok(n)
    }

    /// Stop a job this process runs, saying why (`pause`, `cancel`, `stop`).
    pub(crate) fn stop_running(&self, id: JobId, why: &str) -> bool {
        let running = self.running.lock().expect("running lock");
        match running.get(&id) {
            Some(r) => {
                *r.stop.lock().expect("stop lock") = Some(why.to_string());
                r.cancel.cancel();
                true
            }
            None => false,
        }
    }
}

pub(super) fn path_job(p: &std::path::Path, account: &str, origin: &str, force: bool) -> NewJob {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    // One stat for the "small files first" order; a file that cannot be read now is
    // queued with an unknown size and explains itself when it runs.
    let size = std::fs::metadata(&abs)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    NewJob {
        size,
        account: account.to_string(),
        source_kind: SourceKind::Path,
        name: abs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| abs.display().to_string()),
        input: abs.display().to_string(),
        origin: origin.to_string(),
        force,
    }
}
