//! The Ferry desktop shell: the only Rust code that may `use tauri`. It holds one
//! `ferry_core::Engine` in Tauri state, exposes thin commands over it (docs/ipc.md),
//! runs the queue in the background and streams its events to the UI. Behaviour lives
//! in ferry-core; file bytes never cross IPC (the UI hands over paths and URLs), and no
//! secret ever goes back to the page.

pub mod background;
pub mod bindings;
pub mod commands;
pub mod desktop;
pub mod error;
pub mod events;
pub mod input;
pub mod instance;
pub mod ipc;
pub mod opened;
pub mod staging;
pub mod startup;
pub mod state;

use std::time::Duration;

use tauri::{AppHandle, Manager, Runtime};

pub use error::CommandError;
pub use state::AppState;

/// How long the app waits at exit for running jobs to stop and be journaled: the
/// queue's own shutdown grace (3 s for in-flight requests) plus writing the outcomes.
/// Quitting is never held up longer; what did not finish resumes at the next start.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// Add Ferry's state, plugins, commands and background work to a builder of any runtime
/// (the real one, or `tauri::test::mock_builder()` in tests). The queue runner, the
/// watch rules and the thumbnailer start when the app is built.
pub fn setup<R: Runtime>(
    builder: tauri::Builder<R>,
    engine: ferry_core::Engine,
) -> tauri::Builder<R> {
    builder
        .manage(AppState::new(engine))
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(autostart_plugin())
        .plugin(background_plugin())
        .invoke_handler(tauri::generate_handler![
            commands::app::app_info,
            commands::app::providers_list,
            commands::app::app_opened_take,
            commands::app::autostart_get,
            commands::app::autostart_set,
            commands::app::diagnostics_save,
            commands::accounts::accounts_list,
            commands::accounts::account_add,
            commands::accounts::account_remove,
            commands::accounts::account_name_preview,
            commands::accounts::account_test,
            commands::accounts::account_set_default,
            commands::queue::queue_add_paths,
            commands::queue::queue_add_stop,
            commands::queue::queue_add_urls,
            commands::queue::queue_paste_image,
            commands::queue::clipboard_files,
            commands::queue::queue_list,
            commands::queue::queue_control,
            commands::queue::queue_move_to_top,
            commands::queue::queue_order_get,
            commands::queue::queue_order_set,
            commands::events::events_subscribe,
            commands::library::library_list,
            commands::library::library_remote,
            commands::library::library_refresh,
            commands::library::library_delete,
            commands::library::library_copy,
            commands::library::library_open,
            commands::library::library_reveal,
            commands::settings::settings_get,
            commands::settings::settings_set,
            commands::settings::bandwidth_slow_down,
            commands::watch::watch_list,
            commands::watch::watch_add,
            commands::watch::watch_pause,
            commands::watch::watch_resume,
            commands::watch::watch_remove,
        ])
}

/// The name of the login item (`Ferry.desktop` in the XDG autostart folder, the
/// LaunchAgent's label, the Run key's value), the same in tests and in the app.
pub const AUTOSTART_NAME: &str = "Ferry";

/// The flag a start at login passes: logged, and otherwise ignored (file arguments skip
/// flags). The window then follows "start minimised" as at any start: hidden only when a
/// tray icon shows, or Ferry would be running with nothing on screen.
pub const AUTOSTART_ARG: &str = "--autostart";

/// Start at login through tauri-plugin-autostart. Its own IPC commands are not granted to
/// the page (capabilities/): the UI goes through `autostart_get`/`autostart_set`.
/// On Linux the plugin (auto-launch 0.6) writes `$HOME/.config/autostart/Ferry.desktop`
/// with `Exec=<this executable> --autostart`; it does not read XDG_CONFIG_HOME.
fn autostart_plugin<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri_plugin_autostart::Builder::new()
        .app_name(AUTOSTART_NAME)
        .args([AUTOSTART_ARG])
        // macOS: the builder's default launcher, a LaunchAgent (~/Library/LaunchAgents),
        // which needs no AppleScript permission prompt. (`macos_launcher` exists only
        // when compiling for macOS.)
        .build()
}

/// The background work as a plugin: plugins are set up when the app is built (the app's
/// own `setup` hook waits for the event loop, which the mock runtime of the tests never
/// runs), so the queue runs the same way in tests and in the real app.
fn background_plugin<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri::plugin::Builder::new("ferry-background")
        .setup(|app, _api| {
            let state = app.state::<AppState>();
            std::fs::create_dir_all(&state.thumbs)?;
            // The asset protocol serves this one folder and nothing else.
            app.asset_protocol_scope()
                .allow_directory(&state.thumbs, false)?;
            let runner = background::start_runner(state.engine.clone(), state.stop.clone());
            *state.runner.lock().expect("runner lock") = Some(runner);
            background::start_thumbnailer(
                state.engine.clone(),
                state.thumbs.clone(),
                state.shell_events.clone(),
                state.stop.clone(),
            );
            background::start_batches(app.clone(), state.engine.clone(), state.stop.clone());
            background::start_refresher(state.engine.clone(), state.stop.clone());
            let (engine, staging) = (state.engine.clone(), state.staging.clone());
            tauri::async_runtime::spawn_blocking(move || {
                // Every job is read only when there is a pasted image to judge: a big
                // home's 100,000 jobs would hold the database while the window starts.
                let any = std::fs::read_dir(&staging).is_ok_and(|d| {
                    d.flatten()
                        .any(|e| e.file_name().to_string_lossy().starts_with("pasted-"))
                });
                if !any {
                    return;
                }
                let jobs = engine.jobs(false).unwrap_or_default();
                let gone = staging::prune(
                    &staging,
                    &jobs,
                    std::time::SystemTime::now(),
                    staging::KEEP_AFTER_UPLOAD,
                );
                if !gone.is_empty() {
                    tracing::info!("staging: removed {} uploaded image(s)", gone.len());
                }
            });
            Ok(())
        })
        .build()
}

/// Stop the background work and give running jobs a moment to be journaled (they resume
/// at the next start).
pub fn shutdown<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    state.stop.cancel();
    let runner = state.runner.lock().expect("runner lock").take();
    if let Some(runner) = runner {
        let stopped = tauri::async_runtime::block_on(async {
            tokio::time::timeout(EXIT_GRACE, runner).await.is_ok()
        });
        // Nothing runs here any more: let the next Ferry (a relaunch, a terminal) take
        // the home now rather than when this process is gone.
        if stopped {
            state.engine.release_home();
        }
    }
}

pub fn run() {
    startup::mark_start();
    cpu_rendering();
    let home = ferry_core::config::Home::from_env();
    let log = startup::logging(home.as_ref().ok());
    let fail = |e: ferry_core::Error| -> ! {
        startup::fail(
            log.as_ref(),
            &format!("{} [{}]", e.message, e.code.as_str()),
        )
    };
    let home = home.unwrap_or_else(|e| fail(e));
    // One app per home, before anything opens the records: a later launch hands over its
    // files and exits here.
    let request = instance::Request {
        argv: std::env::args().collect(),
        cwd: std::env::current_dir().unwrap_or_default(),
    };
    let instance = match instance::claim(&home.data_dir, &request) {
        Ok(instance::Claim::First(i)) => i,
        Ok(instance::Claim::HandedOver) => {
            tracing::info!("handed the launch over to the Ferry already running");
            return;
        }
        Err(e) => startup::fail(log.as_ref(), &e.to_string()),
    };
    startup::milestone("home claimed");
    let engine = ferry_core::Engine::open(home).unwrap_or_else(|e| fail(e));
    startup::milestone("engine open");
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .on_page_load(|_, payload| {
            startup::milestone(&format!("page load {:?}", payload.event()));
        });
    let app = setup(builder, engine)
        .plugin(desktop::plugin(instance))
        .build(tauri::generate_context!());
    startup::milestone("app built");
    match app {
        Ok(app) => app.run(|_, event| {
            if let tauri::RunEvent::Ready = event {
                startup::milestone("event loop ready");
            }
        }),
        // No window could be made (on Windows: no WebView2 runtime).
        Err(e) => startup::fail(log.as_ref(), &startup::window_failed(&e)),
    }
}

/// Draw the page on the CPU (WebKitGTK's non-composited mode) unless `FERRY_GPU=1`.
/// Ferry shows lists and progress bars: GPU compositing buys nothing visible here, costs
/// about 90 MiB in the web process (bench/desktop), and is where WebKitGTK's blank-window
/// driver bugs live. Must run before the first webview (and its processes) start, which
/// inherit the variable; a value the user set is kept.
fn cpu_rendering() {
    #[cfg(target_os = "linux")]
    {
        const VAR: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
        let gpu = std::env::var("FERRY_GPU").is_ok_and(|v| v == "1");
        if !gpu && std::env::var_os(VAR).is_none() {
            // Still single-threaded: nothing else reads the environment yet.
            std::env::set_var(VAR, "1");
        }
    }
}
