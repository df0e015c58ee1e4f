//! The queue: add paths (drop, dialog, launch arguments), URLs and clipboard images; list
//! jobs; pause, resume, cancel or retry one job or all; move jobs to the top and choose
//! the order waiting jobs start in. The background runner does the
//! uploading; these only write jobs to the journal and steer them.

use ferry_core::{Code, JobPage, QueueOrder, Selector};
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::commands::blocking;
use crate::error::{CmdResult, CommandError};
use crate::input;
use crate::ipc::{AddUrlsResult, InvalidLine, QueueAction, QueuePageRequest};
use crate::state::AppState;

/// Queue files and folders (folders expand to their media files, streamed and written in
/// batches, at most the `dropLimit` setting; `adding` events report the count meanwhile).
/// Every path must be absolute and exist; otherwise nothing is queued. Answers with the
/// ids of every job queued, once the whole drop is in.
#[tauri::command]
pub async fn queue_add_paths(
    state: State<'_, AppState>,
    paths: Vec<String>,
    account: String,
    origin: String,
    also: Option<Vec<String>>,
) -> CmdResult<Vec<i64>> {
    let origin = input::origin(&origin)?;
    let engine = state.engine.clone();
    let accounts = input::destinations(&account, also);
    blocking(move || {
        let paths = input::checked_paths(&paths)?;
        input::enqueue_dropped(&engine, &paths, &accounts, origin.as_str())
    })
    .await
}

/// Stop adding the drops and picks still being walked; what they queued stays queued.
#[tauri::command]
pub fn queue_add_stop(state: State<'_, AppState>) {
    state.engine.stop_adding();
}

/// One URL per non-empty line. Lines that are not importable URLs are reported with
/// their line number; the rest are queued.
#[tauri::command]
pub async fn queue_add_urls(
    state: State<'_, AppState>,
    text: String,
    account: String,
    also: Option<Vec<String>>,
) -> CmdResult<AddUrlsResult> {
    let lines = input::url_lines(&text);
    if lines.is_empty() {
        return Err(CommandError::input(
            Code::InputEmpty,
            "nothing to import: paste one URL per line",
        ));
    }
    let urls: Vec<String> = lines.iter().map(|(_, l)| l.clone()).collect();
    let engine = state.engine.clone();
    let accounts = input::destinations(&account, also);
    // A line is good or bad whatever the destination: the first destination's results
    // name the bad lines; every destination gets a job of each good line.
    let (results, more) = blocking(move || {
        let cfg = engine.config();
        for a in &accounts {
            cfg.account(a)?;
        }
        let first = engine.enqueue_urls(&urls, &accounts[0], "paste")?;
        let mut more = Vec::new();
        for a in &accounts[1..] {
            more.extend(
                engine
                    .enqueue_urls(&urls, a, "paste")?
                    .into_iter()
                    .flatten(),
            );
        }
        Ok((first, more))
    })
    .await?;
    let mut out = AddUrlsResult {
        jobs: vec![],
        invalid: vec![],
    };
    for ((line, input), res) in lines.into_iter().zip(results) {
        match res {
            Ok(id) => out.jobs.push(id),
            Err(e) => out.invalid.push(InvalidLine {
                line,
                input,
                message: e.message,
                code: e.code.as_str().to_string(),
            }),
        }
    }
    out.jobs.extend(more);
    Ok(out)
}

/// Save the image on the clipboard as a PNG under FERRY_HOME/staging (so nothing is lost
/// if the upload fails) and queue it.
#[tauri::command]
pub async fn queue_paste_image<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    account: String,
    also: Option<Vec<String>>,
) -> CmdResult<i64> {
    let accounts = input::destinations(&account, also);
    for a in &accounts {
        state.engine.config().account(a)?;
    }
    // Reading the clipboard may wait on another app; this runs on a worker thread, never
    // the main one (where arboard can deadlock on Linux).
    let image = app.clipboard().read_image().map_err(|e| {
        CommandError::new(
            "clipboard.no_image",
            format!("the clipboard holds no image: {e}"),
        )
    })?;
    let path =
        crate::staging::save_png(&state.staging, image.rgba(), image.width(), image.height())?;
    let ids = state
        .engine
        .enqueue_paths_to(&[path], &accounts, "paste", false)?;
    // The picked destination's job (the others' follow it).
    Ok(ids[0])
}

/// The files copied to the system clipboard (in Finder, Explorer or a file manager), as
/// absolute paths; empty when it holds none. Read here rather than by the page: WebView2
/// and WKWebView may not expose the copied files to it at all, and on Windows its
/// `file:///C:/x.png` would lose the drive letter.
#[tauri::command]
pub async fn clipboard_files() -> CmdResult<Vec<String>> {
    // A worker thread: reading the clipboard may wait on the app that owns it.
    blocking(|| {
        let unavailable = |e: arboard::Error| {
            CommandError::new(
                "clipboard.unavailable",
                format!("could not read the clipboard: {e}"),
            )
        };
        let mut clipboard = arboard::Clipboard::new().map_err(unavailable)?;
        match clipboard.get().file_list() {
            Ok(files) => Ok(files
                .into_iter()
                .filter(|p| p.is_absolute())
                .map(|p| p.to_string_lossy().into_owned())
                .collect()),
            // Text, an image, or nothing: not a file list.
            Err(arboard::Error::ContentNotAvailable) => Ok(Vec::new()),
            Err(e) => Err(unavailable(e)),
        }
    })
    .await
}

/// One page of the queue — open jobs, then finished ones, newest first in each — with
/// the counts of all of it. Never every job: a home may hold 100,000.
#[tauri::command]
pub async fn queue_list(
    state: State<'_, AppState>,
    page: Option<QueuePageRequest>,
) -> CmdResult<JobPage> {
    let page = page.unwrap_or_default();
    let limit = page
        .limit
        .unwrap_or(QueuePageRequest::DEFAULT)
        .min(QueuePageRequest::MAX);
    let engine = state.engine.clone();
    blocking(move || Ok(engine.jobs_page(limit, page.cursor)?)).await
}

/// `id` null means every job the action applies to. Returns how many jobs changed.
#[tauri::command]
pub async fn queue_control(
    state: State<'_, AppState>,
    action: String,
    id: Option<i64>,
) -> CmdResult<usize> {
    let sel = id.map_or(Selector::All, Selector::One);
    let e = &state.engine;
    Ok(match input::queue_action(&action)? {
        QueueAction::Pause => e.pause(sel)?,
        QueueAction::Resume => e.resume(sel)?,
        QueueAction::Retry => e.retry(sel)?,
        QueueAction::Cancel => e.cancel(sel).await?,
    })
}

/// Make these jobs the next to start, the first given first. Returns how many moved
/// (running and finished jobs stay as they are); an unknown id: `queue.not_found`.
#[tauri::command]
pub async fn queue_move_to_top(state: State<'_, AppState>, ids: Vec<i64>) -> CmdResult<usize> {
    if ids.is_empty() {
        return Err(CommandError::input(
            Code::InputEmpty,
            "no jobs to move: give at least one job id",
        ));
    }
    let engine = state.engine.clone();
    blocking(move || Ok(engine.move_to_top(&ids)?)).await
}

/// The order waiting jobs start in.
#[tauri::command]
pub fn queue_order_get(state: State<'_, AppState>) -> QueueOrder {
    state.engine.queue_order()
}

/// Change the order waiting jobs start in (the runner follows it from its next start);
/// answers with the order now saved.
#[tauri::command]
pub fn queue_order_set(state: State<'_, AppState>, order: String) -> CmdResult<QueueOrder> {
    let order = QueueOrder::parse(&order)?;
    state.engine.set_queue_order(order)?;
    Ok(state.engine.queue_order())
}
