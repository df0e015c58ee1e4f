//! Files the desktop hands Ferry: launch arguments (`ferry-app a.jpg`), a file manager's
//! "Open with Ferry" (the desktop entry's `Exec=ferry-app %F`), `file://` URIs from
//! launchers that pass URIs, and a second launch passing its arguments to the running
//! instance (single instance). They are queued for the default destination, and a note of
//! what was queued (or why not) is kept for the window.
//!
//! A note rather than only an event: at the first launch the files are queued while the
//! page is still loading, before anything listens. The UI takes the notes when it starts
//! and again whenever the [`EVENT`] event says there is a new one, so none is lost and
//! none is shown twice.

use std::path::Path;

use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::ipc::Opened;
use crate::state::AppState;

/// Emitted (no payload) after a note was kept: the UI then calls `app_opened_take`.
pub const EVENT: &str = "opened";

/// How many names a note quotes; the count covers the rest.
const NAMES: usize = 5;

/// Queue what a launch handed over and keep a note for the window. Blocking (a folder
/// argument is walked and sniffed): call it off the main thread. Returns the note, or
/// `None` when the launch named no file at all (a plain start, `--autostart`).
pub fn queue<R: Runtime>(app: &AppHandle<R>, argv: &[String], cwd: &Path) -> Option<Opened> {
    let (paths, skipped) = crate::input::file_args(argv, cwd);
    if paths.is_empty() && skipped.is_empty() {
        return None;
    }
    let state = app.state::<AppState>();
    let engine = state.engine.clone();
    let account = engine.default_account();
    let names = paths
        .iter()
        .take(NAMES)
        .map(|p| {
            Path::new(p)
                .file_name()
                .map_or_else(|| p.clone(), |n| n.to_string_lossy().into_owned())
        })
        .collect();
    let res = if paths.is_empty() {
        Ok(Vec::new())
    } else {
        crate::input::checked_paths(&paths).and_then(|files| {
            crate::input::enqueue_dropped(&engine, &files, std::slice::from_ref(&account), "args")
        })
    };
    let (jobs, error) = match res {
        Ok(ids) => {
            tracing::info!("queued {} file(s) handed over by the desktop", ids.len());
            (ids, None)
        }
        Err(e) => {
            tracing::warn!("could not queue the files handed over by the desktop: {e}");
            (Vec::new(), Some(e))
        }
    };
    let note = Opened {
        account,
        jobs,
        given: paths.len(),
        names,
        skipped,
        error,
    };
    state.opened.lock().expect("opened lock").push(note.clone());
    // Nobody may listen yet (the page is loading): the note waits in the state.
    let _ = app.emit(EVENT, ());
    Some(note)
}

/// The argument list a launch with these URLs would have had: macOS hands files dropped
/// on the Dock icon or sent with Open With as `file://` URLs in an event, not as
/// arguments. The first element stands for the executable, as in `std::env::args`.
pub fn argv_from_urls(urls: &[url::Url]) -> Vec<String> {
    std::iter::once("ferry-app".to_string())
        .chain(urls.iter().map(|u| u.to_string()))
        .collect()
}

/// The notes not shown yet, oldest first; taking them empties the list.
pub fn take<R: Runtime>(app: &AppHandle<R>) -> Vec<Opened> {
    std::mem::take(&mut *app.state::<AppState>().opened.lock().expect("opened lock"))
}
