//! About the app itself (version, home, tray, who runs the queue, start at login, files
//! the desktop handed over), and the destination kinds it knows.

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_autostart::ManagerExt;

use crate::error::{CmdResult, CommandError};
use crate::ipc::{AppInfo, DiagnosticsSaved, Opened, ProviderInfo, RunnerInfo};
use crate::state::AppState;

/// Async and on the blocking pool: whether a tray host is there is a D-Bus question,
/// and the UI asks at start-up, when the main thread has better things to do.
#[tauri::command]
pub async fn app_info<R: Runtime>(app: AppHandle<R>) -> CmdResult<AppInfo> {
    crate::commands::blocking(move || {
        let state = app.state::<AppState>();
        let cfg = state.engine.config();
        Ok(AppInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            default_account: cfg.settings.default_account.clone(),
            accounts: cfg.accounts.len(),
            home: state.engine.home().data_dir.display().to_string(),
            tray: crate::desktop::tray_usable(&app),
            runner: state.engine.runner().map(|h| RunnerInfo {
                this_app: h.pid == std::process::id() && state.engine.owns_home(),
                program: h.program,
                pid: h.pid,
                problem: h.problem,
                hold: h.hold,
            }),
            bandwidth: state.engine.bandwidth(),
        })
    })
    .await
}

/// Write the diagnostics zip to `path` (absolute; the UI asks for it with a save
/// dialog): versions, settings, accounts without secrets, logs, the last jobs, watch
/// rules and checks, every link's query and every secret removed (ferry_core::diagnostics).
#[tauri::command]
pub async fn diagnostics_save(
    state: tauri::State<'_, AppState>,
    path: String,
) -> CmdResult<DiagnosticsSaved> {
    let out = std::path::PathBuf::from(&path);
    if path.trim().is_empty() || !out.is_absolute() {
        return Err(CommandError::input(
            ferry_core::Code::InputInvalid,
            format!("`{path}` is not an absolute path; choose where to save the diagnostics"),
        ));
    }
    let engine = state.engine.clone();
    crate::commands::blocking(move || {
        let r = engine.diagnostics(&out)?;
        Ok(DiagnosticsSaved {
            path: r.path.display().to_string(),
            entries: r.entries,
            bytes: r.bytes,
        })
    })
    .await
}

/// Every destination kind with its option table, limits and features: the account form
/// is generated from this.
#[tauri::command]
pub fn providers_list() -> CmdResult<Vec<ProviderInfo>> {
    Ok(ferry_core::Kind::ALL
        .into_iter()
        .map(ProviderInfo::of)
        .collect())
}

/// Notes of files the desktop handed over (Open with, launch arguments) not shown yet;
/// taking them empties the list (see `opened.rs`).
#[tauri::command]
pub fn app_opened_take<R: Runtime>(app: AppHandle<R>) -> CmdResult<Vec<Opened>> {
    Ok(crate::opened::take(&app))
}

/// Whether Ferry starts at login. The login item itself (XDG autostart entry, LaunchAgent,
/// Run key) is the only record: a person who removes it in the desktop's own settings
/// sees the switch off here, with no copy in config.toml to disagree.
#[tauri::command]
pub fn autostart_get<R: Runtime>(app: AppHandle<R>) -> CmdResult<bool> {
    app.autolaunch().is_enabled().map_err(autostart_error)
}

/// Turn start at login on or off; answers with the state read back from the system.
#[tauri::command]
pub fn autostart_set<R: Runtime>(app: AppHandle<R>, enabled: bool) -> CmdResult<bool> {
    let launcher = app.autolaunch();
    if enabled {
        launcher.enable()
    } else {
        launcher.disable()
    }
    .map_err(autostart_error)?;
    launcher.is_enabled().map_err(autostart_error)
}

fn autostart_error(e: tauri_plugin_autostart::Error) -> CommandError {
    CommandError::new("desktop.autostart", format!("start at login: {e}"))
}
