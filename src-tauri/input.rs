//! Checks on what the UI (or a second launch's command line) hands the shell, before the
//! engine sees it: paths must be absolute and name an existing file or folder, pasted text
//! is split into URL lines, and enum-like strings are parsed into `{code, message}` errors
//! instead of Tauri's "invalid args". The engine checks the rest (account, URL rules,
//! limits); nothing here reads a file's bytes.

use std::path::{Path, PathBuf};

use ferry_core::library::ItemStatus;
use ferry_core::{Code, CopyFormat};

use crate::error::{CmdResult, CommandError};
use crate::ipc::{Origin, QueueAction};

/// Paths as the UI gives them, checked: each must be absolute and name an existing file
/// or folder. One bad path refuses the whole call, so nothing of a drop with a typo in it
/// is queued. Folders are expanded by the engine as it queues (`Engine::enqueue_tree`:
/// their media files, judged from their first bytes, hidden files skipped, at most the
/// `dropLimit` setting); files given one by one stay as they are (the destination's own
/// check then explains a refusal).
pub fn checked_paths(paths: &[String]) -> CmdResult<Vec<PathBuf>> {
    if paths.is_empty() {
        return Err(CommandError::input(Code::InputInvalid, "no paths given"));
    }
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let path = PathBuf::from(p);
        if p.trim().is_empty() || !path.is_absolute() {
            return Err(CommandError::input(
                Code::InputInvalid,
                format!("`{p}` is not an absolute path"),
            ));
        }
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() || m.is_dir() => out.push(path),
            Ok(_) => {
                return Err(CommandError::input(
                    Code::InputInvalid,
                    format!("{p} is neither a file nor a folder"),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CommandError::input(
                    Code::InputNotFound,
                    format!("{p}: no such file or folder"),
                ))
            }
            Err(e) => return Err(CommandError::input(Code::Io, format!("{p}: {e}"))),
        }
    }
    Ok(out)
}

/// Queue checked paths (see [`checked_paths`]) the way a drop is queued: streamed, in
/// batches, at most the `dropLimit` setting. Nothing queued is an error that says why.
pub fn enqueue_dropped(
    engine: &ferry_core::Engine,
    paths: &[PathBuf],
    accounts: &[String],
    origin: &str,
) -> CmdResult<Vec<i64>> {
    let cap = engine.config().settings.drop_limit;
    let (ids, added) = engine.enqueue_tree_to(paths, accounts, origin, cap)?;
    if ids.is_empty() {
        let message = if added.stopped {
            "stopped before any file was queued"
        } else {
            "the folders given hold no images, videos or audio files"
        };
        return Err(CommandError::input(Code::InputEmpty, message));
    }
    Ok(ids)
}

/// The destinations of an addition: the picked one, then the others it also goes to
/// (fan-out), each once.
pub fn destinations(account: &str, also: Option<Vec<String>>) -> Vec<String> {
    let mut out = vec![account.to_string()];
    for a in also.unwrap_or_default() {
        if !a.trim().is_empty() && !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// A folder to watch: absolute and existing.
pub fn checked_dir(dir: &str) -> CmdResult<PathBuf> {
    let path = PathBuf::from(dir);
    if dir.trim().is_empty() || !path.is_absolute() {
        return Err(CommandError::input(
            Code::InputInvalid,
            format!("`{dir}` is not an absolute path"),
        ));
    }
    if !path.is_dir() {
        return Err(CommandError::input(
            Code::InputNotFound,
            format!("{dir} is not a folder"),
        ));
    }
    Ok(path)
}

/// File arguments of a launch (`ferry-app photo.jpg ~/Renders`, or what a file manager's
/// "Open with" or a desktop launcher hands over: paths, or `file://` URIs from launchers
/// that pass URIs): relative paths are taken from `cwd`. The first element, the
/// executable, and flags (`--autostart`) are skipped. Returns the paths that exist, and
/// the arguments left out with the reason, for the window to say.
pub fn file_args(argv: &[String], cwd: &Path) -> (Vec<String>, Vec<String>) {
    let mut paths = Vec::new();
    let mut skipped = Vec::new();
    for a in argv.iter().skip(1).filter(|a| !a.starts_with('-')) {
        let path = match launch_arg_path(a, cwd) {
            Ok(p) => p,
            Err(why) => {
                tracing::warn!("ignoring argument {a}: {why}");
                skipped.push(format!("{a}: {why}"));
                continue;
            }
        };
        if path.exists() {
            paths.push(path.to_string_lossy().into_owned());
        } else {
            tracing::warn!(
                "ignoring argument {}: no such file or folder",
                path.display()
            );
            skipped.push(format!("{}: no such file or folder", path.display()));
        }
    }
    (paths, skipped)
}

/// One launch argument as a path. A `file://` URI is decoded (`%20`, a `localhost`
/// host); other URIs (a `sftp://` a launcher did not map to a local path) cannot be read.
fn launch_arg_path(arg: &str, cwd: &Path) -> Result<PathBuf, &'static str> {
    let scheme = arg.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("file") => url::Url::parse(arg)
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .ok_or("not a local file URI"),
        // A scheme is letters first, then letters, digits, `+`, `-`, `.`: anything else
        // with `://` in it is a (strange) relative path.
        Some(s)
            if s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            Err("not a local file (only paths and file:// URIs can be opened)")
        }
        _ => {
            let p = Path::new(arg);
            Ok(if p.is_absolute() {
                p.to_path_buf()
            } else {
                cwd.join(p)
            })
        }
    }
}

/// Non-empty lines of pasted text with their 1-based line numbers.
pub fn url_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .filter(|(_, l)| !l.is_empty())
        .collect()
}

pub fn origin(s: &str) -> CmdResult<Origin> {
    match s {
        "drop" => Ok(Origin::Drop),
        "pick" => Ok(Origin::Pick),
        "paste" => Ok(Origin::Paste),
        "args" => Ok(Origin::Args),
        other => Err(CommandError::input(
            Code::InputInvalid,
            format!("origin must be drop, pick, paste or args (got `{other}`)"),
        )),
    }
}

pub fn queue_action(s: &str) -> CmdResult<QueueAction> {
    match s {
        "pause" => Ok(QueueAction::Pause),
        "resume" => Ok(QueueAction::Resume),
        "cancel" => Ok(QueueAction::Cancel),
        "retry" => Ok(QueueAction::Retry),
        other => Err(CommandError::input(
            Code::InputInvalid,
            format!("action must be pause, resume, cancel or retry (got `{other}`)"),
        )),
    }
}

pub fn item_status(s: &str) -> CmdResult<ItemStatus> {
    match s {
        "processing" => Ok(ItemStatus::Processing),
        "ready" => Ok(ItemStatus::Ready),
        "failed" => Ok(ItemStatus::Failed),
        "expired" => Ok(ItemStatus::Expired),
        "deleted" => Ok(ItemStatus::Deleted),
        other => Err(CommandError::input(
            Code::InputInvalid,
            format!("status must be processing, ready, failed, expired or deleted (got `{other}`)"),
        )),
    }
}

pub fn copy_format(s: &str) -> CmdResult<CopyFormat> {
    CopyFormat::parse(s).map_err(CommandError::from)
}

/// Concurrency settings: at least one, and few enough not to exhaust file handles.
/// The most files one drop may add: 1 to 1,000,000.
pub fn drop_limit(n: usize) -> CmdResult<usize> {
    if (1..=1_000_000).contains(&n) {
        Ok(n)
    } else {
        Err(CommandError::input(
            Code::ConfigInvalid,
            format!("dropLimit must be between 1 and 1,000,000 files, not {n}"),
        ))
    }
}

pub fn concurrency(name: &str, n: usize) -> CmdResult<usize> {
    if (1..=64).contains(&n) {
        Ok(n)
    } else {
        Err(CommandError::input(
            Code::ConfigInvalid,
            format!("{name} must be between 1 and 64 (got {n})"),
        ))
    }
}
