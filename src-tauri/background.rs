//! What the app runs besides its window: the one queue runner (with the watch rules,
//! through `Engine::watch_run`, which first reclaims jobs a crashed run left behind), the
//! thumbnailer that follows the library, and the tally behind batched notifications.
//! All of it stops with `AppState::stop`. The work itself is ferry-core's.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::{Engine, Event};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Newest library items kept with a thumbnail.
const THUMBNAIL_WINDOW: usize = 1000;
/// Library changes often come in bursts (a batch finishing): wait for a quiet moment.
const THUMBNAIL_DEBOUNCE: Duration = Duration::from_millis(250);

/// Start the queue runner and the watch rules, until `stop`.
pub fn start_runner(
    engine: Arc<Engine>,
    stop: CancellationToken,
) -> tauri::async_runtime::JoinHandle<()> {
    tauri::async_runtime::spawn(async move {
        if let Err(e) = engine.watch_run(stop).await {
            tracing::error!("the queue stopped: {} [{}]", e.message, e.code.as_str());
        }
    })
}

/// Keep thumbnails for the newest library images: once now, then after library changes.
/// New thumbnails are announced on `shell` as a `libraryChanged`, so the UI reloads.
pub fn start_thumbnailer(
    engine: Arc<Engine>,
    cache: PathBuf,
    shell: broadcast::Sender<Event>,
    stop: CancellationToken,
) {
    let mut rx = engine.subscribe();
    tauri::async_runtime::spawn(async move {
        let mut skip = HashSet::new();
        loop {
            let (next, made) = fill(engine.clone(), cache.clone(), skip).await;
            skip = next;
            if made > 0 {
                let _ = shell.send(Event::LibraryChanged);
            }
            // Wait for a change, then for the burst to end.
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    r = rx.recv() => match r {
                        Ok(Event::LibraryChanged | Event::JobSucceeded { .. }) => break,
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Lagged(_)) => break,
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(THUMBNAIL_DEBOUNCE) => {}
            }
            while rx.try_recv().is_ok() {}
        }
    });
}

/// One pass of the thumbnailer: the items it must not retry, and how many it made.
async fn fill(engine: Arc<Engine>, cache: PathBuf, skip: HashSet<i64>) -> (HashSet<i64>, usize) {
    // Decoding images is CPU work: keep it off the async workers.
    let res = tokio::task::spawn_blocking(move || {
        let mut skip = skip;
        let made = ferry_core::thumbs::fill_missing(
            engine.library_handle(),
            &cache,
            THUMBNAIL_WINDOW,
            &mut skip,
        );
        (skip, made.map_err(|e| e.message))
    })
    .await;
    match res {
        Ok((skip, Ok(made))) => (skip, made),
        Ok((skip, Err(msg))) => {
            tracing::warn!("thumbnails: {msg}");
            (skip, 0)
        }
        Err(e) => {
            tracing::warn!("thumbnails: {e}");
            (HashSet::new(), 0)
        }
    }
}

/// Finished jobs counted for one notification ("23 uploaded, 1 failed"), so a batch of
/// files is announced once, not file by file.
#[derive(Debug, Default)]
pub struct Tally {
    pub uploaded: u32,
    pub failed: u32,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Tally {
    /// How long the queue stays quiet before a batch counts as finished.
    pub const QUIET: Duration = Duration::from_secs(2);
    /// A long batch still reports this often.
    pub const LONGEST: Duration = Duration::from_secs(120);

    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    pub fn record(&mut self, ev: &Event, now: Instant) {
        match ev {
            Event::JobSucceeded { .. } => self.uploaded += 1,
            Event::JobFailed { .. } => self.failed += 1,
            _ => return,
        }
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    /// The text to show now, if the batch is over: quiet for [`Self::QUIET`] with nothing
    /// left running (`busy`), or going on for longer than [`Self::LONGEST`]. Resets the
    /// tally when it returns text.
    pub fn due(&mut self, now: Instant, busy: bool) -> Option<String> {
        let (first, last) = (self.first?, self.last?);
        let quiet = now.duration_since(last) >= Self::QUIET;
        let long = now.duration_since(first) >= Self::LONGEST;
        if !((quiet && !busy) || long) {
            return None;
        }
        let text = summary(self.uploaded, self.failed);
        *self = Tally::default();
        Some(text)
    }
}

/// "23 uploaded, 1 failed", "1 uploaded", "2 failed".
pub fn summary(uploaded: u32, failed: u32) -> String {
    match (uploaded, failed) {
        (u, 0) => format!("{u} uploaded"),
        (0, f) => format!("{f} failed"),
        (u, f) => format!("{u} uploaded, {f} failed"),
    }
}

/// Whether the queue still has work in hand (a notification waits for it).
pub fn queue_busy(engine: &Engine) -> bool {
    use ferry_core::JobStatus::*;
    engine.jobs(true).is_ok_and(|jobs| {
        jobs.iter().any(|j| {
            matches!(
                j.status,
                Queued | Preparing | Uploading | Processing | WaitingRetry
            )
        })
    })
}
