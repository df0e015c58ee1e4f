//! What the app keeps in Tauri state: the engine, the token that stops everything it
//! started in the background, and where thumbnails and pasted images go. No secret and
//! no UI state lives here.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use ferry_core::{Engine, Event};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub struct AppState {
    pub engine: Arc<Engine>,
    /// Cancelled when the app exits (or its state is dropped, in tests): stops the queue
    /// runner, the watchers, the thumbnailer and every event forwarder.
    pub stop: CancellationToken,
    /// FERRY_HOME/thumbs: the only folder the asset protocol serves.
    pub thumbs: PathBuf,
    /// FERRY_HOME/staging: pasted clipboard images, kept until they are uploaded.
    pub staging: PathBuf,
    /// One event forwarder per webview: a reloaded page subscribes again and the old
    /// forwarder must stop.
    pub forwarders: Mutex<HashMap<String, CancellationToken>>,
    /// Events the shell itself raises for the UI (a `libraryChanged` once thumbnails
    /// exist), merged into every forwarder with the engine's.
    pub shell_events: broadcast::Sender<Event>,
    /// The queue runner, awaited briefly at exit so running jobs are journaled.
    pub runner: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
    /// Whether the tray icon exists: without one (no status-notifier host), closing the
    /// window quits and "start minimised" shows the window, or the app would be unreachable.
    pub tray: AtomicBool,
    /// Notes of files the desktop handed over (Open with, launch arguments) that the
    /// window has not shown yet (see `opened.rs`).
    pub opened: Mutex<Vec<crate::ipc::Opened>>,
}

impl AppState {
    pub fn new(engine: Engine) -> Self {
        let data = engine.home().data_dir.clone();
        AppState {
            engine: Arc::new(engine),
            stop: CancellationToken::new(),
            thumbs: data.join("thumbs"),
            staging: data.join("staging"),
            forwarders: Mutex::new(HashMap::new()),
            shell_events: broadcast::channel(64).0,
            runner: Mutex::new(None),
            tray: AtomicBool::new(false),
            opened: Mutex::new(Vec::new()),
        }
    }
}

impl Drop for AppState {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
