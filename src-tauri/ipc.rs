//! The shapes that cross IPC and exist only for the desktop UI: views over engine types
//! in the UI's camelCase, command arguments, and the event Channel's messages. Engine
//! types (`Job`, `Event`, `LibraryItem`…) cross as they are. Every type here is exported
//! to TypeScript (`ui/src/bindings`, see `bindings.rs`); docs/ipc.md is the contract.
//!
//! Arguments arrive as plain strings where a typo must become a `{code, message}` error
//! rather than Tauri's own "invalid args" text, so enums are parsed in the commands.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use ferry_core::config::Settings as CoreSettings;
use ferry_core::providers::{Features as CoreFeatures, Kind, OptionSpec};
use ferry_core::{CopyFormat, Event};

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: String,
    pub default_account: String,
    pub accounts: usize,
    /// FERRY_HOME's data folder (library, database, staging, thumbnails).
    pub home: String,
    /// Whether a tray icon is showing now: without one, close-to-tray and start minimised
    /// do nothing (the window would be unreachable).
    pub tray: bool,
    /// Who sends this home's queue and watches its folders: this app, another Ferry
    /// process (a `ferry watch run` in a terminal), or nobody yet.
    pub runner: Option<RunnerInfo>,
    /// All of Ferry's bandwidth limit now, and whether the queue waits for it.
    pub bandwidth: ferry_core::queue::bandwidth::BandwidthNow,
}

/// What "Save diagnostics…" wrote (`diagnostics_save`).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticsSaved {
    pub path: String,
    /// The archive's entries: `about.json`, `settings.json`, `logs/ferry.log`…
    pub entries: Vec<String>,
    pub bytes: u64,
}

/// The process that runs a home's queue (one per FERRY_HOME).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RunnerInfo {
    /// `the Ferry desktop app`, `ferry watch run`…
    pub program: String,
    pub pid: u32,
    /// This app is the one sending.
    pub this_app: bool,
    /// A problem the runner is retrying (the database cannot be written), if any.
    pub problem: Option<String>,
    /// Why sending is held although jobs wait (offline), if it is: the queue header.
    pub hold: Option<ferry_core::Hold>,
}

/// A destination kind as the account form needs it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProviderInfo {
    pub kind: Kind,
    pub display_name: String,
    pub options: Vec<OptionSpec>,
    pub features: Features,
    /// What it accepts, in words ("images and videos", "any file").
    pub accepts: String,
    pub max_bytes: Option<u64>,
}

impl ProviderInfo {
    pub fn of(kind: Kind) -> Self {
        let limits = kind.limits();
        ProviderInfo {
            kind,
            display_name: kind.display_name().to_string(),
            // The form never offers a program to run (`account_add` refuses it too).
            options: kind
                .options()
                .iter()
                .filter(|o| o.name != ferry_core::after_batch::COMMAND_OPTION)
                .cloned()
                .collect(),
            features: kind.features().into(),
            accepts: limits.accepts_human.to_string(),
            max_bytes: limits.max_bytes,
        }
    }
}

/// A kind's optional capabilities (ferry-core's `Features`, in camelCase).
#[derive(Debug, Clone, Copy, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    pub import_url: bool,
    pub test_credentials: bool,
    pub list_remote: bool,
    pub refresh_status: bool,
    pub delete_remote: bool,
    pub resumable: bool,
}

impl From<CoreFeatures> for Features {
    fn from(f: CoreFeatures) -> Self {
        Features {
            import_url: f.import_url,
            test_credentials: f.test_credentials,
            list_remote: f.list_remote,
            refresh_status: f.refresh_status,
            delete_remote: f.delete_remote,
            resumable: f.resumable,
        }
    }
}

/// The settings the desktop shows (config.toml's `[settings]`, in camelCase).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub concurrency: usize,
    pub per_account: usize,
    pub default_account: String,
    pub copy_format: CopyFormat,
    /// Copy the links of a finished batch of dropped/picked/pasted files.
    pub copy_after_upload: bool,
    pub start_minimised: bool,
    pub close_to_tray: bool,
    /// Most files one drop or pick adds (folders included); more stops with a message.
    /// Missing (an older page): the default.
    #[serde(default = "default_drop_limit")]
    pub drop_limit: usize,
    /// Keep the machine awake while files are being sent. Missing (an older page): on.
    #[serde(default = "default_true")]
    pub keep_awake: bool,
    /// Send nothing over a metered connection (NetworkManager on Linux, the connection
    /// cost on Windows, an expensive or Low Data Mode path on macOS).
    #[serde(default)]
    pub pause_on_metered: bool,
    /// Send nothing while on battery.
    #[serde(default)]
    pub pause_on_battery: bool,
    /// All of Ferry's bandwidth limit, rclone syntax (`4M`, `off`, a timetable).
    /// Missing (an older page): kept as it is.
    #[serde(default)]
    pub bwlimit: Option<String>,
    /// The limit while "Slow down" is on.
    #[serde(default)]
    pub slow_bwlimit: Option<String>,
    /// "Slow down" is on.
    #[serde(default)]
    pub slow_down: Option<bool>,
}

fn default_drop_limit() -> usize {
    ferry_core::config::DEFAULT_DROP_LIMIT
}

fn default_true() -> bool {
    true
}

impl From<&CoreSettings> for Settings {
    fn from(s: &CoreSettings) -> Self {
        Settings {
            concurrency: s.concurrency,
            per_account: s.per_account,
            default_account: s.default_account.clone(),
            copy_format: s.copy_format,
            copy_after_upload: s.copy_after_upload,
            start_minimised: s.start_minimised,
            close_to_tray: s.close_to_tray,
            drop_limit: s.drop_limit,
            keep_awake: s.keep_awake,
            pause_on_metered: s.pause_on_metered,
            pause_on_battery: s.pause_on_battery,
            bwlimit: Some(s.bwlimit.clone()),
            slow_bwlimit: Some(s.slow_bwlimit.clone()),
            slow_down: Some(s.slow_down),
        }
    }
}

/// What one launch handed Ferry (a file manager's "Open with", `ferry-app a.jpg`, a second
/// launch's arguments) and what became of it, for the window to say.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Opened {
    /// The destination they were queued for (the default one).
    pub account: String,
    /// The jobs queued (a folder counts as the media files in it).
    pub jobs: Vec<i64>,
    /// How many of the arguments were files or folders that exist.
    pub given: usize,
    /// The first few of their names.
    pub names: Vec<String>,
    /// Arguments left out, each with why (`sftp://…: not a local file…`).
    pub skipped: Vec<String>,
    /// Why none of the files was queued, when the engine or the checks refused them.
    pub error: Option<crate::CommandError>,
}

/// One line of pasted text that is not an importable URL.
#[derive(Debug, Clone, Serialize, TS)]
pub struct InvalidLine {
    /// 1-based line number in the pasted text.
    pub line: usize,
    pub input: String,
    pub message: String,
    pub code: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct AddUrlsResult {
    pub jobs: Vec<i64>,
    pub invalid: Vec<InvalidLine>,
}

/// `library_list`'s filter and page; `status` is checked by the command.
#[derive(Debug, Clone, Default, Deserialize, TS)]
pub struct LibraryFilter {
    #[ts(optional)]
    pub account: Option<String>,
    #[ts(optional)]
    pub status: Option<String>,
    #[ts(optional)]
    pub search: Option<String>,
    /// Items per page: default 100, at most 1,000.
    #[ts(optional)]
    pub limit: Option<usize>,
    /// The previous page's `next`: items older than that one.
    #[ts(optional)]
    pub before: Option<i64>,
}

/// `queue_list`'s page: `limit` jobs (default 200, at most 1,000; 0 = the summary
/// alone) after `cursor` (the previous page's `next`; none = from the top).
#[derive(Debug, Clone, Default, Deserialize, TS)]
pub struct QueuePageRequest {
    #[ts(optional)]
    pub limit: Option<usize>,
    #[ts(optional)]
    pub cursor: Option<ferry_core::JobCursor>,
}

impl QueuePageRequest {
    pub const DEFAULT: usize = 200;
    pub const MAX: usize = 1000;
}

/// `watch_add`'s options besides the folder and the destination; every field may be left
/// out. The strings are parsed by the command so a typo gets a `config.invalid` message.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct WatchOptions {
    /// Watch subfolders too.
    #[ts(optional)]
    pub recursive: Option<bool>,
    /// Globs on the file name (`*.jpg`); empty: whatever the destination accepts.
    #[ts(optional)]
    pub include: Option<Vec<String>>,
    #[ts(optional)]
    pub exclude: Option<Vec<String>>,
    /// Quiet time in seconds before a file is taken (default 2, at most 3600).
    #[ts(optional)]
    pub settle_secs: Option<f64>,
    /// `"skip"` (default) or `"import"` the files already in the folder.
    #[ts(optional)]
    pub existing: Option<String>,
    /// `"keep"` (default), `"delete"` or `"move:SUBFOLDER"`, after a successful upload only
    /// (with several destinations, once the file is at every one).
    #[ts(optional)]
    pub after: Option<String>,
    /// Other destinations every file also goes to (fan-out).
    #[ts(optional)]
    pub also: Option<Vec<String>>,
}

/// Where queued paths came from (recorded on the job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Drop,
    Pick,
    Paste,
    Args,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Drop => "drop",
            Origin::Pick => "pick",
            Origin::Paste => "paste",
            Origin::Args => "args",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum QueueAction {
    Pause,
    Resume,
    Cancel,
    Retry,
}

/// A watch rule's `state`, as the engine writes it. The engine keeps it a string (it is
/// also the CLI's output); this enum only documents the values for the UI.
#[derive(Debug, Clone, Copy, Serialize, TS)]
pub enum WatchState {
    #[serde(rename = "watching")]
    Watching,
    #[serde(rename = "paused")]
    Paused,
    #[serde(rename = "unavailable")]
    Unavailable,
    #[serde(rename = "degraded-polling")]
    DegradedPolling,
    #[serde(rename = "not running")]
    NotRunning,
}

/// What the event Channel carries: one engine event, or a control message. At most one
/// message leaves every 100 ms; several events in that window travel as one `batch`.
// Built once per tick and serialised at once: boxing the event would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, TS)]
#[serde(untagged)]
pub enum ChannelMessage {
    Event(Event),
    Control(ChannelControl),
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ChannelControl {
    /// Events in the order they happened (progress coalesced to the latest per job).
    Batch { events: Vec<Event> },
    /// The UI fell behind and `missed` events were dropped: reload the queue and library.
    Lagged { missed: u64 },
}
