//! The staging folder (FERRY_HOME/staging): clipboard images become PNG files here before
//! they are queued, so a failed upload can be retried from a real file and nothing pasted
//! is lost. Files appear under their final name only when complete, and are pruned a
//! week after they were uploaded (never before, never if the upload failed).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ferry_core::{Code, Job, JobStatus};

use crate::error::{CmdResult, CommandError};

/// Write RGBA pixels as `pasted-YYYYMMDD-HHMMSS[-N].png` in `dir`; never overwrites.
pub fn save_png(dir: &Path, rgba: &[u8], width: u32, height: u32) -> CmdResult<PathBuf> {
    let img = image::RgbaImage::from_raw(width, height, rgba.to_vec())
        .filter(|_| width > 0 && height > 0)
        .ok_or_else(|| {
            CommandError::new(
                "clipboard.no_image",
                format!("the clipboard image is malformed ({width}×{height})"),
            )
        })?;
    std::fs::create_dir_all(dir)
        .map_err(|e| CommandError::input(Code::Io, format!("{}: {e}", dir.display())))?;
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    // Unique per call: two pastes may be saved at the same moment.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let part = dir.join(format!(".pasted-{stamp}-{}-{n}.part", std::process::id()));
    img.save_with_format(&part, image::ImageFormat::Png)
        .map_err(|e| CommandError::input(Code::Io, format!("{}: {e}", part.display())))?;
    for n in 1..1000u32 {
        let name = if n == 1 {
            format!("pasted-{stamp}.png")
        } else {
            format!("pasted-{stamp}-{n}.png")
        };
        let dest = dir.join(name);
        // Refused if the name is taken, so two pastes in one second both survive; no
        // hard links needed (FERRY_HOME may be on exFAT or a share).
        match ferry_core::place::rename_no_clobber(&part, &dest) {
            Ok(()) => return Ok(dest),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                return Err(CommandError::input(
                    Code::Io,
                    format!("{}: {e}", dest.display()),
                ));
            }
        }
    }
    let _ = std::fs::remove_file(&part);
    Err(CommandError::input(
        Code::Io,
        format!("too many pasted images this second in {}", dir.display()),
    ))
}

/// How long a pasted image stays in staging after it was uploaded ("show file" and
/// thumbnails use it meanwhile).
pub const KEEP_AFTER_UPLOAD: Duration = Duration::from_secs(7 * 24 * 3600);

/// Delete the staged images that every job sending them has finished successfully (or
/// was cancelled after one succeeded) and that are older than `keep`. Images with no job,
/// or a job failed or still to run, stay. Returns the names deleted.
pub fn prune(dir: &Path, jobs: &[Job], now: SystemTime, keep: Duration) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut deleted = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("pasted-") && name.ends_with(".png")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= keep);
        let input = path.to_string_lossy();
        let mine: Vec<&Job> = jobs.iter().filter(|j| j.input == input).collect();
        let sent = mine.iter().any(|j| j.status == JobStatus::Succeeded)
            && mine
                .iter()
                .all(|j| matches!(j.status, JobStatus::Succeeded | JobStatus::Cancelled));
        if old && sent && std::fs::remove_file(&path).is_ok() {
            deleted.push(name);
        }
    }
    deleted
}
