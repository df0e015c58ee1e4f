//! Adding what a person dropped or picked when it may be huge — a folder of 200,000
//! photos, or `/` by mistake: folders are walked as a stream (one folder's entries in
//! memory at a time, in name order), their media files are queued in batches of
//! [`BATCH`] (one journal transaction each), a count is reported as it goes, one drop
//! adds at most `cap` files, and the walk can be stopped. Files named one by one are
//! queued as given (the destination's own check explains a refusal); files inside
//! folders only when their first bytes say image, video or audio, hidden ones skipped.
//!
//! Nothing here runs a job, and nothing here decides the cap (a setting).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::{Event, JobId, NewJob, Queue};
use crate::error::Result;

/// The additions of one queue: ids, and a generation that [`Queue::stop_adding`] bumps;
/// an addition that started under an older generation stops at its next file.
#[derive(Default)]
pub struct Adding {
    next_id: AtomicU64,
    generation: AtomicU64,
}

/// Jobs written per transaction: big enough that the journal's fsyncs do not dominate,
/// small enough that the queue shows the first files within a moment.
pub const BATCH: usize = 1_000;

/// How an addition ended, and its counts so far (also what the progress callback gets).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Added {
    /// Jobs written to the journal.
    pub queued: usize,
    /// Files inside the folders that are not media (left out).
    pub not_media: usize,
    /// Folders that could not be read (no permission, gone meanwhile), left out.
    pub unreadable: usize,
    /// Stopped at the cap: more files were there than one drop may add.
    pub capped: bool,
    /// Stopped by the person (the jobs already written stay; the caller may cancel them).
    pub stopped: bool,
}

/// Whether a file's first bytes say image, video or audio.
pub fn is_media_file(path: &Path) -> bool {
    crate::media::sniff_path(path).is_ok_and(|m| {
        m.starts_with("image/") || m.starts_with("video/") || m.starts_with("audio/")
    })
}

impl Queue {
    /// Stop every addition in progress (they keep the jobs already written).
    pub fn stop_adding(&self) {
        self.adding.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Queue `inputs` (files as given, folders walked for media files) for each of
    /// `accounts` (a job per file and account, a file's jobs side by side), at most `cap`
    /// files (the `drop_limit` setting), until [`Queue::stop_adding`]. Each batch is
    /// announced, and an [`Event::Adding`] reports the counts (of files) after every
    /// batch and at the end. Returns the ids of every job written, and how it ended.
    pub fn enqueue_tree(
        &self,
        inputs: &[PathBuf],
        accounts: &[String],
        origin: &str,
        force: bool,
        cap: usize,
    ) -> Result<(Vec<JobId>, Added)> {
        let cfg = self.accounts.config();
        for account in accounts {
            cfg.account(account)?;
        }
        if accounts.is_empty() {
            return Err(crate::error::Error::new(
                crate::error::Code::InputInvalid,
                "no destination given",
            ));
        }
        let id = self.adding.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        let generation = self.adding.generation.load(Ordering::SeqCst);
        let stop = Stop {
            adding: &self.adding,
            generation,
        };
        let stop = &stop;
        let report = |added: &Added, done: bool| {
            self.emit(Event::Adding {
                id,
                added: added.clone(),
                cap,
                done,
            })
        };
        let progress = &mut |added: &Added| report(added, false);
        let mut run = Run {
            queue: self,
            accounts,
            origin,
            force,
            cap,
            batch: Vec::with_capacity(BATCH.min(cap.max(1))),
            ids: Vec::new(),
            added: Added::default(),
        };
        'inputs: for input in inputs {
            if !input.is_dir() {
                if !run.push(input, stop, progress)? {
                    break;
                }
                continue;
            }
            // Depth first, each folder's entries in name order: the queue follows the
            // order a file manager shows, and only the folders still to visit are held.
            let mut stack = vec![input.clone()];
            while let Some(dir) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    run.added.unreadable += 1;
                    continue;
                };
                let mut files = Vec::new();
                let mut dirs = Vec::new();
                for e in entries.flatten() {
                    if e.file_name().to_string_lossy().starts_with('.') {
                        continue;
                    }
                    // Symbolic links are not followed: a link to `/` or to a parent folder
                    // would walk forever or far outside what was dropped.
                    match e.file_type() {
                        Ok(t) if t.is_dir() => dirs.push(e.path()),
                        Ok(t) if t.is_file() => files.push(e.path()),
                        _ => {}
                    }
                }
                files.sort();
                dirs.sort();
                for f in files {
                    if stop.now() {
                        run.added.stopped = true;
                        break 'inputs;
                    }
                    if !is_media_file(&f) {
                        run.added.not_media += 1;
                        continue;
                    }
                    if !run.push(&f, stop, progress)? {
                        break 'inputs;
                    }
                }
                stack.extend(dirs.into_iter().rev());
            }
        }
        run.flush(progress)?;
        if stop.now() && !run.added.capped {
            run.added.stopped = true;
        }
        report(&run.added, true);
        Ok((run.ids, run.added))
    }
}

struct Stop<'a> {
    adding: &'a Adding,
    generation: u64,
}

impl Stop<'_> {
    fn now(&self) -> bool {
        self.adding.generation.load(Ordering::Relaxed) != self.generation
    }
}

struct Run<'a> {
    queue: &'a Queue,
    accounts: &'a [String],
    origin: &'a str,
    force: bool,
    cap: usize,
    batch: Vec<NewJob>,
    ids: Vec<JobId>,
    added: Added,
}

impl Run<'_> {
    /// Take one file; `false` once the walk must end (cap reached, or stopped).
    fn push(
        &mut self,
        path: &Path,
        stop: &Stop<'_>,
        progress: &mut dyn FnMut(&Added),
    ) -> Result<bool> {
        if stop.now() {
            self.added.stopped = true;
            return Ok(false);
        }
        if self.added.queued + self.batch.len() / self.accounts.len() >= self.cap {
            self.added.capped = true;
            return Ok(false);
        }
        for account in self.accounts {
            self.batch.push(super::control::path_job(
                path,
                account,
                self.origin,
                self.force,
            ));
        }
        if self.batch.len() >= BATCH {
            self.flush(progress)?;
        }
        Ok(true)
    }

    fn flush(&mut self, progress: &mut dyn FnMut(&Added)) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let ids = self.queue.jobs.insert(&self.batch)?;
        self.queue.announce(&ids);
        // Files, not jobs: each file has a job per destination.
        self.added.queued += ids.len() / self.accounts.len();
        self.ids.extend(ids);
        self.batch.clear();
        progress(&self.added);
        Ok(())
    }
}
