//! Content hashes shared by the jobs of one file: a file sent to several destinations at
//! once (fan-out) that must be hashed before sending (it is small, or a duplicate is
//! possible) is hashed once, by whichever of its jobs gets there first, while the others
//! wait for that answer instead of reading the file again; otherwise its shared read
//! (`shares`) hashes it, and the answer is remembered here. Keyed by the file's
//! path, size and mtime and by the addition (its first job's id), so a file that changed
//! — or was rewritten with the same size and mtime and added again — is hashed anew.
//!
//! Only the hashing lives here; when a job hashes is `exec`'s decision.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::transfer::{self, Fingerprint};

/// Entries kept at most; past that the table starts again (a hash is only a saving).
const MAX_ENTRIES: usize = 4096;

type Key = (PathBuf, u64, Option<i64>, i64);

#[derive(Default)]
pub(crate) struct Hashes {
    map: Mutex<HashMap<Key, Arc<tokio::sync::OnceCell<String>>>>,
}

impl Hashes {
    fn cell(
        &self,
        path: &Path,
        fp: &Fingerprint,
        group: i64,
    ) -> Arc<tokio::sync::OnceCell<String>> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.entry((path.to_path_buf(), fp.size, fp.mtime_ns(), group))
            .or_default()
            .clone()
    }

    /// The file's hash: known already, being computed by another job (waited for), or
    /// computed now. A job that is stopped while hashing leaves it to the next one.
    pub(crate) async fn get_or_hash(
        &self,
        path: &Path,
        fp: &Fingerprint,
        group: i64,
        stop: &CancellationToken,
    ) -> Result<String> {
        self.get_or(path, fp, group, transfer::hash_file(path, stop))
            .await
    }

    async fn get_or(
        &self,
        path: &Path,
        fp: &Fingerprint,
        group: i64,
        compute: impl std::future::Future<Output = Result<String>>,
    ) -> Result<String> {
        let cell = self.cell(path, fp, group);
        Ok(cell.get_or_try_init(|| compute).await?.clone())
    }

    /// The hash, if one of the file's jobs has it already.
    pub(crate) fn known(&self, path: &Path, fp: &Fingerprint, group: i64) -> Option<String> {
        self.cell(path, fp, group).get().cloned()
    }

    /// Remember a hash computed another way (tapped while the bytes streamed out).
    pub(crate) fn remember(&self, path: &Path, fp: &Fingerprint, group: i64, hash: &str) {
        let _ = self.cell(path, fp, group).set(hash.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn the_jobs_of_one_file_hash_it_once_and_a_changed_file_again() {
        let hashes = Arc::new(Hashes::default());
        let computed = Arc::new(AtomicUsize::new(0));
        let fp = Fingerprint {
            size: 10,
            mtime: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(5)),
        };
        let path = PathBuf::from("/photos/a.jpg");
        let run = |fp: Fingerprint| {
            let (hashes, computed, path) = (hashes.clone(), computed.clone(), path.clone());
            tokio::spawn(async move {
                hashes
                    .get_or(&path, &fp, 7, async {
                        computed.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        Ok("h1".to_string())
                    })
                    .await
                    .unwrap()
            })
        };
        let three = [run(fp), run(fp), run(fp)];
        for t in three {
            assert_eq!(t.await.unwrap(), "h1");
        }
        assert_eq!(
            computed.load(Ordering::SeqCst),
            1,
            "hashed once for three jobs"
        );
        assert_eq!(hashes.known(&path, &fp, 7).as_deref(), Some("h1"));
        // Another addition of the same file: its own hash.
        assert_eq!(hashes.known(&path, &fp, 9), None);
        let changed = Fingerprint { size: 11, ..fp };
        assert_eq!(hashes.known(&path, &changed, 7), None);
        run(changed).await.unwrap();
        assert_eq!(
            computed.load(Ordering::SeqCst),
            2,
            "a changed file is hashed anew"
        );
        // A failed attempt leaves the hash to the next job.
        let other = PathBuf::from("/photos/b.jpg");
        let e = hashes
            .get_or(&other, &fp, 7, async {
                Err(crate::error::Error::cancelled())
            })
            .await;
        assert!(e.is_err());
        assert_eq!(hashes.known(&other, &fp, 7), None);
    }
}
