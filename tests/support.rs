//! A Ferry app on Tauri's mock runtime with a temp FERRY_HOME and an in-memory secret
//! store, and helpers to invoke commands the way the web UI does.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ferry_core::config::Home;
use ferry_core::secrets::{MemoryStore, SecretStore};
use serde_json::{json, Value};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

pub struct TestApp {
    pub app: App<MockRuntime>,
    pub webview: WebviewWindow<MockRuntime>,
    pub secrets: Arc<MemoryStore>,
    pub home: tempfile::TempDir,
}

impl TestApp {
    /// An app whose batches do not copy links: tests run side by side and share one X
    /// clipboard, so only the test of that feature (holding `clipboard_turn`) turns it on.
    pub fn new() -> Self {
        Self::build(Some(false))
    }

    /// An app with the settings of a fresh install (links copied after a batch).
    pub fn with_defaults() -> Self {
        Self::build(None)
    }

    /// An app whose engine asks the D-Bus system bus at `address` (stand-in
    /// NetworkManager, UPower, logind: `ferry_fakes::sysbus`).
    #[cfg(target_os = "linux")]
    pub fn on_system_bus(address: &str) -> Self {
        Self::build_with(Some(false), Some(address.to_string()))
    }

    fn build(copy_after_upload: Option<bool>) -> Self {
        Self::build_with(copy_after_upload, None)
    }

    fn build_with(copy_after_upload: Option<bool>, bus: Option<String>) -> Self {
        static LOG: std::sync::Once = std::sync::Once::new();
        LOG.call_once(|| {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
                        .unwrap_or_else(|_| "warn".into()),
                )
                .with_test_writer()
                .try_init();
        });
        // The fakes serve remote images from 127.0.0.1, which background thumbnail fetches
        // refuse outside tests.
        ferry_core::public_net::allow_any_address_for_tests();
        let secrets = Arc::new(MemoryStore::default());
        Self::build_in(
            tempfile::tempdir().unwrap(),
            copy_after_upload,
            secrets,
            bus,
        )
    }

    /// An app on a FERRY_HOME prepared beforehand (say, one another process runs).
    pub fn in_home(home: tempfile::TempDir) -> Self {
        Self::build_in(home, Some(false), Arc::new(MemoryStore::default()), None)
    }

    fn build_in(
        home: tempfile::TempDir,
        copy_after_upload: Option<bool>,
        secrets: Arc<MemoryStore>,
        bus: Option<String>,
    ) -> Self {
        let engine = ferry_core::Engine::with_secret_store(Home::at(home.path()), secrets.clone())
            .expect("engine");
        if bus.is_some() {
            engine.use_system_bus(bus);
        }
        if let Some(copy) = copy_after_upload {
            engine
                .update_settings(|s| s.copy_after_upload = copy)
                .expect("settings");
        }
        let app = ferry_app::setup(mock_builder(), engine)
            .build(mock_context(noop_assets()))
            .expect("app");
        let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
        TestApp {
            app,
            webview,
            secrets,
            home,
        }
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Quit this app and start a new one on the same FERRY_HOME, as a person relaunching
    /// Ferry does.
    pub fn reopen(self) -> Self {
        let TestApp {
            app,
            webview,
            secrets,
            home,
        } = self;
        drop(webview);
        drop(app);
        Self::build_in(home, None, secrets, None)
    }

    /// Invoke a command with JSON arguments (camelCase, as `invoke()` sends them).
    pub fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let res = tauri::test::get_ipc_response(
            &self.webview,
            tauri::webview::InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: tauri::ipc::InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: tauri::test::INVOKE_KEY.to_string(),
            },
        );
        res.map(|body| body.deserialize::<Value>().unwrap())
    }

    /// A command that must succeed.
    #[track_caller]
    pub fn ok(&self, cmd: &str, args: Value) -> Value {
        match self.invoke(cmd, args) {
            Ok(v) => v,
            Err(e) => panic!("{cmd} failed: {e}"),
        }
    }

    /// A command that must fail with exactly `{code, message}`; returns both.
    #[track_caller]
    pub fn err(&self, cmd: &str, args: Value) -> (String, String) {
        match self.invoke(cmd, args) {
            Ok(v) => panic!("{cmd} succeeded with {v}, expected an error"),
            Err(e) => command_error(&e),
        }
    }

    /// Every job (the tests' homes hold a few), oldest first: `queue_list`'s pages put
    /// open jobs before finished ones, which would reorder a test's jobs as they finish.
    pub fn jobs(&self) -> Vec<Value> {
        let page = self.ok("queue_list", json!({ "page": { "limit": 1000 } }));
        assert!(page["next"].is_null(), "more than 1000 jobs in a test home");
        let mut jobs = page["jobs"].as_array().unwrap().clone();
        jobs.sort_by_key(|j| j["id"].as_i64());
        jobs
    }

    /// Poll the queue until `done` holds for the job list, or fail after `secs`.
    #[track_caller]
    pub fn wait_jobs(&self, secs: u64, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let jobs = self.jobs();
            if done(&jobs) {
                return jobs;
            }
            if Instant::now() > deadline {
                panic!("jobs did not reach the expected state: {jobs:#?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn secret_of(&self, account: &str) -> Option<String> {
        self.secrets
            .get(account)
            .unwrap()
            .map(|s| s.expose().to_string())
    }
}

/// The error JSON must be exactly `{code, message}` with non-empty strings.
#[track_caller]
pub fn command_error(e: &Value) -> (String, String) {
    let obj = e
        .as_object()
        .unwrap_or_else(|| panic!("error is not an object: {e}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["code", "message"], "error shape: {e}");
    let code = obj["code"].as_str().unwrap().to_string();
    let message = obj["message"].as_str().unwrap().to_string();
    assert!(!code.is_empty() && !message.is_empty(), "{e}");
    (code, message)
}

/// A small real PNG.
pub fn png(dir: &Path, name: &str, w: u32, h: u32) -> PathBuf {
    let path = dir.join(name);
    // Pixels depend on the name: two files are never the same bytes (no dedupe).
    let seed = name
        .bytes()
        .fold(0u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 3) as u8, seed])
    })
    .save(&path)
    .unwrap();
    path
}

/// The fake provider APIs, started once for the whole test binary on 127.0.0.1.
pub fn fakes() -> &'static ferry_fakes::Fakes {
    static FAKES: OnceLock<ferry_fakes::Fakes> = OnceLock::new();
    FAKES.get_or_init(|| {
        tauri::async_runtime::block_on(ferry_fakes::Fakes::start(ferry_fakes::Options::default()))
    })
}

/// The X clipboard is one per display: tests that use it take turns.
pub fn clipboard_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether a job list has every job in a final state.
pub fn all_final(jobs: &[Value]) -> bool {
    !jobs.is_empty()
        && jobs.iter().all(|j| {
            matches!(
                j["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            )
        })
}
