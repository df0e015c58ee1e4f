//! What the app runs besides its window: the one queue runner (with the watch rules,
//! through `Engine::watch_run`, which first reclaims jobs a crashed run left behind), the
//! thumbnailer that follows the library, the refresher that polls items still processing
//! at their destination (FastPix) and marks expired links, and the batch follower: one
//! notification per finished batch and, if the setting is on, its links on the clipboard.
//! All of it stops with `AppState::stop`. The work itself is ferry-core's.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::after_batch;
use ferry_core::links::format_link;
use ferry_core::{Engine, Event};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_clipboard_manager::ClipboardExt;
use tauri_plugin_opener::OpenerExt;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Newest library items kept with a thumbnail.
const THUMBNAIL_WINDOW: usize = 1000;
/// Newest library items whose thumbnail may be fetched from their link (no local file).
const REMOTE_WINDOW: usize = 200;
/// Library changes often come in bursts (a batch finishing): wait for a quiet moment.
const THUMBNAIL_DEBOUNCE: Duration = Duration::from_millis(250);

/// How often items still processing at their destination are polled.
const PROCESSING_POLL: Duration = Duration::from_secs(5);
/// How often the whole library is refreshed anyway (links that expired meanwhile).
const EXPIRY_PASS: Duration = Duration::from_secs(600);

/// Poll library items that are still processing (a FastPix video) until they are ready or
/// failed, every [`PROCESSING_POLL`] while there are any, and mark expired links every
/// [`EXPIRY_PASS`]. The library announces changes itself (`libraryChanged`).
pub fn start_refresher(engine: Arc<Engine>, stop: CancellationToken) {
    tauri::async_runtime::spawn(async move {
        let mut last_full = Instant::now();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(PROCESSING_POLL) => {}
            }
            let processing = {
                let engine = engine.clone();
                tokio::task::spawn_blocking(move || {
                    engine
                        .library(&ferry_core::library::Filter {
                            status: Some(ferry_core::library::ItemStatus::Processing),
                            limit: Some(1),
                            ..Default::default()
                        })
                        .is_ok_and(|items| !items.is_empty())
                })
                .await
                .unwrap_or(false)
            };
            if !processing && last_full.elapsed() < EXPIRY_PASS {
                continue;
            }
            last_full = Instant::now();
            match engine.library_refresh(None).await {
                Ok(n) if n > 0 => tracing::info!("library refresh: {n} item(s) changed"),
                Ok(_) => {}
                // An account that cannot answer now (offline, key revoked) is tried again
                // at the next pass; the item keeps its last known status.
                Err(e) => tracing::warn!("library refresh: {} [{}]", e.message, e.code.as_str()),
            }
        }
    });
}

/// What the app calls itself in the home's runner note (`ferry queue list` shows it).
pub const PROGRAM: &str = "the Ferry desktop app";

/// Start the queue runner and the watch rules, until `stop`. If another process (a
/// `ferry watch run` in a terminal) runs this home, the app shows the queue and library
/// and waits, taking over as soon as that process ends.
pub fn start_runner(
    engine: Arc<Engine>,
    stop: CancellationToken,
) -> tauri::async_runtime::JoinHandle<()> {
    tauri::async_runtime::spawn(async move {
        let mut told = false;
        loop {
            let taken = {
                let engine = engine.clone();
                tokio::task::spawn_blocking(move || engine.take_home(PROGRAM)).await
            };
            match taken {
                Ok(Ok(ferry_core::Taken::Owner { .. })) => break,
                Ok(Ok(ferry_core::Taken::HeldBy(h))) => {
                    if !told {
                        tracing::info!("{} runs this home; the app follows it", h.describe());
                        told = true;
                    }
                }
                Ok(Err(e)) => {
                    tracing::error!("cannot run the queue: {} [{}]", e.message, e.code.as_str());
                }
                Err(e) => tracing::error!("cannot run the queue: {e}"),
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
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
        let mut remote_skip = HashSet::new();
        loop {
            let (next, made) = fill(engine.clone(), cache.clone(), skip).await;
            skip = next;
            let fetched = fetch_remote(&engine, &cache, &mut remote_skip, &stop).await;
            if made + fetched > 0 {
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

/// Thumbnails of images with no file here (imported from a URL to a remote destination),
/// fetched from their own links one at a time: how many were made. Items that fail are
/// not tried again while the app runs.
async fn fetch_remote(
    engine: &Arc<Engine>,
    cache: &std::path::Path,
    skip: &mut HashSet<i64>,
    stop: &CancellationToken,
) -> usize {
    let list = {
        let (engine, skip) = (engine.clone(), skip.clone());
        tokio::task::spawn_blocking(move || {
            ferry_core::thumbs::remote_candidates(engine.library_handle(), REMOTE_WINDOW, &skip)
        })
        .await
    };
    let items = match list {
        Ok(Ok(items)) => items,
        Ok(Err(e)) => {
            tracing::warn!("thumbnails: {}", e.message);
            return 0;
        }
        Err(e) => {
            tracing::warn!("thumbnails: {e}");
            return 0;
        }
    };
    let mut made = 0;
    for item in items {
        if stop.is_cancelled() {
            break;
        }
        match engine.fetch_thumbnail(&item, cache).await {
            Ok(_) => made += 1,
            Err(e) => {
                tracing::debug!("no thumbnail for library item {}: {}", item.id, e.message);
                skip.insert(item.id);
            }
        }
    }
    made
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
/// files is announced once, not file by file, with the links of what the user handed
/// over in the window (dropped, picked, pasted, or given at launch) for the clipboard.
#[derive(Debug, Default)]
pub struct Tally {
    pub uploaded: u32,
    pub failed: u32,
    links: Vec<Link>,
    first: Option<Instant>,
    last: Option<Instant>,
}

/// One uploaded file's link, formatted when the batch is copied.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The destination it went to (its after-batch actions apply).
    pub account: String,
    pub name: String,
    pub url: String,
    pub mime: Option<String>,
}

/// A finished batch: the notification text and the links to copy.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub text: String,
    pub links: Vec<Link>,
}

/// Origins of jobs the user started in the window (watch folders and the CLI excluded:
/// their uploads must not take over the clipboard in the background).
const WINDOW_ORIGINS: [&str; 4] = ["drop", "pick", "paste", "args"];

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
            Event::JobSucceeded { job } => {
                self.uploaded += 1;
                if WINDOW_ORIGINS.contains(&job.origin.as_str()) {
                    for m in &job.media {
                        if let Some(url) = &m.url {
                            self.links.push(Link {
                                account: job.account.clone(),
                                name: m.name.clone(),
                                url: url.clone(),
                                mime: Some(m.mime_type.clone()).filter(|s| !s.is_empty()),
                            });
                        }
                    }
                }
            }
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
        self.due_batch(now, busy).map(|b| b.text)
    }

    /// Like [`Self::due`], with the batch's links.
    pub fn due_batch(&mut self, now: Instant, busy: bool) -> Option<Batch> {
        let (first, last) = (self.first?, self.last?);
        let quiet = now.duration_since(last) >= Self::QUIET;
        let long = now.duration_since(first) >= Self::LONGEST;
        if !((quiet && !busy) || long) {
            return None;
        }
        let batch = Batch {
            text: summary(self.uploaded, self.failed),
            links: std::mem::take(&mut self.links),
        };
        *self = Tally::default();
        Some(batch)
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
    // Never every open job: a big drop leaves 200,000 of them (bench/desktop-drop).
    engine.queue_busy().unwrap_or(false)
}

/// Follow finished jobs in batches: when a batch is over, copy the links of what the user
/// handed over in the window (if `copy_after_upload`, in the copy format) and post one
/// notification ("23 uploaded, 1 failed · 23 links copied") while the window is not in
/// front — the window's own live region covers the rest. Without the notification plugin
/// (the tests' mock runtime) only the clipboard part runs.
pub fn start_batches<R: Runtime>(app: AppHandle<R>, engine: Arc<Engine>, stop: CancellationToken) {
    let mut rx = engine.subscribe();
    tauri::async_runtime::spawn(async move {
        let mut tally = Tally::default();
        let mut check = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                r = rx.recv() => match r {
                    Ok(ev) => tally.record(&ev, Instant::now()),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = check.tick(), if !tally.is_empty() => {
                    let busy = queue_busy(&engine);
                    if let Some(batch) = tally.due_batch(Instant::now(), busy) {
                        finish_batch(&app, &engine, batch);
                    }
                }
            }
        }
    });
}

/// What a finished batch does besides its notification: the clipboard gets a QR code of
/// the links of destinations with `after_batch = "qr"` if there are any (an image; it
/// replaces the copied links, which the clipboard could not hold beside it), else the
/// links if `copy_after_upload`; links of destinations with `open` are opened (at most
/// [`after_batch::OPEN_MAX`]); `after_command`s run with their destination's links.
#[derive(Debug, Default, PartialEq)]
pub struct Steps {
    /// The QR code's links and how many of them fit in it.
    pub qr: Option<(Vec<String>, usize)>,
    pub open: Vec<String>,
    /// (account, command, links).
    pub commands: Vec<(String, String, Vec<String>)>,
}

impl Steps {
    pub fn of(cfg: &ferry_core::config::Config, batch: &Batch) -> Steps {
        let links: Vec<(String, String)> = batch
            .links
            .iter()
            .map(|l| (l.account.clone(), l.url.clone()))
            .collect();
        let mut steps = Steps::default();
        let mut qr = Vec::new();
        for plan in after_batch::plans(cfg, &links) {
            if plan.qr {
                qr.extend(plan.links.iter().cloned());
            }
            if plan.open {
                steps.open.extend(plan.links.iter().cloned());
            }
            if let Some(cmd) = plan.command {
                steps.commands.push((plan.account, cmd, plan.links));
            }
        }
        steps.open.truncate(after_batch::OPEN_MAX);
        if !qr.is_empty() {
            let fit = after_batch::qr_rgba(&qr).map(|(_, _, _, n)| n).unwrap_or(0);
            steps.qr = Some((qr, fit));
        }
        steps
    }
}

fn finish_batch<R: Runtime>(app: &AppHandle<R>, engine: &Engine, batch: Batch) {
    let cfg = engine.config();
    let settings = cfg.settings.clone();
    let steps = Steps::of(&cfg, &batch);
    let mut text = batch.text.clone();
    let mut copied_qr = false;
    if let Some((links, _)) = &steps.qr {
        match after_batch::qr_rgba(links) {
            Ok((rgba, w, h, n)) => {
                let image = tauri::image::Image::new_owned(rgba, w, h);
                match app.clipboard().write_image(&image) {
                    Ok(()) => {
                        copied_qr = true;
                        text.push_str(&format!(
                            " · QR code of {n} link{} copied",
                            if n == 1 { "" } else { "s" }
                        ));
                    }
                    Err(e) => tracing::warn!("could not copy the batch's QR code: {e}"),
                }
            }
            Err(e) => tracing::warn!("no QR code for the batch: {}", e.message),
        }
    }
    for url in &steps.open {
        // Only web links and the local library's files: a provider's answer must not
        // make the app launch another scheme's handler.
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("https://")
            || lower.starts_with("http://")
            || lower.starts_with("file://"))
        {
            tracing::warn!("not opening a link that is not http(s) or a local file");
            continue;
        }
        if let Err(e) = app.opener().open_url(url, None::<&str>) {
            tracing::warn!("could not open a link after the batch: {e}");
        }
    }
    for (account, cmd, links) in steps.commands {
        // Off the batch loop: a command may take its time (at most a minute is waited).
        std::thread::spawn(
            move || match after_batch::run_command(&cmd, &account, &links, false) {
                Ok(ran) => tracing::info!("after_command of {account}: {ran:?}"),
                Err(e) => tracing::warn!("after_command of {account}: {}", e.message),
            },
        );
    }
    if settings.copy_after_upload && !copied_qr && !batch.links.is_empty() {
        let links: Vec<String> = batch
            .links
            .iter()
            .map(|l| format_link(settings.copy_format, &l.name, &l.url, l.mime.as_deref()))
            .collect();
        match app.clipboard().write_text(links.join("\n")) {
            Ok(()) => {
                let n = links.len();
                text.push_str(&format!(
                    " · {n} link{} copied",
                    if n == 1 { "" } else { "s" }
                ));
                tracing::info!("copied {n} link(s) after the batch");
            }
            Err(e) => tracing::warn!("could not copy the batch's links: {e}"),
        }
    }
    let in_front = app
        .get_webview_window(crate::desktop::MAIN)
        .is_some_and(|w| w.is_focused().unwrap_or(false) && w.is_visible().unwrap_or(false));
    if !in_front {
        if let Some(n) = app.try_state::<tauri_plugin_notification::Notification<R>>() {
            if let Err(e) = n.builder().title("Ferry").body(&text).show() {
                tracing::debug!("notification not shown: {e}");
            }
        }
    }
}
