//! About the app itself, and the destination kinds it knows.

use tauri::{AppHandle, Manager, Runtime};

use crate::error::CmdResult;
use crate::ipc::{AppInfo, ProviderInfo, RunnerInfo};
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
            }),
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
