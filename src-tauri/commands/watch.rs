//! Watch folders: list rules with their live state, add one (a folder from the dialog, a
//! destination and options), pause, resume, remove. The background runner runs them. Every command
//! answers with the full list after the change.

use std::path::PathBuf;

use ferry_core::watch::{After, Existing, NewRule, RuleView};
use ferry_core::Code;
use tauri::State;

use crate::error::{CmdResult, CommandError};
use crate::ipc::WatchOptions;
use crate::state::AppState;

#[tauri::command]
pub fn watch_list(state: State<'_, AppState>) -> CmdResult<Vec<RuleView>> {
    Ok(state.engine.watch_list()?)
}

/// Watch `dir` (which must exist) for `account`, with `options` (recursive, filters,
/// quiet time, existing files, after upload); by default files already there are left
/// alone and uploaded files are kept where they are.
#[tauri::command]
pub async fn watch_add(
    state: State<'_, AppState>,
    dir: String,
    account: String,
    options: Option<WatchOptions>,
) -> CmdResult<Vec<RuleView>> {
    let dir = crate::input::checked_dir(&dir)?;
    let rule = new_rule(dir, &account, options.unwrap_or_default())?;
    let engine = state.engine.clone();
    // Adding remembers (or queues) every file already there: a walk of the folder.
    crate::commands::blocking(move || {
        engine.watch_add(rule)?;
        Ok(engine.watch_list()?)
    })
    .await
}

/// The UI's options as a rule, every value checked with a message naming the field.
fn new_rule(dir: PathBuf, account: &str, o: WatchOptions) -> CmdResult<NewRule> {
    let invalid = |m: String| CommandError::input(Code::ConfigInvalid, m);
    let mut rule = NewRule::new(dir, account);
    rule.recursive = o.recursive.unwrap_or(false);
    rule.also = o.also.unwrap_or_default();
    let globs = |v: Option<Vec<String>>| -> Vec<String> {
        v.unwrap_or_default()
            .into_iter()
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect()
    };
    rule.include = globs(o.include);
    rule.exclude = globs(o.exclude);
    if let Some(s) = o.settle_secs {
        if !(s.is_finite() && (0.0..=3600.0).contains(&s)) {
            return Err(invalid(format!(
                "the quiet time must be between 0 and 3600 seconds, not {s}"
            )));
        }
        rule.settle_secs = s;
    }
    rule.existing = match o.existing.as_deref().unwrap_or("skip") {
        "skip" => Existing::Skip,
        "import" => Existing::Import,
        other => {
            return Err(invalid(format!(
                "existing files: `{other}` is not one of skip, import"
            )))
        }
    };
    rule.after = match o.after.as_deref().map(str::trim) {
        None | Some("") => After::Keep,
        Some(a) => After::parse(a)?,
    };
    Ok(rule)
}

#[tauri::command]
pub fn watch_pause(state: State<'_, AppState>, id: String) -> CmdResult<Vec<RuleView>> {
    state.engine.watch_pause(&id)?;
    Ok(state.engine.watch_list()?)
}

#[tauri::command]
pub fn watch_resume(state: State<'_, AppState>, id: String) -> CmdResult<Vec<RuleView>> {
    state.engine.watch_resume(&id)?;
    Ok(state.engine.watch_list()?)
}

#[tauri::command]
pub fn watch_remove(state: State<'_, AppState>, id: String) -> CmdResult<Vec<RuleView>> {
    state.engine.watch_remove(&id)?;
    Ok(state.engine.watch_list()?)
}
