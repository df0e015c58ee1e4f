//! Tauri commands, one file per area. Each is a few lines: take state, call one engine
//! method, map the error to `{code, message}`.

pub mod app;
