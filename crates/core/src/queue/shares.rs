//! Reads shared by the jobs of one file: the jobs of a fan-out that send at the same time
//! read the file once between them (`transfer::shared`). Keyed like `hashes` — the
//! file's path, size and mtime and the addition (its first job's id) — so a file that
//! changed is never served from another version's chunks. A share lives while one of
//! its jobs reads through it; the table keeps only weak references.
//!
//! Which jobs share is `exec`'s decision; the reading is `transfer::shared`'s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use crate::transfer::shared::{Member, SharedRead};
use crate::transfer::Fingerprint;

type Key = (PathBuf, u64, Option<i64>, i64);

#[derive(Default)]
pub(crate) struct Shares {
    map: Mutex<HashMap<Key, Weak<SharedRead>>>,
}

impl Shares {
    /// A place in the file's share, made if no job reads it now; `None` when the share
    /// is full (that job reads by itself).
    pub(crate) fn join(&self, path: &Path, fp: &Fingerprint, group: i64) -> Option<Member> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, w| w.strong_count() > 0);
        let key = (path.to_path_buf(), fp.size, fp.mtime_ns(), group);
        let share = match map.get(&key).and_then(Weak::upgrade) {
            Some(s) => s,
            None => {
                let s = SharedRead::new(fp.size);
                map.insert(key, Arc::downgrade(&s));
                s
            }
        };
        share.join()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_of_one_addition_share_and_others_do_not() {
        let shares = Shares::default();
        let fp = Fingerprint {
            size: 10,
            mtime: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(5)),
        };
        let path = PathBuf::from("/videos/a.mp4");
        let a = shares.join(&path, &fp, 7).unwrap();
        let b = shares.join(&path, &fp, 7).unwrap();
        assert!(Arc::ptr_eq(a.share(), b.share()), "one addition: one read");
        let other = shares.join(&path, &fp, 9).unwrap();
        assert!(!Arc::ptr_eq(a.share(), other.share()), "another addition");
        let changed = Fingerprint { size: 11, ..fp };
        let c = shares.join(&path, &changed, 7).unwrap();
        assert!(!Arc::ptr_eq(a.share(), c.share()), "a changed file");
        let first = Arc::downgrade(a.share());
        drop((a, b));
        assert!(first.upgrade().is_none(), "gone with its last member");
        assert_eq!(shares.map.lock().unwrap().len(), 3);
        let _d = shares.join(&path, &fp, 7).unwrap();
        assert_eq!(
            shares.map.lock().unwrap().len(),
            3,
            "dead entries are swept"
        );
    }
}
