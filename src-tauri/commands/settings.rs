//! Settings: concurrency, the default destination, the copy format, start minimised,
//! close to tray, the most files one drop adds, and the bandwidth limits (which hold at
//! once, while uploads run; concurrency changes apply from the next start of the app);
//! and the proxy, saved apart because its password goes to the keychain (it applies to
//! the next request).

use ferry_core::net::{PasswordInput, ProxyView};
use ferry_core::secrets::Secret;
use ferry_core::Code;
use tauri::State;

use crate::commands::blocking;
use crate::error::{CmdResult, CommandError};
use crate::input;
use crate::ipc::Settings;
use crate::state::AppState;

/// "Slow down" (`on`) or "Full speed": the queue header's button and the tray's items.
/// Saved, and held at once; answers with what holds now.
#[tauri::command]
pub fn bandwidth_slow_down(
    state: State<'_, AppState>,
    on: bool,
) -> CmdResult<ferry_core::queue::bandwidth::BandwidthNow> {
    state.engine.update_settings(|s| s.slow_down = on)?;
    Ok(state.engine.bandwidth())
}

#[tauri::command]
pub fn settings_get(state: State<'_, AppState>) -> CmdResult<Settings> {
    Ok(Settings::from(&state.engine.config().settings))
}

/// Check and save every field; answers with what is now saved. Taken as JSON so a
/// malformed field is a `{code, message}` like any other refusal.
#[tauri::command]
pub fn settings_set(
    state: State<'_, AppState>,
    settings: serde_json::Value,
) -> CmdResult<Settings> {
    let settings: Settings = serde_json::from_value(settings)
        .map_err(|e| CommandError::input(Code::InputInvalid, format!("settings: {e}")))?;
    let concurrency = input::concurrency("concurrency", settings.concurrency)?;
    let per_account = input::concurrency("perAccount", settings.per_account)?;
    let drop_limit = input::drop_limit(settings.drop_limit)?;
    if !state
        .engine
        .config()
        .accounts
        .contains_key(&settings.default_account)
    {
        return Err(CommandError::input(
            Code::ConfigUnknownAccount,
            format!("no account named `{}`", settings.default_account),
        ));
    }
    state.engine.update_settings(|s| {
        s.concurrency = concurrency;
        s.per_account = per_account;
        s.default_account = settings.default_account;
        s.copy_format = settings.copy_format;
        s.copy_after_upload = settings.copy_after_upload;
        s.start_minimised = settings.start_minimised;
        s.close_to_tray = settings.close_to_tray;
        s.drop_limit = drop_limit;
        s.keep_awake = settings.keep_awake;
        s.pause_on_metered = settings.pause_on_metered;
        s.pause_on_battery = settings.pause_on_battery;
        if let Some(b) = settings.bwlimit {
            s.bwlimit = b.trim().to_string();
        }
        if let Some(b) = settings.slow_bwlimit {
            s.slow_bwlimit = b.trim().to_string();
        }
        if let Some(on) = settings.slow_down {
            s.slow_down = on;
        }
    })?;
    Ok(Settings::from(&state.engine.config().settings))
}

/// The proxy settings: mode or URL, user, and where the password is (`keychain`,
/// `env:VAR`, `none`) — never the password itself.
#[tauri::command]
pub async fn proxy_get(state: State<'_, AppState>) -> CmdResult<ProxyView> {
    let engine = state.engine.clone();
    // Reads the keychain (whether a password is saved): off the main thread.
    blocking(move || Ok(engine.proxy())).await
}

/// Save the proxy settings. `password`, when not empty, goes to the OS keychain and is
/// never sent back; `clearPassword` removes the saved one; otherwise it is kept. Applies
/// to the next request, without a restart.
#[tauri::command]
pub async fn proxy_set(
    state: State<'_, AppState>,
    proxy: String,
    user: Option<String>,
    password: Option<String>,
    clear_password: bool,
) -> CmdResult<ProxyView> {
    let engine = state.engine.clone();
    let password = match password.filter(|p| !p.is_empty()) {
        Some(p) => PasswordInput::Value(Secret::new(p)),
        None if clear_password => PasswordInput::Clear,
        None => PasswordInput::Keep,
    };
    blocking(move || Ok(engine.proxy_set(&proxy, user.as_deref(), password)?)).await
}
