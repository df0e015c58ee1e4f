//! The library: what Ferry has sent (with thumbnails from the cache), the destination's
//! own remote library, refresh and delete, and the desktop actions on an item — copy its
//! link, open it in the browser, show its local file.

use ferry_core::library::{Filter, LibraryItem, LibraryPage};
use ferry_core::links::OpenTarget;
use ferry_core::{Code, RemoteMedia};
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_clipboard_manager::ClipboardExt;
use tauri_plugin_opener::OpenerExt;

use crate::commands::blocking;
use crate::error::{CmdResult, CommandError};
use crate::input;
use crate::ipc::LibraryFilter;
use crate::state::AppState;

/// One page, newest first, with the number of items the filter matches in all.
#[tauri::command]
pub async fn library_list(
    state: State<'_, AppState>,
    filter: Option<LibraryFilter>,
) -> CmdResult<LibraryPage> {
    let f = filter.unwrap_or_default();
    let filter = Filter {
        account: f.account.filter(|a| !a.is_empty()),
        status: match f.status.as_deref() {
            None | Some("") => None,
            Some(s) => Some(input::item_status(s)?),
        },
        search: f.search.filter(|s| !s.trim().is_empty()),
        limit: f.limit,
        before: f.before,
    };
    let engine = state.engine.clone();
    blocking(move || Ok(engine.library_page(&filter)?)).await
}

/// The destination's own library, where its API lists one.
#[tauri::command]
pub async fn library_remote(
    state: State<'_, AppState>,
    account: String,
) -> CmdResult<Vec<RemoteMedia>> {
    Ok(state.engine.list_remote(&account).await?)
}

/// Poll items still processing and mark expired ones; null = every account.
#[tauri::command]
pub async fn library_refresh(
    state: State<'_, AppState>,
    account: Option<String>,
) -> CmdResult<usize> {
    if let Some(a) = &account {
        state.engine.config().account(a)?;
    }
    Ok(state.engine.library_refresh(account.as_deref()).await?)
}

/// Delete at the destination (where its API allows) and record it.
#[tauri::command]
pub async fn library_delete(state: State<'_, AppState>, id: i64) -> CmdResult<LibraryItem> {
    Ok(state.engine.library_delete(id).await?)
}

/// The item's link in `format` (default: the copy-format setting), also put on the
/// clipboard as text.
#[tauri::command]
pub async fn library_copy<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: i64,
    format: Option<String>,
) -> CmdResult<String> {
    let format = match format.as_deref() {
        None | Some("") => state.engine.config().settings.copy_format,
        Some(f) => input::copy_format(f)?,
    };
    let item = state.engine.library_item(id)?;
    let url = link_of(&item)?;
    let text = ferry_core::links::format_link(format, &item.name, url, item.mime_type.as_deref());
    app.clipboard()
        .write_text(text.clone())
        .map_err(|e| CommandError::new("clipboard.unavailable", e.to_string()))?;
    Ok(text)
}

/// "Open": an http(s) link in the browser; the local library's own file shown in the file
/// manager, never launched; any other link (a remote API's `file://`, `javascript:`…)
/// refused. The decision is `ferry_core::links::open_target`, tested there.
#[tauri::command]
pub fn library_open<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: i64,
) -> CmdResult<()> {
    let item = state.engine.library_item(id)?;
    let opened = match ferry_core::links::open_target(&item)? {
        OpenTarget::Browser(url) => app.opener().open_url(url, None::<&str>),
        OpenTarget::Reveal(path) => app.opener().reveal_item_in_dir(&path),
    };
    opened.map_err(|e| CommandError::new("desktop.open_failed", e.to_string()))
}

/// Show the file the item was sent from (or the local library's copy) in the file manager.
#[tauri::command]
pub fn library_reveal<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: i64,
) -> CmdResult<()> {
    let item = state.engine.library_item(id)?;
    let path = ferry_core::thumbs::source_of(&item).ok_or_else(|| {
        CommandError::input(
            Code::InputNotFound,
            format!("{} has no local file on this computer", item.name),
        )
    })?;
    app.opener()
        .reveal_item_in_dir(&path)
        .map_err(|e| CommandError::new("desktop.open_failed", e.to_string()))
}

fn link_of(item: &LibraryItem) -> CmdResult<&str> {
    item.url.as_deref().ok_or_else(|| {
        CommandError::input(
            Code::InputInvalid,
            format!("{} has no link (yet): {}", item.name, item.status.as_str()),
        )
    })
}
