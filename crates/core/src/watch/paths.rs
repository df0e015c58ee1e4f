//! How a watch rule recognises the paths the OS reports as its own. A rule stores its
//! folder as it was given; the OS may name the same folder otherwise: notify
//! canonicalises the watched root on macOS (FSEvents reports real paths: `/private/var`
//! for `/var`, the target of a linked Dropbox folder), and on macOS and Windows two names
//! that differ in case, or in Unicode normalisation (HFS+ and many tools hand out NFD),
//! are one file. Events are translated back into the rule's own naming, which is how the
//! scan names files and how the "already taken" records are keyed.
//!
//! Nothing here touches the disk except [`canonical`].

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

/// Whether this platform's filesystems usually treat names as equal regardless of case
/// and normalisation (APFS and HFS+ by default, NTFS).
pub const NAMES_FOLD: bool = cfg!(any(target_os = "macos", target_os = "windows"));

/// The folder as the OS will report it (symlinks resolved), if it can be resolved.
pub fn canonical(dir: &Path) -> Option<PathBuf> {
    let c = std::fs::canonicalize(dir).ok()?;
    // Windows' canonical form is a `\\?\` verbatim path; events use the plain one.
    #[cfg(windows)]
    let c = c
        .to_str()
        .and_then(|s| s.strip_prefix(r"\\?\"))
        .filter(|s| !s.starts_with("UNC\\"))
        .map(PathBuf::from)
        .unwrap_or(c);
    Some(c)
}

/// `event` as the rule names it: `dir` joined with the part of `event` below `dir` or
/// below its canonical form. `None` if the event is not inside the rule's folder.
pub fn in_rule(dir: &Path, canonical: Option<&Path>, event: &Path, fold: bool) -> Option<PathBuf> {
    for root in std::iter::once(dir).chain(canonical) {
        if let Some(rel) = below(root, event, fold) {
            return Some(if rel.as_os_str().is_empty() {
                dir.to_path_buf()
            } else {
                dir.join(rel)
            });
        }
    }
    None
}

/// The part of `path` below `root`, comparing names as the filesystem would.
fn below(root: &Path, path: &Path, fold: bool) -> Option<PathBuf> {
    if let Ok(rel) = path.strip_prefix(root) {
        return Some(rel.to_path_buf());
    }
    if !fold {
        return None;
    }
    let mut rest = path.components();
    for want in root.components() {
        match (want, rest.next()?) {
            (Component::Normal(a), Component::Normal(b)) if same_name(a, b) => {}
            (a, b) if a == b => {}
            _ => return None,
        }
    }
    Some(rest.as_path().to_path_buf())
}

/// Equal ignoring case and Unicode normalisation.
fn same_name(a: &OsStr, b: &OsStr) -> bool {
    let norm = |s: &OsStr| s.to_string_lossy().nfc().collect::<String>().to_lowercase();
    a == b || norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_under_the_canonical_root_is_named_as_the_rule_names_it() {
        let (dir, canon) = (Path::new("/var/cards"), Path::new("/private/var/cards"));
        let ev = Path::new("/private/var/cards/DCIM/a.jpg");
        assert_eq!(
            in_rule(dir, Some(canon), ev, false),
            Some(PathBuf::from("/var/cards/DCIM/a.jpg"))
        );
        assert_eq!(
            in_rule(dir, Some(canon), Path::new("/var/cards/b.jpg"), false),
            Some(PathBuf::from("/var/cards/b.jpg"))
        );
        assert_eq!(
            in_rule(dir, Some(canon), Path::new("/elsewhere/c.jpg"), false),
            None
        );
    }

    #[test]
    fn case_and_normalisation_differences_match_only_where_names_fold() {
        // "Café" typed in NFC; the OS reports NFD and another case.
        let dir = Path::new("/Users/me/Caf\u{e9} Photos");
        let ev = Path::new("/users/me/CAFE\u{301} photos/x.jpg");
        assert_eq!(
            in_rule(dir, None, ev, true),
            Some(PathBuf::from("/Users/me/Caf\u{e9} Photos/x.jpg"))
        );
        assert_eq!(
            in_rule(dir, None, ev, false),
            None,
            "Linux: different names"
        );
    }

    #[test]
    fn a_symlinked_folder_resolves_to_its_target() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        #[cfg(unix)]
        {
            let link = tmp.path().join("link");
            std::os::unix::fs::symlink(&real, &link).unwrap();
            assert_eq!(canonical(&link), canonical(&real));
            let ev = canonical(&real).unwrap().join("a.png");
            assert_eq!(
                in_rule(&link, canonical(&link).as_deref(), &ev, false),
                Some(link.join("a.png"))
            );
        }
        assert!(canonical(&real).is_some());
    }
}
