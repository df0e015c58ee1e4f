//! A log file that is always written, kept small by rotating it: `ferry.log`, then
//! `ferry.1.log` … `ferry.N.log` for older lines, the oldest dropped. The desktop app
//! writes one in `Home::log_dir` from its first line, so a start-up failure on a machine
//! with no console (a release Windows build, an app started from the Dock) can still be
//! read afterwards.
//!
//! This module only stores bytes. What is logged, and the redaction every line goes
//! through (`redact::Writer` wrapped around [`LogWriter`]), belong to the caller; nothing
//! here formats, filters or looks at the lines.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The current file's name.
pub const FILE: &str = "ferry.log";
/// A file is rotated before a write would take it past this size.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;
/// Older files kept besides the current one (so at most 5 × 4 MiB on disk).
pub const KEEP: usize = 4;

/// The log folder's files, shared by every writer of the process.
#[derive(Clone)]
pub struct LogFile {
    inner: Arc<Mutex<State>>,
}

struct State {
    dir: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: Option<File>,
    len: u64,
}

impl LogFile {
    /// Open (or create) `dir/ferry.log` for appending, with the default limits.
    pub fn open(dir: &Path) -> io::Result<LogFile> {
        LogFile::with_limits(dir, MAX_BYTES, KEEP)
    }

    /// As [`LogFile::open`] with other limits (tests).
    pub fn with_limits(dir: &Path, max_bytes: u64, keep: usize) -> io::Result<LogFile> {
        std::fs::create_dir_all(dir)?;
        let mut st = State {
            dir: dir.to_path_buf(),
            max_bytes: max_bytes.max(1),
            keep,
            file: None,
            len: 0,
        };
        st.reopen()?;
        Ok(LogFile {
            inner: Arc::new(Mutex::new(st)),
        })
    }

    /// The current file.
    pub fn path(&self) -> PathBuf {
        self.inner.lock().expect("log lock").dir.join(FILE)
    }

    /// A writer for `tracing_subscriber`'s `MakeWriter` (one per event).
    pub fn writer(&self) -> LogWriter {
        LogWriter { log: self.clone() }
    }

    /// Append `bytes` as one piece (never split across two files).
    pub fn append(&self, bytes: &[u8]) -> io::Result<()> {
        let mut st = self.inner.lock().expect("log lock");
        if st.len > 0 && st.len + bytes.len() as u64 > st.max_bytes {
            st.rotate()?;
        }
        if st.file.is_none() {
            // An earlier failure (a full disk, the folder gone): try again now.
            st.reopen()?;
        }
        let file = st.file.as_mut().expect("log file open");
        if let Err(e) = file.write_all(bytes) {
            st.file = None;
            return Err(e);
        }
        st.len += bytes.len() as u64;
        Ok(())
    }
}

impl State {
    fn numbered(&self, n: usize) -> PathBuf {
        self.dir.join(format!("ferry.{n}.log"))
    }

    fn reopen(&mut self) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(FILE))?;
        self.len = file.metadata()?.len();
        self.file = Some(file);
        Ok(())
    }

    /// `ferry.log` → `ferry.1.log` → … → `ferry.KEEP.log` → gone.
    fn rotate(&mut self) -> io::Result<()> {
        // Closed first: Windows renames an open file only if every handle allows it.
        self.file = None;
        if self.keep == 0 {
            std::fs::remove_file(self.dir.join(FILE)).or_else(not_found_ok)?;
        } else {
            std::fs::remove_file(self.numbered(self.keep)).or_else(not_found_ok)?;
            for n in (1..self.keep).rev() {
                std::fs::rename(self.numbered(n), self.numbered(n + 1)).or_else(not_found_ok)?;
            }
            std::fs::rename(self.dir.join(FILE), self.numbered(1)).or_else(not_found_ok)?;
        }
        self.reopen()
    }
}

fn not_found_ok(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

/// One event's writer: `tracing_subscriber` writes each event with one `write_all`, so an
/// event is one [`LogFile::append`] and never straddles a rotation.
pub struct LogWriter {
    log: LogFile,
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.log.append(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Every append goes straight to the file (no buffer to flush).
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(p: PathBuf) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    #[test]
    fn lines_are_appended_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        LogFile::open(dir.path()).unwrap().append(b"one\n").unwrap();
        let log = LogFile::open(dir.path()).unwrap();
        log.writer().write_all(b"two\n").unwrap();
        assert_eq!(read(log.path()), "one\ntwo\n");
        assert_eq!(log.path(), dir.path().join("ferry.log"));
    }

    #[test]
    fn a_full_file_rotates_and_the_oldest_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let log = LogFile::with_limits(dir.path(), 10, 2).unwrap();
        for line in ["aaaaaaa\n", "bbbbbbb\n", "ccccccc\n", "ddddddd\n"] {
            log.append(line.as_bytes()).unwrap();
        }
        let d = dir.path();
        assert_eq!(read(d.join("ferry.log")), "ddddddd\n");
        assert_eq!(read(d.join("ferry.1.log")), "ccccccc\n");
        assert_eq!(read(d.join("ferry.2.log")), "bbbbbbb\n");
        assert!(!d.join("ferry.3.log").exists(), "only KEEP older files");
        // A line bigger than the limit still goes in whole, into a file of its own.
        log.append(b"a long line past the limit\n").unwrap();
        assert_eq!(read(d.join("ferry.log")), "a long line past the limit\n");
        assert_eq!(read(d.join("ferry.1.log")), "ddddddd\n");
    }

    #[test]
    fn a_file_left_full_by_the_last_run_rotates_at_the_first_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "x".repeat(20)).unwrap();
        let log = LogFile::with_limits(dir.path(), 16, 1).unwrap();
        log.append(b"new\n").unwrap();
        assert_eq!(read(dir.path().join("ferry.log")), "new\n");
        assert_eq!(read(dir.path().join("ferry.1.log")), "x".repeat(20));
    }

    #[test]
    fn a_removed_folder_is_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let log = LogFile::open(&logs).unwrap();
        // As after a failed write (a full disk): the file is closed, and the folder goes
        // meanwhile (someone cleaned up).
        log.inner.lock().unwrap().file = None;
        std::fs::remove_dir_all(&logs).unwrap();
        log.append(b"back\n").unwrap();
        assert_eq!(read(logs.join("ferry.log")), "back\n");
    }
}
