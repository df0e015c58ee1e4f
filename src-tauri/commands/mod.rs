//! Tauri commands, one file per area (`noun_verb` names, as docs/ipc.md lists them). Each
//! is a few lines: take state, check the input, call one engine method, map the error to
//! `{code, message}`. Behaviour belongs in ferry-core, not here.

pub mod accounts;
pub mod app;
pub mod events;
pub mod library;
pub mod queue;
pub mod settings;
pub mod watch;
