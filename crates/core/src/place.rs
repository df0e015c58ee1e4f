//! Giving a finished file its final name without ever replacing another file, on every
//! filesystem a library or a watched folder lives on: ext4 and APFS, but also exFAT and
//! FAT camera cards and SSDs, SMB/NAS shares and FUSE mounts, which have no hard links
//! and often no "rename unless the name exists".
//!
//! Only the move is here; which names to try (` (2)`, ` (3)`…) is the caller's.

use std::io;
use std::path::Path;

/// Move `src` to `dest` if `dest` does not exist. `AlreadyExists` when it does: the
/// caller tries its next name. Never replaces a file, never shows a partial one under
/// `dest`.
///
/// The platform's own no-replace rename first (Linux `renameat2(RENAME_NOREPLACE)`,
/// macOS `renamex_np(RENAME_EXCL)`, Windows `MoveFileEx` without replace, through
/// tempfile), where the filesystem lacks it a hard link. Where it has neither (exFAT,
/// FAT, most SMB shares), the name is claimed with an exclusive create — atomic on every
/// filesystem — and the finished file renamed over that empty claim, so a file that
/// appeared meanwhile under the name is never overwritten.
pub fn rename_no_clobber(src: &Path, dest: &Path) -> io::Result<()> {
    match tempfile::TempPath::try_from_path(src)?.persist_noclobber(dest) {
        Ok(()) => Ok(()),
        Err(e) => {
            // Keep the source where it is: failing to move it must not delete it.
            let _ = e.path.keep();
            if e.error.kind() == io::ErrorKind::AlreadyExists || !unsupported(&e.error) {
                return Err(e.error);
            }
            claim_then_rename(src, dest)
        }
    }
}

fn claim_then_rename(src: &Path, dest: &Path) -> io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)?;
    if let Err(e) = std::fs::rename(src, dest) {
        let _ = std::fs::remove_file(dest);
        return Err(e);
    }
    Ok(())
}

/// The filesystem cannot do a no-replace rename or a hard link (as opposed to a real
/// failure: no permission, no space, a missing folder).
fn unsupported(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::Unsupported {
        return true;
    }
    #[cfg(unix)]
    {
        use rustix::io::Errno;
        Errno::from_io_error(e).is_some_and(|n| {
            [
                Errno::PERM,
                Errno::INVAL,
                Errno::NOTSUP,
                Errno::OPNOTSUPP,
                Errno::NOSYS,
                Errno::MLINK,
            ]
            .contains(&n)
        })
    }
    #[cfg(windows)]
    {
        // ERROR_INVALID_FUNCTION, ERROR_NOT_SUPPORTED, ERROR_INVALID_PARAMETER.
        matches!(e.raw_os_error(), Some(1 | 50 | 87))
    }
    #[cfg(not(any(unix, windows)))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_name_is_refused_and_both_files_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.part"), dir.path().join("b.png"));
        std::fs::write(&a, b"new").unwrap();
        std::fs::write(&b, b"old").unwrap();
        let e = rename_no_clobber(&a, &b).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&a).unwrap(), b"new");
        assert_eq!(std::fs::read(&b).unwrap(), b"old");
        let c = dir.path().join("b (2).png");
        rename_no_clobber(&a, &c).unwrap();
        assert!(!a.exists());
        assert_eq!(std::fs::read(&c).unwrap(), b"new");
    }

    #[test]
    fn the_fallback_claims_the_name_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.part"), dir.path().join("b.png"));
        std::fs::write(&a, b"new").unwrap();
        std::fs::write(&b, b"old").unwrap();
        let e = claim_then_rename(&a, &b).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&b).unwrap(), b"old");
        let c = dir.path().join("c.png");
        claim_then_rename(&a, &c).unwrap();
        assert_eq!(std::fs::read(&c).unwrap(), b"new");
        assert!(!a.exists());
    }
}
