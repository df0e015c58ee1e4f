//! FERRY_HOME and `config.toml`: accounts with their non-secret options (and, for headless
//! use, the name of an environment variable holding the secret), and settings.
//!
//! Never holds a secret value: `Config::set_account` refuses secret options, and the file
//! is written atomically (temp file + rename) with owner-only permissions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Code, Error, Result};
use crate::providers::Kind;

/// The account every install has: the local library, the default destination.
pub const DEFAULT_ACCOUNT: &str = "library";

/// Where Ferry keeps its files.
#[derive(Debug, Clone)]
pub struct Home {
    /// `config.toml`.
    pub config_dir: PathBuf,
    /// The records (database), caches, temp spills, and the library folder unless the
    /// library account says otherwise. Never roaming: on Windows it is the local
    /// AppData folder, so a profile sync does not copy media and thumbnails around.
    pub data_dir: PathBuf,
    /// Where a fresh install's library goes: a folder people can find (Pictures/Ferry).
    /// `None` (FERRY_HOME, `--home`): inside `data_dir`. A config that exists keeps
    /// whatever folder its library had.
    pub fresh_library: Option<PathBuf>,
    /// The desktop app's log files (`logfile`): the platform's log folder
    /// (`~/Library/Logs/Ferry`, `%LOCALAPPDATA%\ferry\data\logs`,
    /// `$XDG_STATE_HOME/ferry/logs`), or `logs` inside one folder for everything.
    pub log_dir: PathBuf,
}

/// The data folder: the local (non-roaming) one, unless an older Ferry's records are in
/// the roaming one and none are in the local one yet (they stay where they are). The
/// same folder on Linux and macOS.
fn local_data_dir(roaming: &Path, local: &Path) -> PathBuf {
    let db = "ferry.db";
    if roaming != local && roaming.join(db).exists() && !local.join(db).exists() {
        roaming.to_path_buf()
    } else {
        local.to_path_buf()
    }
}

/// Where the platform keeps an app's logs: Console.app reads `~/Library/Logs`; Windows
/// has no log folder, so the local (non-roaming) data folder; XDG's state folder on Linux.
fn platform_log_dir(dirs: &directories::ProjectDirs) -> PathBuf {
    #[cfg(target_os = "macos")]
    if let Some(base) = directories::BaseDirs::new() {
        return base.home_dir().join("Library").join("Logs").join("Ferry");
    }
    #[cfg(target_os = "linux")]
    if let Some(state) = dirs.state_dir() {
        return state.join("logs");
    }
    dirs.data_local_dir().join("logs")
}

impl Home {
    /// One folder for everything (FERRY_HOME or `--home`).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        // Absolute, so file:// URLs and paths recorded in the library stay valid.
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        Home {
            config_dir: dir.clone(),
            log_dir: dir.join("logs"),
            data_dir: dir,
            fresh_library: None,
        }
    }

    /// `FERRY_HOME` if set, else the platform's config and data folders.
    pub fn from_env() -> Result<Self> {
        if let Some(dir) = std::env::var_os("FERRY_HOME").filter(|v| !v.is_empty()) {
            return Ok(Home::at(dir));
        }
        let dirs = directories::ProjectDirs::from("", "", "ferry").ok_or_else(|| {
            Error::new(
                Code::ConfigInvalid,
                "could not find a home folder for Ferry; set FERRY_HOME or pass --home DIR",
            )
        })?;
        let data_dir = local_data_dir(dirs.data_dir(), dirs.data_local_dir());
        Ok(Home {
            config_dir: dirs.config_dir().to_path_buf(),
            log_dir: platform_log_dir(&dirs),
            fresh_library: directories::UserDirs::new()
                .and_then(|u| u.picture_dir().map(|p| p.join("Ferry"))),
            data_dir,
        })
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountConfig {
    pub kind: Kind,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Read the secret from this environment variable at use time instead of the keychain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    /// Files sent at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Files sent at once to one account (lowered automatically while it answers 429/503).
    #[serde(default = "default_per_account")]
    pub per_account: usize,
    #[serde(default = "default_account")]
    pub default_account: String,
    /// How the desktop copies a link after upload or from the library.
    #[serde(default)]
    pub copy_format: crate::links::CopyFormat,
    /// The desktop copies the links of what the user dropped, picked or pasted to the
    /// clipboard when that batch finishes (never for watch-folder uploads).
    #[serde(default = "default_true")]
    pub copy_after_upload: bool,
    /// The desktop app starts with its window hidden (in the tray).
    #[serde(default)]
    pub start_minimised: bool,
    /// Closing the desktop window keeps Ferry running in the tray while watch rules are
    /// active.
    #[serde(default)]
    pub close_to_tray: bool,
    /// A URL import whose server does not say its length is kept on disk (in
    /// FERRY_HOME's `spool/`) before it is sent: at most this many bytes (8 GiB).
    #[serde(default = "default_spool_max_bytes")]
    pub spool_max_bytes: u64,
    /// Such a download stops before it would leave less than this free on that disk
    /// (1 GiB).
    #[serde(default = "default_spool_keep_free_bytes")]
    pub spool_keep_free_bytes: u64,
    /// Most files one drop or pick in the desktop app adds: dropping `/` or a whole drive
    /// by mistake stops there, with a message, instead of queueing millions.
    #[serde(default = "default_drop_limit")]
    pub drop_limit: usize,
    /// Keep the machine from sleeping while files are being sent (released when the
    /// queue is idle; see `power`).
    #[serde(default = "default_true")]
    pub keep_awake: bool,
    /// Send nothing over a metered connection (Linux: NetworkManager's `Metered`; Windows:
    /// the connection cost; macOS: an expensive or constrained path); jobs
    /// wait and resume by themselves when it is not metered.
    #[serde(default)]
    pub pause_on_metered: bool,
    /// Send nothing while the machine runs on battery; jobs resume on mains power.
    #[serde(default)]
    pub pause_on_battery: bool,
    /// All of Ferry's bandwidth limit, in rclone's `--bwlimit` syntax: a rate (`4M`,
    /// `512k`, `off`) or a weekly timetable (`"08:00,512k 18:00,off"`; a rate of `0`
    /// means do not send then). Each account may also have its own (`bwlimit` option).
    #[serde(default = "default_bwlimit")]
    pub bwlimit: String,
    /// The limit while "Slow down" is on (the tray; the Settings screen).
    #[serde(default = "default_slow_bwlimit")]
    pub slow_bwlimit: String,
    /// "Slow down" is on: `slow_bwlimit` holds instead of `bwlimit`, until "Full speed".
    #[serde(default)]
    pub slow_down: bool,
    /// Which waiting job starts next: `added` (oldest first) or `small-first`. Read by
    /// the runner before each start, so it can change while the queue runs.
    #[serde(default)]
    pub queue_order: crate::queue::QueueOrder,
    /// How Ferry reaches the network: `system`, `none` or a proxy URL (see `net`).
    #[serde(default)]
    pub proxy: crate::net::Proxy,
    /// The manual proxy's user; its password is in the keychain (or `proxy_password_env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_user: Option<String>,
    /// Read the proxy password from this environment variable at use time instead of
    /// the keychain (headless machines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_password_env: Option<String>,
}

impl Settings {
    /// Refuse limits that do not parse, naming the setting and the syntax.
    pub fn check(&self) -> Result<()> {
        crate::transfer::bwlimit::Schedule::parse("bwlimit", &self.bwlimit)?;
        crate::transfer::bwlimit::Schedule::parse("slow_bwlimit", &self.slow_bwlimit)?;
        Ok(())
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
fn default_true() -> bool {
    true
}
fn default_concurrency() -> usize {
    8
}
fn default_per_account() -> usize {
    8
}
fn default_spool_max_bytes() -> u64 {
    8 << 30
}
fn default_spool_keep_free_bytes() -> u64 {
    1 << 30
}
/// Two years of a busy photographer's card dumps fit; a whole disk does not.
pub const DEFAULT_DROP_LIMIT: usize = 50_000;
fn default_drop_limit() -> usize {
    DEFAULT_DROP_LIMIT
}
fn default_bwlimit() -> String {
    "off".into()
}
fn default_slow_bwlimit() -> String {
    "1M".into()
}
fn default_account() -> String {
    DEFAULT_ACCOUNT.to_string()
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            concurrency: default_concurrency(),
            per_account: default_per_account(),
            default_account: default_account(),
            copy_format: Default::default(),
            copy_after_upload: true,
            start_minimised: false,
            close_to_tray: false,
            spool_max_bytes: default_spool_max_bytes(),
            spool_keep_free_bytes: default_spool_keep_free_bytes(),
            drop_limit: default_drop_limit(),
            keep_awake: true,
            pause_on_metered: false,
            pause_on_battery: false,
            bwlimit: default_bwlimit(),
            slow_bwlimit: default_slow_bwlimit(),
            slow_down: false,
            queue_order: Default::default(),
            proxy: crate::net::Proxy::System,
            proxy_user: None,
            proxy_password_env: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Config {
    /// The number the next watch rule's id takes (`w<n>`): ids are never reused, so a
    /// job of a removed rule never gets a new rule's after-upload action.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub next_watch_id: u64,
    #[serde(default)]
    pub settings: Settings,
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountConfig>,
    /// Watch rules (folder → account), in the order they were added.
    #[serde(default, rename = "watch", skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<crate::watch::Rule>,
}

impl Config {
    /// Read `config.toml`, or the defaults when there is none yet. The built-in
    /// `library` account is always there.
    pub fn load(home: &Home) -> Result<Config> {
        let path = home.config_file();
        let mut cfg = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str::<Config>(&text).map_err(|e| {
                Error::new(
                    Code::ConfigInvalid,
                    format!("{} is not valid: {}", path.display(), e.message()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut cfg = Config::default();
                if let Some(dir) = &home.fresh_library {
                    cfg.accounts.insert(
                        DEFAULT_ACCOUNT.to_string(),
                        AccountConfig {
                            kind: Kind::Local,
                            options: BTreeMap::from([(
                                "dir".to_string(),
                                dir.display().to_string(),
                            )]),
                            secret_env: None,
                        },
                    );
                }
                cfg
            }
            Err(e) => return Err(Error::io(e, path.display())),
        };
        cfg.settings.check().map_err(|e| {
            Error::new(
                Code::ConfigInvalid,
                format!("{} is not valid: {}", path.display(), e.message),
            )
        })?;
        for (name, account) in &cfg.accounts {
            for (k, v) in &account.options {
                crate::after_batch::check_option(k, v).map_err(|e| {
                    Error::new(
                        Code::ConfigInvalid,
                        format!(
                            "{} is not valid: account {name}: {}",
                            path.display(),
                            e.message
                        ),
                    )
                })?;
            }
            if let Some(text) = account.options.get(crate::queue::bandwidth::ACCOUNT_OPTION) {
                crate::transfer::bwlimit::Schedule::parse(
                    &format!("accounts.{name}.options.bwlimit"),
                    text,
                )
                .map_err(|e| {
                    Error::new(
                        Code::ConfigInvalid,
                        format!("{} is not valid: {}", path.display(), e.message),
                    )
                })?;
            }
        }
        cfg.accounts
            .entry(DEFAULT_ACCOUNT.to_string())
            .or_insert_with(|| AccountConfig {
                kind: Kind::Local,
                options: BTreeMap::new(),
                secret_env: None,
            });
        Ok(cfg)
    }

    pub fn save(&self, home: &Home) -> Result<()> {
        let text = toml::to_string_pretty(self)
            .map_err(|e| Error::new(Code::Internal, format!("config: {e}")))?;
        write_private(&home.config_file(), text.as_bytes())
    }

    pub fn account(&self, name: &str) -> Result<&AccountConfig> {
        self.accounts.get(name).ok_or_else(|| {
            Error::new(
                Code::ConfigUnknownAccount,
                format!(
                    "no account named `{name}`; `ferry account list` shows them, `ferry account add` adds one"
                ),
            )
        })
    }
}

/// What identifies one version of `config.toml` on disk: another process's atomic write
/// (temp file + rename) changes at least one of these.
#[derive(Debug, Clone, PartialEq)]
struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    ino: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        len: m.len(),
        modified: m.modified().ok(),
        #[cfg(unix)]
        ino: std::os::unix::fs::MetadataExt::ino(&m),
    })
}

/// The config one process holds: re-read whenever the file changed on disk (another
/// Ferry process saved it), and changed only by read-modify-write under an OS lock on
/// `config.lock`, so two processes never revert each other's changes.
pub struct ConfigStore {
    home: Home,
    cached: std::sync::Mutex<(Option<Stamp>, Config)>,
}

impl ConfigStore {
    pub fn open(home: &Home) -> Result<ConfigStore> {
        let path = home.config_file();
        let before = stamp(&path);
        let cfg = Config::load(home)?;
        Ok(ConfigStore {
            home: home.clone(),
            cached: std::sync::Mutex::new((before, cfg)),
        })
    }

    /// The config as it is now. A file another process left unreadable keeps the last
    /// good config in use (and says so in the log) rather than stopping the runner.
    pub fn current(&self) -> Config {
        let path = self.home.config_file();
        let now = stamp(&path);
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        // A file that vanished (a home being removed, a folder unmounted) is not a
        // change to the defaults: keep what was read last.
        if cached.0 != now && now.is_some() {
            match Config::load(&self.home) {
                Ok(cfg) => *cached = (now, cfg),
                Err(e) => {
                    tracing::warn!("{}; still using the settings read before", e.message);
                    cached.0 = now;
                }
            }
        }
        cached.1.clone()
    }

    pub fn modify<T>(&self, f: impl FnOnce(&mut Config) -> Result<T>) -> Result<T> {
        let dir = &self.home.config_dir;
        create_private_dir(dir)?;
        let lock_path = dir.join("config.lock");
        let lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| Error::io(e, lock_path.display()))?;
        // Held for a read, a change and a write: milliseconds.
        lock.lock().map_err(|e| Error::io(e, lock_path.display()))?;
        let mut cfg = Config::load(&self.home)?;
        let out = f(&mut cfg)?;
        cfg.save(&self.home)?;
        let now = stamp(&self.home.config_file());
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = (now, cfg);
        drop(lock);
        Ok(out)
    }
}

/// Validate `key=value` options against the kind's table: unknown keys, secrets given as
/// options, and missing required keys are refused. Returns the options with defaults.
pub fn validate_options(
    kind: Kind,
    given: &[(String, String)],
) -> Result<BTreeMap<String, String>> {
    let table = kind.options();
    let mut out = BTreeMap::new();
    for (k, v) in given {
        let spec = table.iter().find(|o| o.name == k).ok_or_else(|| {
            let names: Vec<&str> = table.iter().filter(|o| !o.secret).map(|o| o.name).collect();
            Error::new(
                Code::ConfigInvalid,
                format!(
                    "{kind} has no option `{k}`; its options are: {}",
                    names.join(", ")
                ),
            )
        })?;
        if spec.secret {
            return Err(Error::new(
                Code::ConfigInvalid,
                format!(
                    "`{k}` is a secret and is not accepted on the command line; \
                     pass it with --secret-stdin (kept in the OS keychain) or --secret-env VAR"
                ),
            ));
        }
        check_service_url(k, v)?;
        if k == crate::queue::bandwidth::ACCOUNT_OPTION {
            crate::transfer::bwlimit::Schedule::parse(k, v)?;
        }
        crate::after_batch::check_option(k, v)?;
        if k == crate::naming::OPTION && !v.is_empty() {
            crate::naming::Template::parse(v, kind)?;
        }
        out.insert(k.clone(), v.clone());
    }
    for spec in table.iter().filter(|o| !o.secret) {
        if !out.contains_key(spec.name) {
            match (spec.default, spec.required) {
                (Some(d), _) => {
                    out.insert(spec.name.to_string(), d.to_string());
                }
                (None, true) => {
                    return Err(Error::new(
                        Code::ConfigInvalid,
                        format!("{kind} needs `{}=…` ({})", spec.name, spec.help),
                    ))
                }
                (None, false) => {}
            }
        }
    }
    Ok(out)
}

/// Options that name where an account's requests (and its secret) go.
pub const SERVICE_URL_OPTIONS: &[&str] = &["api_url", "upload_url", "endpoint"];

/// A service URL option must be https, unless its host is this machine (127.0.0.0/8,
/// ::1, localhost): a key sent over plain http to another machine can be read on the
/// way. Checked at `account add` and again when a provider is built (a hand-edited
/// config.toml). Other options pass unchecked.
pub fn check_service_url(option: &str, value: &str) -> Result<()> {
    if !SERVICE_URL_OPTIONS.contains(&option) || value.trim().is_empty() {
        return Ok(());
    }
    let bad = |why: String| {
        Error::new(
            Code::ConfigInvalid,
            format!(
                "`{option}` {why}; use an https:// URL (plain http:// is allowed only for \
                 this machine: 127.0.0.1, ::1 or localhost)"
            ),
        )
    };
    let url =
        url::Url::parse(value.trim()).map_err(|e| bad(format!("is not a valid URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.');
            d.eq_ignore_ascii_case("localhost")
        }
        None => false,
    };
    // Only scheme and host in the message: a URL can carry user info.
    let shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(bad(format!("is plain http to another machine ({shown})"))),
        other => Err(bad(format!("must be https, not {other} ({shown})"))),
    }
}

/// Account names become keychain user names and CLI arguments: keep them plain.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            Code::ConfigInvalid,
            format!("`{name}` is not a valid account name: use letters, digits, `-`, `_` or `.` (at most 64)"),
        ))
    }
}

/// Create `dir` (and missing parents) so only its owner can enter it: FERRY_HOME holds the
/// database (every job's input, the library's links) and the files sent to the local
/// library. An existing folder keeps the permissions it has: FERRY_HOME may be a folder
/// the person chose and set up themselves.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io(e, dir.display()))?;
        // The mode above is filtered by the umask; say it outright.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(e, dir.display()))?;
    }
    #[cfg(not(unix))]
    {
        // Windows: a folder under the user's profile inherits its owner-only ACL.
        std::fs::create_dir_all(dir).map_err(|e| Error::io(e, dir.display()))?;
    }
    Ok(())
}

/// Write a file atomically, readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(e, dir.display()))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(|e| Error::io(e, path.display()))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(e, path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600));
    }
    tmp.persist(path)
        .map_err(|e| Error::io(e.error, path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked_against_the_table() {
        let o = validate_options(Kind::Synposter, &[]).unwrap();
        assert_eq!(o["api_url"], "https://api.synposter.com/v1");
        let e = validate_options(Kind::Synposter, &[("nope".into(), "1".into())]).unwrap_err();
        assert!(e.message.contains("no option `nope`"));
        let e = validate_options(Kind::Synposter, &[("api_key".into(), "sk".into())]).unwrap_err();
        assert!(e.message.contains("secret"));
        assert!(!e.message.contains("sk_"));
        let e = validate_options(Kind::Postsyncer, &[]).unwrap_err();
        assert!(e.message.contains("workspace_id"));
    }

    #[test]
    fn a_fresh_install_puts_its_library_where_people_find_it_and_an_old_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let pictures = dir.path().join("Pictures/Ferry");
        let home = Home {
            config_dir: dir.path().join("config"),
            data_dir: dir.path().join("data"),
            fresh_library: Some(pictures.clone()),
            log_dir: dir.path().join("logs"),
        };
        let cfg = Config::load(&home).unwrap();
        let lib = cfg.account(DEFAULT_ACCOUNT).unwrap();
        assert_eq!(
            lib.options.get("dir"),
            Some(&pictures.display().to_string())
        );
        // A config written by an older Ferry (no `dir`): its library stays in data_dir.
        std::fs::create_dir_all(&home.config_dir).unwrap();
        std::fs::write(home.config_file(), "[settings]\nconcurrency = 4\n").unwrap();
        let cfg = Config::load(&home).unwrap();
        assert!(cfg.account(DEFAULT_ACCOUNT).unwrap().options.is_empty());
    }

    #[test]
    fn the_database_stays_in_the_roaming_folder_only_where_an_older_ferry_left_it() {
        let dir = tempfile::tempdir().unwrap();
        let (roaming, local) = (dir.path().join("Roaming"), dir.path().join("Local"));
        assert_eq!(local_data_dir(&roaming, &local), local, "fresh: local");
        std::fs::create_dir_all(&roaming).unwrap();
        std::fs::write(roaming.join("ferry.db"), b"").unwrap();
        assert_eq!(
            local_data_dir(&roaming, &local),
            roaming,
            "older records stay"
        );
        std::fs::create_dir_all(&local).unwrap();
        std::fs::write(local.join("ferry.db"), b"").unwrap();
        assert_eq!(local_data_dir(&roaming, &local), local);
        assert_eq!(
            local_data_dir(&local, &local),
            local,
            "Linux, macOS: one folder"
        );
    }

    #[test]
    fn spool_settings_default_to_an_8_gib_cap_and_1_gib_kept_free() {
        let s: Settings = toml::from_str("").unwrap();
        assert_eq!(s.spool_max_bytes, 8 * 1024 * 1024 * 1024);
        assert_eq!(s.spool_keep_free_bytes, 1024 * 1024 * 1024);
        assert_eq!(Settings::default(), s);
    }

    #[test]
    fn service_urls_must_be_https_except_on_loopback() {
        for ok in [
            "https://api.example.com/v1",
            "http://127.0.0.1:9/v1",
            "http://127.1.2.3/v1",
            "http://localhost/v1",
            "http://LOCALHOST.:80/v1",
            "http://[::1]:8080/v1",
        ] {
            check_service_url("api_url", ok).unwrap_or_else(|e| panic!("{ok}: {}", e.message));
        }
        for bad in [
            "http://api.example.com/v1",
            "http://10.0.0.1/v1",
            "http://localhost.example.com/v1",
            "ftp://127.0.0.1/v1",
            "not a url",
        ] {
            let e = check_service_url("endpoint", bad).unwrap_err();
            assert_eq!(e.code, Code::ConfigInvalid, "{bad}");
            assert!(e.message.contains("https://"), "{}", e.message);
        }
        // Not a service URL: a public link base may be anything.
        check_service_url("public_base_url", "http://cdn.example.com").unwrap();
    }

    #[test]
    fn a_fresh_home_has_the_library_account() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config::load(&Home::at(dir.path())).unwrap();
        assert_eq!(cfg.account("library").unwrap().kind, Kind::Local);
        assert_eq!(cfg.settings.default_account, "library");
    }
}
