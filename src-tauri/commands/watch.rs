//! Watch folders: list rules with their live state, add one (a folder from the dialog and
//! a destination), pause, resume, remove. The background runner runs them. Every command
//! answers with the full list after the change.

use ferry_core::watch::{NewRule, RuleView};
use tauri::State;

use crate::error::CmdResult;
use crate::state::AppState;

#[tauri::command]
pub fn watch_list(state: State<'_, AppState>) -> CmdResult<Vec<RuleView>> {
    Ok(state.engine.watch_list()?)
}

/// Watch `dir` (which must exist) for `account`; files already there are left alone.
#[tauri::command]
pub fn watch_add(
    state: State<'_, AppState>,
    dir: String,
    account: String,
) -> CmdResult<Vec<RuleView>> {
    let dir = crate::input::checked_dir(&dir)?;
    state.engine.watch_add(NewRule::new(dir, &account))?;
    Ok(state.engine.watch_list()?)
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
