//! The desktop app's own tests, one binary: every IPC command through Tauri's mock
//! runtime (success shapes and the `{code, message}` errors), the event Channel's
//! batching, the notification tally, the generated TypeScript bindings, files opened with
//! Ferry, start at login, and starting the real executable (failures, a second launch).
//!
//! Uploads go to the local library and to ferry-fakes on 127.0.0.1; the clipboard tests
//! need an X display (scripts/test runs them under xvfb-run).

mod support;

mod accounts;
mod app;
#[cfg(target_os = "linux")]
mod autostart;
mod bindings;
mod events;
mod library;
mod opened;
mod queue;
mod settings;
mod staging;
mod startup;
mod tally;
mod watch;
