//! Tauri commands, one file per area (`noun_verb` names, as docs/ipc.md lists them). Each
//! is a few lines: take state, check the input, call one engine method, map the error to
//! `{code, message}`. Behaviour belongs in ferry-core, not here. Commands that touch the
//! disk, the database or the keychain more than trivially are `async` and do it through
//! [`blocking`], never on the main (UI) thread.

use crate::error::{CmdResult, CommandError};

/// Run a command's blocking work (file system walks, SQLite, the keychain over D-Bus) on
/// the blocking pool. Tauri runs commands that are not `async` on the main thread, where
/// a big folder or a slow keychain would freeze the window.
pub async fn blocking<T, F>(f: F) -> CmdResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> CmdResult<T> + Send + 'static,
{
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| CommandError::new("internal", format!("the command stopped: {e}")))?
}

pub mod accounts;
pub mod app;
pub mod events;
pub mod library;
pub mod queue;
pub mod settings;
pub mod watch;
