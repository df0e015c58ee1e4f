//! Accounts: list, add (the secret goes straight to the OS keychain and never comes
//! back), test, remove, choose the default, preview a name template. Mutations answer
//! with the new list.

use std::collections::BTreeMap;

use ferry_core::secrets::Secret;
use ferry_core::{AccountView, Code, Engine, Kind, SecretInput};
use tauri::State;

use crate::commands::blocking;
use crate::error::{CmdResult, CommandError};
use crate::state::AppState;

#[tauri::command]
pub fn accounts_list(state: State<'_, AppState>) -> CmdResult<Vec<AccountView>> {
    Ok(state.engine.accounts())
}

/// `options` are the kind's non-secret options; empty values mean "not set" (a form's
/// blank field). `secret` is the kind's secret option, if it has one.
#[tauri::command]
pub async fn account_add(
    state: State<'_, AppState>,
    name: String,
    kind: String,
    options: BTreeMap<String, String>,
    secret: Option<String>,
) -> CmdResult<Vec<AccountView>> {
    let engine = state.engine.clone();
    blocking(move || add(&engine, &name, &kind, options, secret)).await
}

fn add(
    engine: &Engine,
    name: &str,
    kind: &str,
    options: BTreeMap<String, String>,
    secret: Option<String>,
) -> CmdResult<Vec<AccountView>> {
    let kind = Kind::parse(kind)?;
    // A program to run is set where a person types it (the CLI, config.toml), never by
    // the page: whatever runs in the webview cannot make Ferry start a program.
    if options.contains_key(ferry_core::after_batch::COMMAND_OPTION) {
        return Err(CommandError::input(
            Code::ConfigInvalid,
            format!(
                "`{}` runs a program, so it is set with `ferry account add … {}=\"…\"` or in config.toml, not in the app",
                ferry_core::after_batch::COMMAND_OPTION,
                ferry_core::after_batch::COMMAND_OPTION
            ),
        ));
    }
    let options: Vec<(String, String)> = options
        .into_iter()
        .map(|(k, v)| (k, v.trim().to_string()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let secret = match secret {
        Some(s) if !s.is_empty() => SecretInput::Value(Secret::new(s)),
        _ => SecretInput::None,
    };
    engine.account_add(name.trim(), kind, &options, secret)?;
    Ok(engine.accounts())
}

/// What `template` (an S3 or local library account's `name_template`) makes of a sample
/// file for an account named `account`; rejects with why the template is refused, the
/// same words `account_add` would use. The form calls it as the template is typed.
#[tauri::command]
pub fn account_name_preview(
    state: State<'_, AppState>,
    kind: String,
    template: String,
    account: String,
) -> CmdResult<String> {
    let kind = Kind::parse(&kind)?;
    let account = account.trim();
    let account = if account.is_empty() {
        kind.as_str()
    } else {
        account
    };
    Ok(state.engine.name_preview(kind, template.trim(), account)?)
}

/// Removes the keychain entry too.
#[tauri::command]
pub async fn account_remove(
    state: State<'_, AppState>,
    name: String,
) -> CmdResult<Vec<AccountView>> {
    let engine = state.engine.clone();
    blocking(move || {
        engine.account_remove(&name)?;
        Ok(engine.accounts())
    })
    .await
}

/// A cheap authenticated call to the destination; rejects with the provider's error.
#[tauri::command]
pub async fn account_test(state: State<'_, AppState>, name: String) -> CmdResult<()> {
    Ok(state.engine.account_test(&name).await?)
}

#[tauri::command]
pub fn account_set_default(
    state: State<'_, AppState>,
    name: String,
) -> CmdResult<Vec<AccountView>> {
    state.engine.config().account(&name)?;
    state
        .engine
        .update_settings(|s| s.default_account = name.clone())?;
    Ok(state.engine.accounts())
}
