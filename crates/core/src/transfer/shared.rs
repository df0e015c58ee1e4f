//! One read of a file for the jobs that send it to several destinations at the same time
//! (fan-out). Whichever job needs a chunk first reads it from disk into a bounded cache;
//! the others take the same bytes from there, and the chunk leaves the cache once every
//! member has had it. The cache's chunks are hashed in order as they arrive, so the
//! file's content hash costs no read of its own either.
//!
//! Memory stays flat: at most [`SHARE_BUFFERS`] chunks (plus [`HOLE_BUFFERS`] for chunks
//! behind the furthest one read, which parallel ranges — S3's parts — leave as holes)
//! are held, whatever the file's size. The member furthest ahead waits for the others
//! when the cache is full, so a fast destination (the local library) runs at the pace
//! of the slowest one that is moving. One that stops moving (a retry's back-off, an
//! offline hold, a disk busy flushing) does not hold the rest: after [`STALL`] without
//! any progress the waiting member reads on by itself, the stopped one finds its chunks
//! kept, and once it moves again they share again.
//!
//! Reads happen on the blocking threads of `transfer::read_ahead`. Which jobs share a
//! read is the queue's decision (`queue::shares`); nothing here knows jobs or providers.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Pool, READ_CHUNK};

/// Chunks the cache holds at most (96 MiB) before the member furthest ahead waits: a
/// slowest member that sends in parallel ranges needs their whole span in the cache to
/// keep them all going (S3's eight 8 MiB parts span 64 MiB), and the others 32 MiB of
/// lead beyond it (measured: with 32 MiB in all, S3 ran fewer parts at once and the
/// three destinations took longer than S3 alone).
pub const SHARE_BUFFERS: usize = 192;
/// Chunks beyond that for holes behind the furthest chunk read: parallel ranges read
/// ahead in several places at once.
pub const HOLE_BUFFERS: usize = 64;
/// How long a member waits for room in the cache while nobody makes progress before it
/// reads on alone.
pub const STALL: Duration = Duration::from_secs(2);
/// While the share is this young, chunks every member has had are kept (room allowing)
/// for the jobs still getting ready to send: the first one starts reading a few
/// milliseconds before the others ask for their first bytes.
const WELCOME: Duration = Duration::from_secs(1);
/// Members of one share at most; more read by themselves.
const MAX_MEMBERS: u32 = 64;
/// How often a waiting reader looks again (a buffer coming back does not wake it).
const POLL: Duration = Duration::from_millis(10);

/// One file's shared read.
pub struct SharedRead {
    size: u64,
    chunks: u64,
    state: Mutex<State>,
    changed: Condvar,
    pool: Arc<Pool>,
    born: Instant,
}

struct State {
    cached: HashMap<u64, Cached>,
    /// Chunks being read from disk into the cache right now.
    reading: HashSet<u64>,
    /// Members' bits (slot `n` is bit `n`).
    members: u64,
    /// Members that stopped waiting for room and read what is not cached by themselves,
    /// until one of the members they waited for (`holding`) moves again.
    alone: u64,
    holding: u64,
    /// Per member slot: the chunks it has had.
    had: Vec<Vec<u64>>,
    /// The furthest chunk read into the cache.
    front: Option<u64>,
    hash: Hash,
    /// The next chunk to hash.
    hashed: u64,
    /// The last time a chunk came into the cache or went to a member from it.
    progress: Instant,
    /// Bytes read from disk, shared or not (what the share saves is seen here).
    read: u64,
    /// Members that ever joined.
    joined: u32,
}

struct Cached {
    bytes: Bytes,
    /// Members that have not had it yet.
    waiting: u64,
}

enum Hash {
    Running(Box<blake3::Hasher>),
    Done(String),
    /// A chunk was read past a gap and not kept: the hash is computed another way.
    Lost,
}

/// A job's place in a share. Dropped (with the last range reading for it) it leaves, and
/// the chunks kept only for it go.
pub struct Member {
    share: Arc<SharedRead>,
    slot: u32,
}

impl SharedRead {
    pub fn new(size: u64) -> Arc<Self> {
        Arc::new(SharedRead {
            size,
            chunks: size.div_ceil(READ_CHUNK as u64),
            state: Mutex::new(State {
                cached: HashMap::new(),
                reading: HashSet::new(),
                members: 0,
                alone: 0,
                holding: 0,
                had: Vec::new(),
                front: None,
                hash: Hash::Running(Box::default()),
                hashed: 0,
                progress: Instant::now(),
                read: 0,
                joined: 0,
            }),
            changed: Condvar::new(),
            pool: Pool::new(),
            born: Instant::now(),
        })
    }

    /// A new member, who has had nothing yet; `None` when the share is full.
    pub fn join(self: &Arc<Self>) -> Option<Member> {
        let mut st = self.lock();
        self.sweep(&mut st, false);
        let slot = (0..MAX_MEMBERS).find(|s| st.members & (1 << s) == 0)?;
        let bit = 1u64 << slot;
        st.members |= bit;
        st.alone &= !bit;
        st.holding &= !bit;
        st.joined += 1;
        let words = self.chunks.div_ceil(64) as usize;
        if st.had.len() <= slot as usize {
            st.had.resize(slot as usize + 1, Vec::new());
        }
        st.had[slot as usize] = vec![0; words];
        for c in st.cached.values_mut() {
            c.waiting |= bit;
        }
        Some(Member {
            share: self.clone(),
            slot,
        })
    }

    /// The file's BLAKE3, once every chunk has passed through the share in order.
    pub fn hash(&self) -> Option<String> {
        match &self.lock().hash {
            Hash::Done(h) => Some(h.clone()),
            _ => None,
        }
    }

    /// Bytes read from disk for this share's members so far.
    pub fn bytes_read(&self) -> u64 {
        self.lock().read
    }

    /// Bytes the cache holds now and held at most.
    pub fn held(&self) -> &super::Held {
        &self.pool.held
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn chunk_len(&self, i: u64) -> usize {
        (self.size - i * READ_CHUNK as u64).min(READ_CHUNK as u64) as usize
    }

    fn young(&self) -> bool {
        self.born.elapsed() < WELCOME
    }

    /// Drop what no member and not the hash still needs. While the share is young,
    /// chunks stay for members yet to join as long as `room` is not asked for.
    fn sweep(&self, st: &mut State, room: bool) {
        let keep_for_late = self.young() && !room;
        let State {
            cached,
            hash,
            hashed,
            ..
        } = st;
        let hashing = matches!(hash, Hash::Running(_));
        cached.retain(|&i, c| c.waiting != 0 || (hashing && i >= *hashed) || keep_for_late);
    }

    /// Hash the cached chunks that continue the hash.
    fn advance_hash(&self, st: &mut State) {
        while let Hash::Running(h) = &mut st.hash {
            if st.hashed == self.chunks {
                let done = h.finalize().to_hex().to_string();
                st.hash = Hash::Done(done);
                break;
            }
            let Some(c) = st.cached.get(&st.hashed) else {
                break;
            };
            h.update(&c.bytes);
            st.hashed += 1;
        }
    }

    /// Feed bytes read outside the cache to the hash: they continue it or, past a gap,
    /// lose it (they will not be seen again).
    fn hash_uncached(&self, st: &mut State, i: u64, bytes: &[u8]) {
        if let Hash::Running(h) = &mut st.hash {
            if i == st.hashed {
                h.update(bytes);
                st.hashed += 1;
                self.advance_hash(st);
            } else if i > st.hashed {
                st.hash = Hash::Lost;
            }
        }
    }

    fn leave(&self, slot: u32) {
        let bit = 1u64 << slot;
        let mut st = self.lock();
        st.members &= !bit;
        st.alone &= !bit;
        if st.holding & bit != 0 {
            st.alone = 0;
            st.holding = 0;
        }
        for c in st.cached.values_mut() {
            c.waiting &= !bit;
        }
        self.sweep(&mut st, false);
        drop(st);
        self.changed.notify_all();
    }
}

impl State {
    fn had(&self, slot: u32, i: u64) -> bool {
        self.had[slot as usize][(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    fn mark(&mut self, slot: u32, i: u64) {
        self.had[slot as usize][(i / 64) as usize] |= 1 << (i % 64);
        if let Some(c) = self.cached.get_mut(&i) {
            c.waiting &= !(1u64 << slot);
        }
    }

    /// Members other than `slot` that have not had chunk `i`.
    fn others_wanting(&self, slot: u32, i: u64) -> u64 {
        (0..MAX_MEMBERS)
            .filter(|&s| s != slot && self.members & (1 << s) != 0 && !self.had(s, i))
            .fold(0, |m, s| m | (1 << s))
    }
}

impl Member {
    pub fn share(&self) -> &Arc<SharedRead> {
        &self.share
    }

    /// Chunk `i` of the file — [`READ_CHUNK`] bytes, or the file's tail — from the cache,
    /// or read from `file` (into the cache when another member or the hash will want it,
    /// else into one of `own`'s buffers). Shorter when the file ended early; `None` once
    /// `unwanted()`.
    pub(super) fn chunk(
        &self,
        i: u64,
        file: &std::fs::File,
        own: &Arc<Pool>,
        unwanted: &dyn Fn() -> bool,
    ) -> std::io::Result<Option<Bytes>> {
        let share = &*self.share;
        let want = share.chunk_len(i);
        let offset = i * READ_CHUNK as u64;
        let mut waiting_since: Option<Instant> = None;
        let mut st = share.lock();
        loop {
            if unwanted() {
                return Ok(None);
            }
            if let Some(c) = st.cached.get(&i) {
                let bytes = c.bytes.clone();
                if st.holding & (1 << self.slot) != 0 {
                    // A member the others stopped waiting for moves again: they wait for
                    // it again (it catches up from the cache), and share again.
                    st.alone = 0;
                    st.holding = 0;
                }
                st.mark(self.slot, i);
                st.progress = Instant::now();
                share.sweep(&mut st, false);
                drop(st);
                share.changed.notify_all();
                return Ok(Some(own.held.track(bytes)));
            }
            if st.reading.contains(&i) {
                st = share.wait(st);
                continue;
            }
            let others = st.others_wanting(self.slot, i);
            let for_hash = matches!(st.hash, Hash::Running(_)) && i >= st.hashed;
            if others == 0 && !for_hash {
                break;
            }
            let behind_front = st.front.is_some_and(|f| i < f);
            let limit = SHARE_BUFFERS + if behind_front { HOLE_BUFFERS } else { 0 };
            if let Some(buf) = share.pool.try_take(limit) {
                st.reading.insert(i);
                drop(st);
                let mut buf = buf;
                let got = read_at(file, &mut buf.as_mut_slice()[..want], offset);
                st = share.lock();
                st.reading.remove(&i);
                let got = match got {
                    Ok(n) => n,
                    Err(e) => {
                        share.pool.give(buf);
                        drop(st);
                        share.changed.notify_all();
                        return Err(e);
                    }
                };
                st.read += got as u64;
                let bytes = share.pool.chunk(buf, got);
                if got == want {
                    let waiting = st.others_wanting(self.slot, i);
                    st.cached.insert(
                        i,
                        Cached {
                            bytes: bytes.clone(),
                            waiting,
                        },
                    );
                    st.front = Some(st.front.map_or(i, |f| f.max(i)));
                    st.progress = Instant::now();
                    share.advance_hash(&mut st);
                }
                // A short read (the file shrank) is this member's alone; its stream
                // reports the change.
                st.mark(self.slot, i);
                share.sweep(&mut st, false);
                drop(st);
                share.changed.notify_all();
                return Ok(Some(own.held.track(bytes)));
            }
            if st.alone & (1 << self.slot) != 0 {
                break;
            }
            // No room: make some from chunks kept only for late joiners, then wait for
            // the slowest member — unless nobody has moved for a while.
            share.sweep(&mut st, true);
            let since = *waiting_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= STALL && st.progress.elapsed() >= STALL {
                tracing::debug!(
                    "shared read: a member read on alone after {} s without progress",
                    STALL.as_secs()
                );
                st.alone |= 1 << self.slot;
                st.holding |= st.cached.values().fold(0, |m, c| m | c.waiting) & !st.alone;
                continue;
            }
            st = share.wait(st);
        }
        // Read by this member alone, into its own buffers.
        drop(st);
        let Some(mut buf) = own.take(unwanted) else {
            return Ok(None);
        };
        let got = match read_at(file, &mut buf.as_mut_slice()[..want], offset) {
            Ok(n) => n,
            Err(e) => {
                own.give(buf);
                return Err(e);
            }
        };
        let bytes = own.chunk(buf, got);
        let mut st = share.lock();
        st.read += got as u64;
        if got == want {
            share.hash_uncached(&mut st, i, &bytes);
        }
        st.mark(self.slot, i);
        share.sweep(&mut st, false);
        Ok(Some(bytes))
    }
}

impl SharedRead {
    fn wait<'a>(&self, st: std::sync::MutexGuard<'a, State>) -> std::sync::MutexGuard<'a, State> {
        self.changed
            .wait_timeout(st, POLL)
            .unwrap_or_else(|p| p.into_inner())
            .0
    }
}

impl Drop for SharedRead {
    fn drop(&mut self) {
        let st = self.lock();
        tracing::debug!(
            "shared read: {} bytes read from disk for a file of {} bytes sent by {} jobs",
            st.read,
            self.size,
            st.joined
        );
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.share.leave(self.slot);
    }
}

/// Read into `buf` from `offset` until it is full or the file ends; the bytes read.
fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        #[cfg(unix)]
        let r = std::os::unix::fs::FileExt::read_at(file, &mut buf[got..], offset + got as u64);
        #[cfg(windows)]
        let r =
            std::os::windows::fs::FileExt::seek_read(file, &mut buf[got..], offset + got as u64);
        match r {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::Source;
    use futures_util::StreamExt;

    const MIB: u64 = 1024 * 1024;

    /// A file of `size` bytes that are not all alike, and its BLAKE3.
    fn file(dir: &std::path::Path, size: u64) -> (std::path::PathBuf, Vec<u8>, String) {
        let path = dir.join("video.mp4");
        let mut rng = fastrand::Rng::with_seed(13);
        let mut bytes = vec![0u8; size as usize];
        rng.fill(&mut bytes);
        std::fs::write(&path, &bytes).unwrap();
        let hash = blake3::hash(&bytes).to_hex().to_string();
        (path, bytes, hash)
    }

    fn source(path: &std::path::Path, share: &Arc<SharedRead>) -> Source {
        let mut s = Source::file(path.to_path_buf(), &std::fs::metadata(path).unwrap());
        s.share_read(share.join().unwrap());
        s
    }

    /// Read `len` bytes from `offset`, pausing `pause` after each chunk (a slow
    /// destination); the bytes.
    async fn read(source: &Source, offset: u64, len: u64, pause: Duration) -> Vec<u8> {
        let mut s = source.open_range(offset, len).await.unwrap();
        let mut out = Vec::with_capacity(len as usize);
        while let Some(b) = s.next().await {
            out.extend_from_slice(&b.unwrap());
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
        out
    }

    /// Like S3: `parts` ranges of `part` bytes, `parallel` at a time.
    async fn read_parts(source: &Source, size: u64, part: u64, parallel: usize) -> Vec<u8> {
        let parts: Vec<Vec<u8>> = futures_util::stream::iter(0..size.div_ceil(part))
            .map(|n| read(source, n * part, part.min(size - n * part), Duration::ZERO))
            .buffered(parallel)
            .collect()
            .await;
        parts.concat()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn three_destinations_at_their_own_pace_read_the_file_once_and_hash_it() {
        let dir = tempfile::tempdir().unwrap();
        // Larger than the cache, and not a whole number of chunks.
        let size = (SHARE_BUFFERS + HOLE_BUFFERS) as u64 * READ_CHUNK as u64 + 32 * MIB + 12_345;
        let (path, bytes, hash) = file(dir.path(), size);
        let share = SharedRead::new(size);
        let (fast, slow, parts) = (
            source(&path, &share),
            source(&path, &share),
            source(&path, &share),
        );
        let (a, b, c) = tokio::join!(
            read(&fast, 0, size, Duration::ZERO),
            read(&slow, 0, size, Duration::from_millis(1)),
            read_parts(&parts, size, 8 * MIB, 8),
        );
        assert!(
            a == bytes && b == bytes && c == bytes,
            "every job got the file"
        );
        assert_eq!(share.bytes_read(), size, "read from disk once");
        assert_eq!(fast.tapped_hash().as_deref(), Some(hash.as_str()));
        assert_eq!(parts.tapped_hash().as_deref(), Some(hash.as_str()));
        let cap = ((SHARE_BUFFERS + HOLE_BUFFERS) * READ_CHUNK) as u64;
        assert!(
            share.held().peak() <= cap,
            "the cache held {} > {cap}",
            share.held().peak()
        );
        // With its last member the share goes, and its memory with it.
        let held = share.held().clone();
        drop((fast, slow, parts, share));
        assert_eq!(held.now(), 0, "every chunk went back");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_that_stops_reading_does_not_hold_the_others_and_gets_its_bytes_later() {
        let dir = tempfile::tempdir().unwrap();
        // More than the runner may read ahead of the stopped one.
        let size = (SHARE_BUFFERS as u64 + 32) * READ_CHUNK as u64;
        let (path, bytes, hash) = file(dir.path(), size);
        let share = SharedRead::new(size);
        let (runner, stopped) = (source(&path, &share), source(&path, &share));
        // The stopped one reads its first MiB, then waits (a retry's back-off)...
        let mut held = stopped.open_range(0, size).await.unwrap();
        let mut first = Vec::new();
        while (first.len() as u64) < MIB {
            first.extend_from_slice(&held.next().await.unwrap().unwrap());
        }
        // ...while the other reads the whole file: after the stall it goes on alone.
        let t0 = Instant::now();
        let all = read(&runner, 0, size, Duration::ZERO).await;
        assert_eq!(all, bytes);
        assert!(t0.elapsed() >= STALL, "it waited for the other first");
        assert!(
            t0.elapsed() < STALL * 5,
            "and then went on: {:?}",
            t0.elapsed()
        );
        assert_eq!(runner.tapped_hash().as_deref(), Some(hash.as_str()));
        // The stopped one resumes and gets exactly the file.
        while let Some(b) = held.next().await {
            first.extend_from_slice(&b.unwrap());
        }
        assert_eq!(first, bytes);
        assert!(
            share.bytes_read() > size,
            "what was not kept was read again"
        );
        assert!(share.bytes_read() < 2 * size);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_joining_a_moment_later_still_shares_and_one_leaving_frees_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let size = (SHARE_BUFFERS as u64 / 2) * READ_CHUNK as u64;
        let (path, bytes, _) = file(dir.path(), size);
        let share = SharedRead::new(size);
        let first = source(&path, &share);
        assert_eq!(read(&first, 0, size, Duration::ZERO).await, bytes);
        // It had everything before the second one joined: kept for a late joiner.
        let late = source(&path, &share);
        assert_eq!(read(&late, 0, size, Duration::ZERO).await, bytes);
        assert_eq!(
            share.bytes_read(),
            size,
            "the late one read nothing from disk"
        );
        // A member that leaves without reading releases what waited for it.
        let gone = source(&path, &share);
        drop((first, late));
        assert!(share.held().now() > 0, "kept for `gone`");
        drop(gone);
        std::thread::sleep(WELCOME);
        drop(share.join()); // joining sweeps: no longer young, nothing is kept
        assert_eq!(share.held().now(), 0);
    }
}
