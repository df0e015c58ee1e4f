//! Scanning a watched folder: which names are never taken (temp and partial files,
//! dotfiles, the rule's excludes), and walking the folder without following symlinks, so
//! a symlink loop cannot hang the scan. Unreadable entries are reported, not fatal.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::After;
use crate::error::{Code, Error, Result};

/// A regular file as the scan saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: Option<i64>,
}

pub fn stat(path: &Path) -> Option<FileInfo> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() {
        return None;
    }
    Some(FileInfo {
        path: path.to_path_buf(),
        size: meta.len(),
        mtime_ns: meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i64),
    })
}

/// Whether another program still has the file open for writing, where the OS can tell:
/// on Windows a writer's handle refuses a reader that will not share writing (a sharing
/// violation, error 32, or a lock violation, 33). A copy that keeps a file open but
/// paused longer than the settle time is caught here. Elsewhere there is no such
/// signal; the settle time alone decides.
pub fn held_by_a_writer(path: &Path) -> bool {
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        const FILE_SHARE_READ: u32 = 1;
        match std::fs::OpenOptions::new()
            .read(true)
            .share_mode(FILE_SHARE_READ)
            .open(path)
        {
            Ok(_) => false,
            Err(e) => crate::error::is_sharing_violation(&e),
        }
    }
    #[cfg(not(windows))]
    {
        let _ = path;
        false
    }
}

/// Names writers use while a file is incomplete, and files that are never media.
pub fn is_temp_name(name: &str) -> bool {
    const SUFFIXES: [&str; 6] = [
        ".part",
        ".partial",
        ".crdownload",
        ".download",
        ".tmp",
        ".temp",
    ];
    let lower = name.to_ascii_lowercase();
    name.starts_with('.') // dotfiles, .DS_Store, .~lock.*
        || name.starts_with("~$")
        || name.ends_with('~')
        || SUFFIXES.iter().any(|s| lower.ends_with(s))
}

/// The rule's include/exclude globs, plus the after-upload subfolder (never rescanned).
#[derive(Debug, Clone)]
pub struct Filters {
    include: Option<GlobSet>,
    exclude: GlobSet,
    skip_dir: Option<String>,
}

/// Globs match regardless of case: cameras write `DSC_0001.JPG`, people type `*.jpg`,
/// and macOS and Windows treat the two names as one anyway.
fn globs(patterns: &[String]) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(
            GlobBuilder::new(p)
                .case_insensitive(true)
                .build()
                .map_err(|e| Error::new(Code::ConfigInvalid, format!("bad glob `{p}`: {e}")))?,
        );
    }
    b.build()
        .map_err(|e| Error::new(Code::ConfigInvalid, e.to_string()))
}

impl Filters {
    pub fn new(include: &[String], exclude: &[String], after: &After) -> Result<Filters> {
        Ok(Filters {
            include: (!include.is_empty()).then(|| globs(include)).transpose()?,
            exclude: globs(exclude)?,
            skip_dir: match after {
                After::Move(d) => Some(d.trim_matches('/').to_string()),
                _ => None,
            },
        })
    }

    /// Whether a file at `rel` (relative to the watched folder) may be taken.
    pub fn wants(&self, rel: &Path) -> bool {
        let Some(name) = rel.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        if is_temp_name(name) || self.exclude.is_match(name) || self.exclude.is_match(rel) {
            return false;
        }
        if rel.components().count() > 1
            && rel
                .components()
                .next()
                .is_some_and(|c| self.skip_dir.as_deref() == c.as_os_str().to_str())
        {
            return false;
        }
        // Files inside hidden folders are someone's internals, not media to send.
        if rel.parent().is_some_and(|p| {
            p.components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        }) {
            return false;
        }
        match &self.include {
            Some(inc) => inc.is_match(name) || inc.is_match(rel),
            None => true,
        }
    }

    /// Whether a recursive rule never takes anything at or below `rel`: one of its
    /// folders is skipped, or the exclude globs match what is inside it.
    pub fn cannot_reach(&self, rel: &Path) -> bool {
        let mut prefix = PathBuf::new();
        for c in rel.components() {
            prefix.push(c);
            if self.skips_dir(&prefix) {
                return true;
            }
        }
        let probe = rel.join("ferry.db");
        self.exclude.is_match(rel) || self.exclude.is_match(&probe)
    }

    pub fn skips_dir(&self, rel: &Path) -> bool {
        let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
        name.starts_with('.')
            || (rel.components().count() == 1 && self.skip_dir.as_deref() == Some(name))
    }
}

#[derive(Debug, Default)]
pub struct Found {
    pub files: Vec<FileInfo>,
    /// Entries that could not be read (permission, vanished), with the reason.
    pub errors: Vec<String>,
}

/// Walk `dir` (one level, or all levels when `recursive`) for files the filters want.
/// Symlinks are not followed, so loops end the walk instead of hanging it.
pub fn scan(dir: &Path, recursive: bool, filters: &Filters) -> Found {
    let mut found = Found::default();
    let mut stack = vec![dir.to_path_buf()];
    // A bound on folders visited: a pathological tree cannot explode memory or time.
    let mut budget = 1_000_000usize;
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) => {
                found.errors.push(format!("{}: {e}", d.display()));
                continue;
            }
        };
        for entry in entries {
            budget = budget.saturating_sub(1);
            if budget == 0 {
                found
                    .errors
                    .push(format!("{}: too many entries; scan stopped", dir.display()));
                return found;
            }
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    found.errors.push(format!("{}: {e}", d.display()));
                    continue;
                }
            };
            let path = entry.path();
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                if recursive && !filters.skips_dir(&rel) {
                    stack.push(path);
                }
            } else if ft.is_file() && filters.wants(&rel) {
                if let Some(info) = stat(&path) {
                    found.files.push(info);
                }
            }
        }
    }
    found.files.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_and_partial_names_are_never_taken() {
        for n in [
            "a.part",
            "b.PARTIAL",
            "c.crdownload",
            "d.download",
            "e.tmp",
            "f.temp",
            "~$g.docx",
            ".~lock.h#",
            "i.jpg~",
            ".DS_Store",
            ".hidden.jpg",
        ] {
            assert!(is_temp_name(n), "{n}");
        }
        for n in ["photo.jpg", "clip.mp4", "partial-view.png"] {
            assert!(!is_temp_name(n), "{n}");
        }
    }

    #[test]
    fn includes_excludes_and_the_move_folder() {
        let f = Filters::new(
            &["*.jpg".into()],
            &["skip-*".into()],
            &After::Move("done".into()),
        )
        .unwrap();
        assert!(f.wants(Path::new("a.jpg")));
        assert!(f.wants(Path::new("sub/a.jpg")));
        assert!(!f.wants(Path::new("a.png")));
        assert!(!f.wants(Path::new("skip-me.jpg")));
        assert!(!f.wants(Path::new("done/a.jpg")));
        assert!(f.skips_dir(Path::new("done")));
        assert!(Filters::new(&["[".into()], &[], &After::Keep).is_err());
    }

    #[test]
    fn globs_match_regardless_of_case() {
        let f = Filters::new(
            &["*.jpg".into(), "*.MP4".into()],
            &["skip-*".into()],
            &After::Keep,
        )
        .unwrap();
        assert!(f.wants(Path::new("DSC_0001.JPG")));
        assert!(f.wants(Path::new("DCIM/100MSDCF/DSC_0002.Jpg")));
        assert!(f.wants(Path::new("clip.mp4")));
        assert!(!f.wants(Path::new("SKIP-me.JPG")));
        assert!(!f.wants(Path::new("notes.txt")));
    }
}
