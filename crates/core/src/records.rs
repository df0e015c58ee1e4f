//! The record of everything Ferry has sent: one JSON line per remote item, appended and
//! synced before a result is reported. `ferry library` reads it. Holds names, ids, URLs
//! and statuses — never a secret.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::providers::{Kind, RemoteMedia};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub account: String,
    pub kind: Kind,
    /// The path or URL the user gave.
    pub input: String,
    pub media: RemoteMedia,
    pub sent_at: DateTime<Utc>,
}

pub struct Records {
    path: PathBuf,
    lock: std::sync::Mutex<()>,
}

impl Records {
    pub fn new(path: PathBuf) -> Self {
        Records {
            path,
            lock: std::sync::Mutex::new(()),
        }
    }

    pub fn append(&self, records: &[Record]) -> Result<()> {
        let _guard = self.lock.lock().expect("records lock");
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(e, dir.display()))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| Error::io(e, self.path.display()))?;
        let mut buf = Vec::new();
        for r in records {
            serde_json::to_writer(&mut buf, r)
                .map_err(|e| Error::new(crate::error::Code::Internal, e.to_string()))?;
            buf.push(b'\n');
        }
        f.write_all(&buf)
            .map_err(|e| Error::io(e, self.path.display()))?;
        f.sync_data().map_err(|e| Error::io(e, self.path.display()))
    }

    /// Every record, oldest first; a line that cannot be read (e.g. cut by a crash) is
    /// skipped with a warning rather than hiding the rest.
    pub fn all(&self) -> Result<Vec<Record>> {
        let f = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(e, self.path.display())),
        };
        let mut out = Vec::new();
        for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
            let line = line.map_err(|e| Error::io(e, self.path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(&line) {
                Ok(r) => out.push(r),
                Err(e) => tracing::warn!("{} line {}: {e}", self.path.display(), i + 1),
            }
        }
        Ok(out)
    }
}
