//! "Save diagnostics…" and `ferry diagnostics --out FILE`: one zip a person can attach to
//! a bug report — versions and platform, settings, accounts (kinds and options, never
//! secrets), the recent log files, the last jobs with their errors, the watch rules'
//! states, and checks of the disk, the keychain and the database.
//!
//! Everything written goes through [`Scrub`]: every URL loses its query and userinfo
//! ([`crate::redact::text`]: presigned and tokened links are credentials), and every secret
//! this home's accounts hold is replaced wherever it appears (a token pasted into a file
//! name, an old log line). The archive is written to a temporary file beside `out` and
//! moved into place whole: a failed or interrupted save leaves no half archive.
//!
//! This module gathers and writes; it does not decide what the UI or the CLI say.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{Code, Error, Result};
use crate::secrets::Secret;
use crate::Engine;

/// Jobs still open (queued, running, failed, paused) and finished ones written, newest
/// first in each.
pub const OPEN_JOBS: usize = 100;
pub const FINISHED_JOBS: usize = 200;
/// Log files larger than this contribute only their last this many bytes.
pub const LOG_TAIL: u64 = 8 * 1024 * 1024;

/// What was written: the archive and the names of its entries.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub path: PathBuf,
    pub entries: Vec<String>,
    pub bytes: u64,
}

/// Removes what must never leave the machine from every text written to the archive.
pub struct Scrub {
    secrets: Vec<Secret>,
}

/// What stands in for a secret found in the text.
pub const SECRET: &str = "[secret removed]";

impl Scrub {
    /// Secrets shorter than this are not searched for: "1" would blank out every digit.
    const SHORTEST: usize = 6;

    pub fn new(secrets: Vec<Secret>) -> Scrub {
        let mut secrets: Vec<Secret> = secrets
            .into_iter()
            .filter(|s| s.expose().len() >= Self::SHORTEST)
            .collect();
        // The longest first: a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.expose().len()));
        Scrub { secrets }
    }

    pub fn text(&self, s: &str) -> String {
        let mut out = crate::redact::text(s).into_owned();
        for secret in &self.secrets {
            if out.contains(secret.expose()) {
                out = out.replace(secret.expose(), SECRET);
            }
        }
        out
    }
}

/// Write the archive to `out` (a `.zip` path; its folder must exist).
pub fn write(engine: &Engine, out: &Path) -> Result<Report> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::new(
            Code::InputNotFound,
            format!(
                "{}: no such folder to save the diagnostics in; choose an existing folder",
                dir.display()
            ),
        ));
    }
    if out.is_dir() {
        return Err(Error::new(
            Code::InputInvalid,
            format!(
                "{} is a folder; give the archive's file name, e.g. {}",
                out.display(),
                out.join("ferry-diagnostics.zip").display()
            ),
        ));
    }
    let scrub = Scrub::new(engine.known_secrets());
    let entries = gather(engine, &scrub);
    let tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| Error::io(e, dir.display()))?;
    let mut zip = zip::ZipWriter::new(tmp.as_file());
    let now = chrono::Local::now().naive_local();
    let when = {
        use chrono::{Datelike, Timelike};
        zip::DateTime::from_date_and_time(
            now.year().clamp(1980, 2107) as u16,
            now.month() as u8,
            now.day() as u8,
            now.hour() as u8,
            now.minute() as u8,
            now.second() as u8,
        )
        .unwrap_or_default()
    };
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(when)
        .unix_permissions(0o600);
    let zerr = |e: zip::result::ZipError| Error::new(Code::Io, format!("{}: {e}", out.display()));
    let mut names = Vec::with_capacity(entries.len());
    for (name, body) in &entries {
        zip.start_file(name.as_str(), opts).map_err(zerr)?;
        zip.write_all(body.as_bytes())
            .map_err(|e| Error::io(e, out.display()))?;
        names.push(name.clone());
    }
    zip.finish().map_err(zerr)?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(e, out.display()))?;
    tmp.persist(out)
        .map_err(|e| Error::io(e.error, out.display()))?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(Report {
        path: out.to_path_buf(),
        entries: names,
        bytes,
    })
}

/// Every entry's name and scrubbed text. A part that cannot be read says why in its
/// place: a diagnostics archive is most wanted when something is broken.
fn gather(engine: &Engine, scrub: &Scrub) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut put = |name: &str, v: Value| {
        let text = serde_json::to_string_pretty(&v).unwrap_or_default();
        out.push((name.to_string(), scrub.text(&text) + "\n"));
    };
    let home = engine.home();
    put(
        "about.json",
        json!({
            "ferry": env!("CARGO_PKG_VERSION"),
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
            "family": std::env::consts::FAMILY,
            "written_at": chrono::Utc::now().to_rfc3339(),
            "config_dir": home.config_dir,
            "data_dir": home.data_dir,
            "log_dir": home.log_dir,
            "schema": crate::db::SCHEMA_VERSION,
        }),
    );
    let cfg = engine.config();
    put("settings.json", to_value(&cfg.settings));
    put("accounts.json", to_value(&engine.accounts()));
    put("jobs.json", jobs(engine));
    put(
        "watch.json",
        match engine.watch_list() {
            Ok(rules) => to_value(&rules),
            Err(e) => json!({ "error": e.to_string() }),
        },
    );
    put("checks.json", checks(engine));
    for (name, text) in logs(&home.log_dir) {
        out.push((format!("logs/{name}"), scrub.text(&text)));
    }
    out.insert(
        0,
        (
            "README.txt".to_string(),
            "Ferry diagnostics: versions, settings, accounts without their secrets, the last \
             jobs, watch rules, checks and recent logs.\nEvery link's query and every secret \
             of this home's accounts were removed before writing.\n"
                .to_string(),
        ),
    );
    out
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_else(|e| json!({ "error": e.to_string() }))
}

/// The newest open jobs and the newest finished ones, with their errors.
fn jobs(engine: &Engine) -> Value {
    let open = engine.jobs_page(OPEN_JOBS, None).map(|p| {
        p.jobs
            .into_iter()
            .filter(|j| {
                !matches!(
                    j.status,
                    crate::JobStatus::Succeeded | crate::JobStatus::Cancelled
                )
            })
            .collect::<Vec<_>>()
    });
    let finished = engine.jobs_page(
        FINISHED_JOBS,
        Some(crate::JobCursor {
            finished: true,
            before: crate::JobId::MAX,
        }),
    );
    match (open, finished) {
        (Ok(open), Ok(finished)) => json!({
            "summary": finished.summary,
            "open": open,
            "finished": finished.jobs,
        }),
        (Err(e), _) | (_, Err(e)) => json!({ "error": e.to_string() }),
    }
}

/// Free space where the records and the library are, whether the keychain answers, and
/// the database's own consistency check.
fn checks(engine: &Engine) -> Value {
    let home = engine.home();
    let free = |dir: &Path| match crate::import::available_bytes(dir) {
        Some(b) => json!({ "folder": dir, "free_bytes": b, "free": crate::media::human_bytes(b) }),
        None => json!({ "folder": dir, "free": "unknown" }),
    };
    let mut disks = vec![free(&home.data_dir)];
    for a in engine.config().accounts.values() {
        if a.kind == crate::Kind::Local {
            if let Some(dir) = a.options.get("dir") {
                disks.push(free(Path::new(dir)));
            }
        }
    }
    json!({
        "disk": disks,
        "keychain": match engine.keychain_check() {
            Ok(()) => json!({ "ok": true }),
            Err(e) => json!({ "ok": false, "error": e.to_string() }),
        },
        "database": match engine.db_check() {
            Ok(v) => json!({ "ok": v == "ok", "quick_check": v }),
            Err(e) => json!({ "ok": false, "error": e.to_string() }),
        },
    })
}

/// The log files in `dir`, oldest rotation last, each at most its last [`LOG_TAIL`] bytes.
fn logs(dir: &Path) -> Vec<(String, String)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("ferry.log"))
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            Some((name, tail(&p).ok()?))
        })
        .collect()
}

fn tail(p: &Path) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(p)?;
    let len = f.metadata()?.len();
    if len > LOG_TAIL {
        f.seek(SeekFrom::Start(len - LOG_TAIL))?;
    }
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_queries_and_every_secret_long_enough() {
        let s = Scrub::new(vec![Secret::new("sk_live_abcdef123"), Secret::new("abc")]);
        let t = s.text("key sk_live_abcdef123 at https://h/p?X-Amz-Signature=zz abc");
        assert!(!t.contains("sk_live_abcdef123") && !t.contains("X-Amz-Signature"));
        assert!(t.contains(SECRET) && t.ends_with(" abc"), "{t}");
    }
}
