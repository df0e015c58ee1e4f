//! ferry-core: Ferry's engine. Providers (one per destination), transfers with progress,
//! retries decided in one place, accounts and their secrets in the OS keychain, URL
//! imports, and the record of what was sent — all behind [`Engine`].
//!
//! Used by the desktop shell (`src-tauri`) and the `ferry` CLI. It must never depend on
//! tauri, clap, a terminal or any screen type: hosts receive progress through callbacks.

pub mod accounts;
pub mod after_batch;
pub mod catalog;
pub mod config;
pub mod connectivity;
pub mod db;
pub mod diagnostics;
pub mod engine;
pub mod error;
pub mod import;
pub mod library;
pub mod links;
pub mod logfile;
pub mod media;
pub mod naming;
pub mod net;
pub mod place;
pub mod power;
pub mod providers;
pub mod public_net;
pub mod queue;
pub mod redact;
pub mod secrets;
pub mod sysbus;
pub mod thumbs;
pub mod transfer;
pub mod watch;

pub use accounts::{AccountView, SecretInput};
pub use engine::{expand_paths, Engine};
pub use error::{Code, Error, Result};
pub use links::CopyFormat;
pub use providers::{Kind, MediaStatus, RemoteMedia};
pub use queue::hold::{Hold, HoldReason};
pub use queue::lock::Holder;
pub use queue::owner::Taken;
pub use queue::runner::RunOptions;
pub use queue::{
    Event, Job, JobCursor, JobId, JobPage, JobStatus, QueueOrder, QueueSummary, Selector,
};
