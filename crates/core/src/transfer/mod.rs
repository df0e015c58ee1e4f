//! Moving bytes: sources that stream from disk or from a URL with a known length,
//! progress that counts bytes actually handed to the socket, cancellation, and the one
//! retry policy (`retry`).
//!
//! Memory stays flat with file size: bodies are streams of chunks, never a buffer of the
//! whole file or of a whole part. A file's reads share a fixed pool of [`READ_BUFFERS`]
//! buffers of [`READ_CHUNK`] bytes, however many ranges of it are in flight at once (S3's
//! parallel parts), so at most [`READ_BUDGET`] bytes of it are in memory; a download's
//! chunks are forwarded as they arrive. Each source counts the bytes of it held in memory
//! ([`Held`]), so tests can check that bound without measuring RSS. Nothing here knows a
//! provider's routes or bodies.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::{Code, Error, Result};

pub mod bwlimit;
pub mod retry;
pub mod shared;
pub mod tap;
pub mod throttle;

pub use retry::RetryPolicy;
pub use tap::HashTap;

/// Read size for file bodies: big enough for throughput, small enough that a few of them
/// per part in flight stay within [`READ_BUDGET`].
pub const READ_CHUNK: usize = 512 * 1024;
/// Buffers one file source reads into, shared by all its open ranges.
pub const READ_BUFFERS: usize = 16;
/// Bytes of one file held in memory at most (read, and not yet released by the HTTP stack
/// that sends them), whatever its size and however many of its ranges are open.
pub const READ_BUDGET: u64 = (READ_CHUNK * READ_BUFFERS) as u64;
/// Chunks read ahead of the sender, per body (within the pool's budget).
const READ_AHEAD: usize = 4;

pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Getting ready: reading the file's facts, fetching a URL's first bytes, asking the
    /// destination for an upload (the job's status says `preparing`).
    Preparing,
    /// Hashing the file to find it in the library (status still `preparing`).
    Hashing,
    Uploading,
    Processing,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum ProgressEvent {
    Phase {
        phase: Phase,
    },
    Bytes {
        sent: u64,
        total: u64,
    },
    Retrying {
        attempt: u32,
        delay_ms: u64,
        code: String,
        message: String,
    },
}

type Sink = Arc<dyn Fn(ProgressEvent) + Send + Sync>;

/// Progress of one transfer. Bytes never exceed the total, and only go back on a
/// visible retry (`restart`).
#[derive(Clone)]
pub struct Progress {
    sent: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
    sink: Sink,
}

impl Progress {
    pub fn new(sink: impl Fn(ProgressEvent) + Send + Sync + 'static) -> Self {
        Progress {
            sent: Arc::new(AtomicU64::new(0)),
            total: Arc::new(AtomicU64::new(0)),
            sink: Arc::new(sink),
        }
    }

    pub fn none() -> Self {
        Progress::new(|_| {})
    }

    pub fn phase(&self, phase: Phase) {
        (self.sink)(ProgressEvent::Phase { phase });
    }

    pub fn start(&self, total: u64) {
        self.start_at(total, 0);
    }

    /// Start with `already` bytes held by the server (a resumed transfer).
    pub fn start_at(&self, total: u64, already: u64) {
        let already = already.min(total);
        self.total.store(total, Ordering::SeqCst);
        self.sent.store(already, Ordering::SeqCst);
        self.phase(Phase::Uploading);
        (self.sink)(ProgressEvent::Bytes {
            sent: already,
            total,
        });
    }

    /// Back to `offset` for a retry the user is told about.
    pub fn restart(&self, offset: u64) {
        let total = self.total.load(Ordering::SeqCst);
        let offset = offset.min(total);
        self.sent.store(offset, Ordering::SeqCst);
        (self.sink)(ProgressEvent::Bytes {
            sent: offset,
            total,
        });
    }

    pub fn add(&self, n: u64) {
        let total = self.total.load(Ordering::SeqCst);
        let sent = (self.sent.fetch_add(n, Ordering::SeqCst) + n).min(total);
        (self.sink)(ProgressEvent::Bytes { sent, total });
    }

    /// Take back bytes of a piece that failed and will be sent again (a visible retry).
    pub fn rewind(&self, n: u64) {
        let total = self.total.load(Ordering::SeqCst);
        let prev = self
            .sent
            .fetch_sub(n.min(self.sent.load(Ordering::SeqCst)), Ordering::SeqCst);
        let sent = prev.saturating_sub(n).min(total);
        (self.sink)(ProgressEvent::Bytes { sent, total });
    }

    pub fn sent(&self) -> u64 {
        self.sent
            .load(Ordering::SeqCst)
            .min(self.total.load(Ordering::SeqCst))
    }

    pub fn retrying(&self, attempt: u32, delay: Duration, err: &Error) {
        (self.sink)(ProgressEvent::Retrying {
            attempt,
            delay_ms: delay.as_millis() as u64,
            code: err.code.as_str().to_string(),
            message: err.message.clone(),
        });
    }
}

/// Where a provider keeps what it needs to resume an interrupted transfer (an S3
/// multipart upload id and its parts, a FastPix session URL) and the handles of a
/// create, saved before the request that uses them goes out (the S3 key, FastPix's
/// `ferry_ref`, a presign answer, what PostSyncer's library held before an import), so
/// an attempt cut off while waiting for an answer resumes against the same remote
/// object. The queue stores it in the job's row, so it survives a crash.
pub trait Journal: Send + Sync {
    fn load(&self) -> Option<serde_json::Value>;
    fn save(&self, state: &serde_json::Value) -> Result<()>;

    /// What names this transfer the same way in every attempt and uniquely across
    /// every Ferry home, if the journal knows: a provider can derive a create's handle
    /// from it (an S3 key) instead of saving a random one before its request — one
    /// durable write less per file.
    fn stable_ref(&self) -> Option<TransferRef> {
        None
    }
}

/// See [`Journal::stable_ref`].
#[derive(Debug, Clone)]
pub struct TransferRef {
    /// Unique across homes (a home's random id and the job's id).
    pub id: String,
    /// When the transfer was first asked for (the job's creation).
    pub created: chrono::DateTime<chrono::Utc>,
}

/// Everything a provider call needs besides its own settings.
#[derive(Clone)]
pub struct Ctx {
    pub http: reqwest::Client,
    pub progress: Progress,
    pub cancel: CancellationToken,
    pub retry: RetryPolicy,
    pub journal: Option<Arc<dyn Journal>>,
    /// The job's bandwidth limits; every network body goes through it.
    pub throttle: throttle::Throttle,
}

impl Ctx {
    pub fn new(http: reqwest::Client) -> Self {
        Ctx {
            http,
            progress: Progress::none(),
            cancel: CancellationToken::new(),
            retry: RetryPolicy::default(),
            journal: None,
            throttle: throttle::Throttle::none(),
        }
    }

    pub fn load_state(&self) -> Option<serde_json::Value> {
        self.journal.as_ref().and_then(|j| j.load())
    }

    pub fn stable_ref(&self) -> Option<TransferRef> {
        self.journal.as_ref().and_then(|j| j.stable_ref())
    }

    pub fn save_state(&self, state: &serde_json::Value) -> Result<()> {
        match &self.journal {
            Some(j) => j.save(state),
            None => Ok(()),
        }
    }

    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    pub fn check_cancelled(&self) -> Result<()> {
        if self.cancel.is_cancelled() {
            Err(Error::cancelled())
        } else {
            Ok(())
        }
    }

    /// Run a future unless cancelled first; cancellation drops it, which closes the
    /// connection mid-body so the server keeps nothing.
    pub async fn cancellable<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(Error::cancelled()),
            r = fut => r,
        }
    }
}

/// A client with the default route (the system proxy), for embedders and tests that
/// hold no [`crate::accounts::Accounts`]; Ferry's own requests use the clients of
/// [`crate::net::Net`], built from the `proxy` setting.
pub fn http_client() -> reqwest::Client {
    crate::net::Net::build(&crate::net::Choice::default()).http
}

/// The redirect policy of requests that carry a secret in a header of the API's own
/// (Synposter's `x-api-key`). reqwest strips `Authorization` and cookies when a redirect
/// leads to another host, but forwards any other header; so these requests follow a
/// redirect only within the same origin (scheme, host and port) and otherwise get the
/// 3xx answer itself, which the provider reports.
pub fn same_origin_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if same && attempt.previous().len() < 10 {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// Where an upload's bytes come from. Reopened for every attempt.
pub enum Source {
    /// A file on disk, with the size and mtime it had when the job was prepared: a file
    /// that changes mid-upload fails that attempt instead of sending a mix.
    File {
        path: PathBuf,
        fingerprint: Fingerprint,
        tap: Arc<Mutex<HashTap>>,
        pool: Arc<Pool>,
        /// The read shared with the other jobs sending this file now (fan-out), if any.
        share: Option<Arc<shared::Member>>,
    },
    /// A download being forwarded (see [`Remote`]).
    Remote(Arc<Remote>),
}

/// Bytes of one source held in memory: read from it and not yet released by whoever
/// sends them (a request body, the HTTP stack's write queue). The current figure and the
/// most it ever was, so tests and benchmarks can check memory is bounded by a constant,
/// not by the file's size, without measuring RSS.
#[derive(Clone, Default)]
pub struct Held(Arc<HeldCount>);

#[derive(Default)]
struct HeldCount {
    now: AtomicU64,
    peak: AtomicU64,
}

impl Held {
    fn add(&self, n: u64) {
        let now = self.0.now.fetch_add(n, Ordering::SeqCst) + n;
        self.0.peak.fetch_max(now, Ordering::SeqCst);
    }

    fn sub(&self, n: u64) {
        self.0.now.fetch_sub(n, Ordering::SeqCst);
    }

    pub fn now(&self) -> u64 {
        self.0.now.load(Ordering::SeqCst)
    }

    pub fn peak(&self) -> u64 {
        self.0.peak.load(Ordering::SeqCst)
    }

    /// The same bytes, counted until their last reference (any slice of them) is dropped.
    fn track(&self, b: Bytes) -> Bytes {
        if b.is_empty() {
            return b;
        }
        self.add(b.len() as u64);
        Bytes::from_owner(Tracked {
            bytes: b,
            held: self.clone(),
        })
    }
}

struct Tracked {
    bytes: Bytes,
    held: Held,
}

impl AsRef<[u8]> for Tracked {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.held.sub(self.bytes.len() as u64);
    }
}

/// The buffers a file source reads into: at most [`READ_BUFFERS`] of [`READ_CHUNK`]
/// bytes, made as needed and reused (a reader waits for one to come back when all are
/// out), so a 4 GiB file sent in eight parallel parts holds no more than a 40 MiB one
/// and the allocator never sees a stream of fresh megabyte buffers to fragment.
pub struct Pool {
    state: Mutex<PoolState>,
    returned: std::sync::Condvar,
    held: Held,
}

struct PoolState {
    free: Vec<Buf>,
    made: usize,
}

impl Pool {
    fn new() -> Arc<Self> {
        Arc::new(Pool {
            state: Mutex::new(PoolState {
                free: Vec::new(),
                made: 0,
            }),
            returned: std::sync::Condvar::new(),
            held: Held::default(),
        })
    }

    /// A buffer, once one is free; `None` once `unwanted()` (the body was dropped).
    fn take(&self, unwanted: impl Fn() -> bool) -> Option<Buf> {
        let mut st = self.state.lock().expect("pool lock");
        loop {
            if unwanted() {
                return None;
            }
            if let Some(b) = st.free.pop() {
                return Some(b);
            }
            if st.made < READ_BUFFERS {
                st.made += 1;
                return Some(Buf::new());
            }
            // Woken when a buffer comes back; the timeout re-checks `unwanted`.
            st = self
                .returned
                .wait_timeout(st, Duration::from_millis(50))
                .expect("pool lock")
                .0;
        }
    }

    /// A buffer if fewer than `limit` are out (read and not yet dropped); never waits.
    fn try_take(&self, limit: usize) -> Option<Buf> {
        let mut st = self.state.lock().expect("pool lock");
        if st.made - st.free.len() >= limit {
            return None;
        }
        if let Some(b) = st.free.pop() {
            return Some(b);
        }
        st.made += 1;
        Some(Buf::new())
    }

    fn give(&self, buf: Buf) {
        self.state.lock().expect("pool lock").free.push(buf);
        self.returned.notify_one();
    }

    /// `len` bytes read into `buf`, as a chunk that returns `buf` here when dropped.
    fn chunk(self: &Arc<Self>, buf: Buf, len: usize) -> Bytes {
        self.held.add(len as u64);
        Bytes::from_owner(Pooled {
            buf: Some(buf),
            len,
            pool: self.clone(),
        })
    }
}

/// [`READ_CHUNK`] bytes starting on a page boundary. Reading from the page cache into a
/// destination that is not page-aligned (a plain allocation starts 16 bytes into its
/// page) measured at half the copy speed on this AMD machine, which made a reused buffer
/// slower than a fresh one; aligned, a reused one is as fast.
struct Buf {
    mem: Vec<u8>,
    start: usize,
}

const PAGE: usize = 4096;

impl Buf {
    fn new() -> Self {
        let mem = vec![0; READ_CHUNK + PAGE];
        let start = mem.as_ptr().align_offset(PAGE).min(PAGE);
        Buf { mem, start }
    }

    fn as_slice(&self) -> &[u8] {
        &self.mem[self.start..self.start + READ_CHUNK]
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.mem[self.start..self.start + READ_CHUNK]
    }
}

struct Pooled {
    buf: Option<Buf>,
    len: usize,
    pool: Arc<Pool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf.as_ref().expect("buffer until dropped").as_slice()[..self.len]
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.held.sub(self.len as u64);
        if let Some(b) = self.buf.take() {
            self.pool.give(b);
        }
    }
}

/// A download being forwarded. The first read from byte 0 uses the response already
/// opened (whose first bytes were sniffed); any other read asks for exactly its bytes
/// with a bounded `Range`, checked against the 206 and its Content-Range, and copes with
/// an origin that ignores Range (a 200 with the whole body). Chunks are forwarded as
/// they arrive, never gathered.
pub struct Remote {
    url: url::Url,
    http: reqwest::Client,
    first: Mutex<Option<ByteStream>>,
    held: Held,
}

/// Read `len` bytes of a file from `offset` on one blocking thread that stays ahead of
/// the sender by a few chunks (a bounded channel keeps memory flat), hashing them for the
/// tap as it goes — or, for a file several jobs send at once, taking its chunks from
/// their shared read. One thread per range beats a thread hand-off per chunk: reading a
/// GiB this way is markedly faster than through `tokio::fs`.
fn read_ahead(
    mut f: std::fs::File,
    offset: u64,
    len: u64,
    tap: Arc<Mutex<HashTap>>,
    pool: Arc<Pool>,
    share: Option<Arc<shared::Member>>,
) -> ByteStream {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        // This range's share of the file's hash, hashed here, off the lock.
        let mut hasher = HashTap::range(&tap, offset, len);
        let mut at = offset;
        let mut left = len;
        let unwanted = || tx.is_closed();
        while left > 0 {
            let chunk = if let Some(member) = &share {
                // Whole chunks of the file from the share, cut to this range (which
                // need not start or end on a chunk's boundary).
                let i = at / READ_CHUNK as u64;
                let skip = (at % READ_CHUNK as u64) as usize;
                match member.chunk(i, &f, &pool, &unwanted) {
                    Ok(None) => return,
                    Ok(Some(whole)) => {
                        let end = whole.len().min(skip + left.min(READ_CHUNK as u64) as usize);
                        if end <= skip {
                            // The file ended early; the stream's tail check reports it.
                            return;
                        }
                        whole.slice(skip..end)
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            } else {
                let want = (READ_CHUNK as u64).min(left) as usize;
                let Some(mut buf) = pool.take(unwanted) else {
                    // The request was dropped while every buffer was out: stop reading.
                    return;
                };
                let mut got = 0;
                while got < want {
                    match f.read(&mut buf.as_mut_slice()[got..want]) {
                        Ok(0) => break,
                        Ok(k) => got += k,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            pool.give(buf);
                            let _ = tx.blocking_send(Err(e));
                            return;
                        }
                    }
                }
                if got == 0 {
                    // The file ended early; the stream's tail check reports it.
                    pool.give(buf);
                    return;
                }
                let chunk = pool.chunk(buf, got);
                hasher.feed(at, &chunk);
                chunk
            };
            let got = chunk.len();
            at += got as u64;
            left -= got as u64;
            if tx.blocking_send(Ok(chunk)).is_err() {
                // The request was dropped (cancel, failure): stop reading.
                return;
            }
        }
    });
    Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// BLAKE3 of a whole file, read once, off the async threads.
pub async fn hash_file(path: &std::path::Path, stop: &CancellationToken) -> Result<String> {
    /// Reads until the job is stopped: a paused or cancelled job must not keep a thread
    /// reading a 4 GiB file to the end for nothing.
    struct Stoppable<R> {
        inner: R,
        stop: CancellationToken,
    }
    impl<R: std::io::Read> std::io::Read for Stoppable<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.stop.is_cancelled() {
                return Err(std::io::Error::other("stopped"));
            }
            self.inner.read(buf)
        }
    }
    let path = path.to_path_buf();
    let stop = stop.clone();
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(|e| Error::io(e, path.display()))?;
        let mut hasher = blake3::Hasher::new();
        let read = hasher.update_reader(Stoppable {
            inner: file,
            stop: stop.clone(),
        });
        if stop.is_cancelled() {
            return Err(Error::cancelled());
        }
        read.map_err(|e| Error::io(e, path.display()))?;
        Ok(hasher.finalize().to_hex().to_string())
    })
    .await
    .map_err(|e| Error::new(Code::Internal, e.to_string()))?
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    pub size: u64,
    pub mtime: Option<std::time::SystemTime>,
}

impl Fingerprint {
    pub fn mtime_ns(&self) -> Option<i64> {
        self.mtime
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i64)
    }

    pub fn of(meta: &std::fs::Metadata) -> Self {
        Fingerprint {
            size: meta.len(),
            mtime: meta.modified().ok(),
        }
    }
}

impl Source {
    pub fn file(path: PathBuf, meta: &std::fs::Metadata) -> Self {
        Source::File {
            path,
            fingerprint: Fingerprint::of(meta),
            tap: Arc::new(Mutex::new(HashTap::new(meta.len()))),
            pool: Pool::new(),
            share: None,
        }
    }

    /// Read this file's bytes through `member`'s share (see [`shared`]): chunks another
    /// job sending it has read already come from memory instead of the disk.
    pub fn share_read(&mut self, member: shared::Member) {
        if let Source::File { share, .. } = self {
            *share = Some(Arc::new(member));
        }
    }

    /// A download whose response `first` is already open at byte 0.
    pub fn remote(url: url::Url, http: reqwest::Client, first: ByteStream) -> Self {
        Source::Remote(Arc::new(Remote {
            url,
            http,
            first: Mutex::new(Some(first)),
            held: Held::default(),
        }))
    }

    /// The bytes of this source held in memory now and at most (see [`Held`]).
    pub fn held(&self) -> &Held {
        match self {
            Source::File { pool, .. } => &pool.held,
            Source::Remote(r) => &r.held,
        }
    }

    /// The download, if this source is one (to be read in order, once).
    pub fn as_remote(&self) -> Option<&Arc<Remote>> {
        match self {
            Source::File { .. } => None,
            Source::Remote(r) => Some(r),
        }
    }

    /// The content hash, if the bytes sent covered the whole file in order (so no second
    /// pass over the file is needed).
    pub fn tapped_hash(&self) -> Option<String> {
        match self {
            Source::File { share: Some(m), .. } => m.share().hash(),
            Source::File { tap, .. } => tap.lock().expect("tap lock").finish(),
            Source::Remote(_) => None,
        }
    }

    pub fn fingerprint(&self) -> Option<Fingerprint> {
        match self {
            Source::File { fingerprint, .. } => Some(*fingerprint),
            Source::Remote(_) => None,
        }
    }

    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Source::File { path, .. } => Some(path),
            Source::Remote(_) => None,
        }
    }

    /// Open the bytes from `offset` for `len` bytes.
    pub async fn open_range(&self, offset: u64, len: u64) -> Result<ByteStream> {
        match self {
            Source::File {
                path,
                fingerprint,
                tap,
                pool,
                share,
            } => {
                check_unchanged(path, fingerprint)?;
                let mut f = std::fs::File::open(path).map_err(|e| Error::io(e, path.display()))?;
                if offset > 0 {
                    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(offset))?;
                }
                let path = path.clone();
                let fp = *fingerprint;
                let end = offset + len;
                let pos = Arc::new(AtomicU64::new(offset));
                let (p2, path2) = (pos.clone(), path.clone());
                // A writer that changes the file while we read it must not leave a mix of
                // two versions at the destination: check again before the LAST chunk goes
                // out (HTTP stacks stop reading a body once its Content-Length is met, so
                // a check after it would never run).
                let reader = read_ahead(f, offset, len, tap.clone(), pool.clone(), share.clone())
                    .map(move |chunk| {
                        let b = chunk?;
                        let at = p2.fetch_add(b.len() as u64, Ordering::SeqCst);
                        if at + b.len() as u64 == end {
                            check_unchanged(&path2, &fp)
                                .map_err(|e| std::io::Error::other(e.message))?;
                        }
                        Ok(b)
                    });
                // A file that shrank ends early: that is a change too. (An empty range
                // has no chunks, so it is checked here.)
                let tail = futures_util::stream::once(async move {
                    if pos.load(Ordering::SeqCst) < end || len == 0 {
                        check_unchanged(&path, &fp)
                            .map_err(|e| std::io::Error::other(e.message))?;
                        if pos.load(Ordering::SeqCst) < end {
                            return Err(std::io::Error::other(format!(
                                "{} is shorter than when it was checked",
                                path.display()
                            )));
                        }
                    }
                    Ok(Bytes::new())
                });
                Ok(Box::pin(reader.chain(tail)))
            }
            Source::Remote(r) => r.open(offset, len).await,
        }
    }

    /// Whether the bytes come from a download (which is best read once, in order).
    pub fn is_remote(&self) -> bool {
        matches!(self, Source::Remote(_))
    }
}

impl Remote {
    /// `len` bytes from `offset`, counted in [`Source::held`] while they are in memory.
    pub async fn open(&self, offset: u64, len: u64) -> Result<ByteStream> {
        let held = self.held.clone();
        let stream = self.open_untracked(offset, len).await?;
        Ok(Box::pin(stream.map_ok(move |b| held.track(b))))
    }

    async fn open_untracked(&self, offset: u64, len: u64) -> Result<ByteStream> {
        if offset == 0 {
            let opened = self.first.lock().expect("source lock").take();
            if let Some(s) = opened {
                // The response already open starts at byte 0: take exactly `len`.
                return Ok(take_exact(s, 0, len));
            }
        }
        if len == 0 {
            return Ok(Box::pin(futures_util::stream::empty()));
        }
        // A bounded range: each piece gets exactly its bytes, never "from here to
        // the end" (parts sent in parallel would each pull the rest of the file).
        let last = offset + len - 1;
        let resp = self
            .http
            .get(self.url.clone())
            .header(http::header::RANGE, format!("bytes={offset}-{last}"))
            .send()
            .await
            .map_err(|e| Error::from_reqwest(e, false))?;
        let status = resp.status().as_u16();
        let body = |resp: reqwest::Response| -> ByteStream {
            // Without the URL (it may be a tokened link): see `Error::from_reqwest`.
            Box::pin(
                resp.bytes_stream()
                    .map_err(|e| std::io::Error::other(e.without_url())),
            )
        };
        match status {
            206 => {
                let got = resp
                    .headers()
                    .get(http::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_content_range);
                if got != Some((offset, last)) {
                    return Err(Error::new(
                        Code::ProviderProtocol,
                        format!(
                            "the source answered a different range than bytes {offset}-{last} ({})",
                            resp.headers()
                                .get(http::header::CONTENT_RANGE)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("no Content-Range")
                        ),
                    ));
                }
                Ok(take_exact(body(resp), 0, len))
            }
            // The origin ignores Range and sends the whole body: skip to `offset`
            // as it streams by (memory stays flat; only the download is longer).
            200 => Ok(take_exact(body(resp), offset, len)),
            _ => Err(Error::new(
                if resp.status().is_server_error() {
                    Code::ProviderUnavailable
                } else {
                    Code::ProviderRejected
                },
                format!("fetching the URL again failed with HTTP {status}"),
            )
            .with_status(status)),
        }
    }
}

/// `bytes a-b/total` (or `bytes a-b/*`) → (a, b).
fn parse_content_range(v: &str) -> Option<(u64, u64)> {
    let range = v.trim().strip_prefix("bytes ")?.split('/').next()?;
    let (a, b) = range.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// Skip `skip` bytes of a stream, then yield exactly `len` bytes and stop (the rest is
/// dropped unread); a stream that ends before that is an error, never a short body.
pub fn take_exact(inner: ByteStream, skip: u64, len: u64) -> ByteStream {
    Box::pin(futures_util::stream::unfold(
        (inner, skip, len),
        |(mut inner, mut skip, left)| async move {
            loop {
                if left == 0 {
                    return None;
                }
                match inner.next().await {
                    Some(Ok(mut b)) => {
                        if skip > 0 {
                            let s = skip.min(b.len() as u64);
                            b = b.slice(s as usize..);
                            skip -= s;
                        }
                        if b.is_empty() {
                            continue;
                        }
                        let n = left.min(b.len() as u64);
                        return Some((Ok(b.slice(..n as usize)), (inner, skip, left - n)));
                    }
                    Some(Err(e)) => return Some((Err(e), (inner, skip, 0))),
                    None => {
                        let e = std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "the download ended before all its bytes arrived",
                        );
                        return Some((Err(e), (inner, skip, 0)));
                    }
                }
            }
        },
    ))
}

fn check_unchanged(path: &std::path::Path, fp: &Fingerprint) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(e, path.display()))?;
    if Fingerprint::of(&meta) != *fp {
        return Err(Error::new(
            Code::InputChanged,
            format!(
                "{} changed while it was being sent; it will be sent again once it is stable",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// A request body of exactly `len` bytes that reports progress as chunks go out.
/// The caller also sets `Content-Length`, so hyper never falls back to chunked
/// transfer-encoding (real S3 answers 501 to it).
pub fn counted_body(stream: ByteStream, len: u64, progress: Progress) -> reqwest::Body {
    let mut seen: u64 = 0;
    let counted = stream.map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len() as u64;
        if seen > len {
            return Err(std::io::Error::other(
                "the source grew while it was being sent",
            ));
        }
        progress.add(chunk.len() as u64);
        Ok::<Bytes, std::io::Error>(chunk)
    });
    reqwest::Body::wrap_stream(counted)
}

/// Attach a counted body with an explicit Content-Length to a request, held to the
/// job's bandwidth limits.
pub async fn with_body(
    req: reqwest::RequestBuilder,
    source: &Source,
    offset: u64,
    len: u64,
    ctx: &Ctx,
) -> Result<reqwest::RequestBuilder> {
    let stream = ctx.throttle.wrap(source.open_range(offset, len).await?);
    Ok(req
        .header(http::header::CONTENT_LENGTH, len)
        .body(counted_body(stream, len, ctx.progress.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&[u8]]) -> ByteStream {
        let v: Vec<std::io::Result<Bytes>> = parts
            .iter()
            .map(|p| Ok(Bytes::copy_from_slice(p)))
            .collect();
        Box::pin(futures_util::stream::iter(v))
    }

    async fn collect(s: ByteStream) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut s = s;
        while let Some(b) = s.next().await {
            out.extend_from_slice(&b?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn take_exact_skips_then_yields_exactly_its_bytes_and_refuses_a_short_source() {
        let got = collect(take_exact(chunks(&[b"abc", b"defg", b"hij"]), 2, 5)).await;
        assert_eq!(got.unwrap(), b"cdefg");
        let got = collect(take_exact(chunks(&[b"abc"]), 0, 3)).await;
        assert_eq!(got.unwrap(), b"abc");
        let short = collect(take_exact(chunks(&[b"abc"]), 1, 5)).await;
        assert_eq!(short.unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
        assert_eq!(parse_content_range("bytes 5-9/100"), Some((5, 9)));
        assert_eq!(parse_content_range("bytes 0-0/*"), Some((0, 0)));
        assert_eq!(parse_content_range("items 1-2"), None);
    }

    /// S3's parallel parts read a file as ranges at once, in no order: the bytes they
    /// read give the file's hash, so it needs no second pass after the upload.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_sent_as_parallel_ranges_is_hashed_from_those_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        let size = 40 * 1024 * 1024 + 12_345;
        let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let source = Source::file(path.clone(), &std::fs::metadata(&path).unwrap());
        let part = 8 * 1024 * 1024u64;
        // The last part first, the rest at once.
        let reads = (0..(size as u64).div_ceil(part)).rev().map(|i| {
            let source = &source;
            async move {
                let len = part.min(size as u64 - i * part);
                let got = collect(source.open_range(i * part, len).await.unwrap()).await;
                assert_eq!(got.unwrap().len() as u64, len);
            }
        });
        futures_util::future::join_all(reads).await;
        assert_eq!(
            source.tapped_hash(),
            Some(blake3::hash(&bytes).to_hex().to_string())
        );
        // A part not sent (a resumed upload skips what was sent before): no hash, so the
        // job hashes the file itself.
        let partial = Source::file(path.clone(), &std::fs::metadata(&path).unwrap());
        collect(partial.open_range(0, part).await.unwrap())
            .await
            .unwrap();
        assert_eq!(partial.tapped_hash(), None);
    }

    /// Read eight ranges of a file at once, as S3's parallel parts do, each consumer
    /// keeping its chunk a moment (as an HTTP stack does until the socket takes it).
    async fn eight_ranges_at_once(size: u64) -> Held {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(size).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let source = Source::file(path, &meta);
        let part = 4 * READ_CHUNK as u64 + 1234;
        let reads = (0..8u64).map(|i| {
            let source = &source;
            async move {
                let mut s = source.open_range(i * (size / 8), part).await.unwrap();
                let mut got = 0;
                while let Some(b) = s.next().await {
                    got += b.unwrap().len() as u64;
                    tokio::task::yield_now().await;
                }
                assert_eq!(got, part);
            }
        });
        futures_util::future::join_all(reads).await;
        source.held().clone()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_read_in_parallel_ranges_holds_at_most_the_read_budget_whatever_its_size() {
        for size in [40 * 1024 * 1024, 4 * 1024 * 1024 * 1024] {
            let held = eight_ranges_at_once(size).await;
            assert!(held.peak() > 0, "reads are counted");
            assert!(
                held.peak() <= READ_BUDGET,
                "{size}: held {} > {READ_BUDGET}",
                held.peak()
            );
            assert_eq!(held.now(), 0, "every buffer came back");
        }
    }

    #[tokio::test]
    async fn a_download_chunk_is_counted_until_its_last_slice_is_dropped() {
        let held = Held::default();
        let b = held.track(Bytes::from(vec![7u8; 1000]));
        let tail = b.slice(600..);
        assert_eq!(held.now(), 1000);
        drop(b);
        assert_eq!(held.now(), 1000, "a slice still holds it");
        drop(tail);
        assert_eq!((held.now(), held.peak()), (0, 1000));
    }

    #[tokio::test]
    async fn hashing_matches_blake3_and_stops_when_the_job_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let run = CancellationToken::new();
        assert_eq!(
            hash_file(&path, &run).await.unwrap(),
            blake3::hash(&bytes).to_hex().to_string()
        );
        let stopped = CancellationToken::new();
        stopped.cancel();
        assert_eq!(
            hash_file(&path, &stopped).await.unwrap_err().code,
            Code::Cancelled
        );
    }
}
