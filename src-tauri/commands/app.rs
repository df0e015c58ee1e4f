//! About the app itself.

use serde::Serialize;

use crate::error::CommandError;
use crate::state::AppState;

/// What the UI shows in its header and about box.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: String,
    pub default_account: String,
    pub accounts: usize,
}

#[tauri::command]
pub fn app_info(state: tauri::State<'_, AppState>) -> Result<AppInfo, CommandError> {
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        default_account: state.engine.default_account(),
        accounts: state.engine.accounts().len(),
    })
}
