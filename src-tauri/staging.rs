//! The staging folder (FERRY_HOME/staging): clipboard images become PNG files here before
//! they are queued, so a failed upload can be retried from a real file and nothing pasted
//! is lost. Files appear under their final name only when complete.

use std::path::{Path, PathBuf};

use ferry_core::Code;

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
    let part = dir.join(format!(".pasted-{stamp}-{}.part", std::process::id()));
    img.save_with_format(&part, image::ImageFormat::Png)
        .map_err(|e| CommandError::input(Code::Io, format!("{}: {e}", part.display())))?;
    for n in 1..1000u32 {
        let name = if n == 1 {
            format!("pasted-{stamp}.png")
        } else {
            format!("pasted-{stamp}-{n}.png")
        };
        let dest = dir.join(name);
        // A hard link fails if the name is taken, so two pastes in one second both survive.
        match std::fs::hard_link(&part, &dest) {
            Ok(()) => {
                let _ = std::fs::remove_file(&part);
                return Ok(dest);
            }
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
