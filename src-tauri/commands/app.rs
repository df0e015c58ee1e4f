//! About the app itself, and the destination kinds it knows.

use tauri::{AppHandle, Runtime, State};

use crate::error::CmdResult;
use crate::ipc::{AppInfo, ProviderInfo};
use crate::state::AppState;

#[tauri::command]
pub fn app_info<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> CmdResult<AppInfo> {
    let cfg = state.engine.config();
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        default_account: cfg.settings.default_account.clone(),
        accounts: cfg.accounts.len(),
        home: state.engine.home().data_dir.display().to_string(),
        tray: crate::desktop::tray_usable(&app),
    })
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
