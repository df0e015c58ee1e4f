//! Machinery shared by every fake: the request log, fault injection, the
//! per-fake clock, the in-memory object store, fixed-window rate limiting and
//! the HTTP/1.1 server loop.
//!
//! The server loop is hand-rolled on top of hyper (instead of `axum::serve`)
//! because two faults need control over the TCP connection itself: a reset in
//! the middle of a request body, and a response that is silently dropped after
//! the request was processed. Routing inside each fake is a single axum
//! fallback handler so that every answer, including 404/405, uses the exact
//! error envelope of the API being faked rather than axum's plain-text ones.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One request as the fake saw it. `status` is 0 when no response was sent
/// (connection reset or dropped by a fault, or the client went away).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Header names are lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Body bytes the server actually read.
    pub body_len: u64,
    pub status: u16,
}

impl Recorded {
    /// First value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An object held by a fake's storage (uploaded file, imported media...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    pub key: String,
    pub content_type: String,
    /// Full content; empty when the fake runs with `discard_bytes`.
    pub bytes: Vec<u8>,
    /// Length in bytes (always set, also when `bytes` was discarded).
    pub size: u64,
    /// First and last (up to) 64 bytes; kept even when discarding, so a
    /// benchmark can still check the ends of a multi-GiB upload.
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
}

/// A one-shot (or n-shot) misbehaviour injected into a fake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Matched against `path?query` of the request.
    pub path_contains: String,
    /// `None` matches any method.
    pub method: Option<String>,
    pub kind: FaultKind,
    /// How many matching requests this fault applies to.
    pub times: u32,
}

impl Fault {
    /// A fault for one request whose path contains `path_contains`, any method.
    pub fn new(path_contains: impl Into<String>, kind: FaultKind) -> Fault {
        Fault {
            path_contains: path_contains.into(),
            method: None,
            kind,
            times: 1,
        }
    }

    /// Only match this method (e.g. "PUT").
    pub fn method(mut self, method: &str) -> Fault {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Apply to this many matching requests.
    pub fn times(mut self, times: u32) -> Fault {
        self.times = times;
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with the API's documented error envelope for this status.
    Status(u16),
    /// Answer 429 with the API's body and `Retry-After`.
    RateLimited { retry_after_secs: u64 },
    /// Read a few KiB of the body, then reset the TCP connection without any
    /// HTTP response. Nothing is stored.
    ResetMidBody,
    /// Sleep, then handle the request normally.
    Delay(Duration),
    /// Handle the request completely (store / create), then close the
    /// connection without answering: the client cannot tell what happened.
    DropResponse,
    /// Handle the request completely (store / create), then answer this status
    /// with the API's error envelope instead of the real answer: a gateway
    /// (504, Cloudflare's 524) or a proxy (408) that timed out while the origin
    /// finished the work.
    StoreThenStatus(u16),
    /// Handle the request completely (store / create), then never answer and
    /// keep the connection open: the client is cut off (cancelled, killed)
    /// while waiting for the answer.
    StoreThenStall,
}

/// Which API a server fakes; selects the error envelope used by faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    PostSyncer,
    Synposter,
    SocialSyncer,
    FastPix,
    Origin,
}

struct LiveRecord {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body_len: Arc<AtomicU64>,
    status: Arc<AtomicU16>,
}

struct Entry {
    obj: StoredObject,
    stored_at: DateTime<Utc>,
}

/// Result of counting one request against the fixed-window rate limit.
pub(crate) struct RateInfo {
    pub limit: u32,
    pub remaining: u32,
    /// UNIX seconds at which the current window ends.
    pub reset: i64,
    /// Seconds until `reset` (at least 1).
    pub retry_after: i64,
    pub exceeded: bool,
}

/// Shared state of one fake (both listeners of PostSyncer share one).
pub(crate) struct Core {
    pub api: Api,
    log: Mutex<Vec<LiveRecord>>,
    faults: Mutex<Vec<Fault>>,
    clock_offset: Mutex<Duration>,
    store: Mutex<BTreeMap<String, Entry>>,
    rate_limit: AtomicU32,
    window: Mutex<(i64, u32)>,
    discard: AtomicBool,
    /// Objects older than this vanish (SocialSyncer's 7-day expiry).
    object_ttl: Option<chrono::Duration>,
}

/// Poisoning only happens after a panic in a test; keep going regardless.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Core {
    pub fn new(
        api: Api,
        rate_limit: u32,
        discard: bool,
        object_ttl: Option<chrono::Duration>,
    ) -> Arc<Core> {
        Arc::new(Core {
            api,
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            clock_offset: Mutex::new(Duration::ZERO),
            store: Mutex::new(BTreeMap::new()),
            rate_limit: AtomicU32::new(rate_limit),
            window: Mutex::new((0, 0)),
            discard: AtomicBool::new(discard),
            object_ttl,
        })
    }

    /// The fake's notion of "now": wall clock plus everything passed to
    /// `advance_clock`. Every TTL and rate-limit window uses it.
    pub fn now(&self) -> DateTime<Utc> {
        let off = *lock(&self.clock_offset);
        Utc::now() + chrono::Duration::from_std(off).unwrap_or(chrono::Duration::zero())
    }

    pub fn advance_clock(&self, d: Duration) {
        *lock(&self.clock_offset) += d;
    }

    pub fn set_rate_limit(&self, n: u32) {
        self.rate_limit.store(n, Ordering::SeqCst);
    }

    pub fn discard(&self) -> bool {
        self.discard.load(Ordering::SeqCst)
    }

    pub fn set_discard(&self, d: bool) {
        self.discard.store(d, Ordering::SeqCst);
    }

    pub fn push_fault(&self, f: Fault) {
        if f.times > 0 {
            lock(&self.faults).push(f);
        }
    }

    /// First matching fault wins; its counter is decremented.
    fn take_fault(&self, method: &str, path_and_query: &str) -> Option<FaultKind> {
        let mut faults = lock(&self.faults);
        let idx = faults.iter().position(|f| {
            path_and_query.contains(&f.path_contains)
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
        })?;
        let kind = faults[idx].kind.clone();
        faults[idx].times -= 1;
        if faults[idx].times == 0 {
            faults.remove(idx);
        }
        Some(kind)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.log)
            .iter()
            .map(|r| Recorded {
                method: r.method.clone(),
                path: r.path.clone(),
                query: r.query.clone(),
                headers: r.headers.clone(),
                body_len: r.body_len.load(Ordering::SeqCst),
                status: r.status.load(Ordering::SeqCst),
            })
            .collect()
    }

    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }

    fn expired(&self, e: &Entry, now: DateTime<Utc>) -> bool {
        self.object_ttl.is_some_and(|ttl| now - e.stored_at >= ttl)
    }

    /// Drops objects whose lifetime ran out (lazy expiry).
    fn purge(&self, store: &mut BTreeMap<String, Entry>) {
        let now = self.now();
        store.retain(|_, e| !self.expired(e, now));
    }

    pub fn objects(&self) -> Vec<StoredObject> {
        let mut store = lock(&self.store);
        self.purge(&mut store);
        store.values().map(|e| e.obj.clone()).collect()
    }

    /// Exact key, a substring of a key, or a URL that contains a key.
    pub fn object(&self, needle: &str) -> Option<StoredObject> {
        let mut store = lock(&self.store);
        self.purge(&mut store);
        if let Some(e) = store.get(needle) {
            return Some(e.obj.clone());
        }
        store
            .values()
            .find(|e| e.obj.key.contains(needle) || needle.contains(&e.obj.key))
            .map(|e| e.obj.clone())
    }

    pub fn get_object(&self, key: &str) -> Option<StoredObject> {
        let mut store = lock(&self.store);
        self.purge(&mut store);
        store.get(key).map(|e| e.obj.clone())
    }

    pub fn has_object(&self, key: &str) -> bool {
        self.get_object(key).is_some()
    }

    pub fn put_object(&self, obj: StoredObject) {
        let now = self.now();
        lock(&self.store).insert(
            obj.key.clone(),
            Entry {
                obj,
                stored_at: now,
            },
        );
    }

    pub fn remove_object(&self, key: &str) -> bool {
        lock(&self.store).remove(key).is_some()
    }

    /// Counts one request in the current fixed window (windows start on
    /// whole minutes of the fake clock, like Laravel's throttle).
    pub fn rate_check(&self) -> RateInfo {
        let now = self.now().timestamp();
        let start = now - now.rem_euclid(60);
        let limit = self.rate_limit.load(Ordering::SeqCst);
        let mut w = lock(&self.window);
        if w.0 != start {
            *w = (start, 0);
        }
        let exceeded = w.1 >= limit;
        if !exceeded {
            w.1 += 1;
        }
        let reset = start + 60;
        RateInfo {
            limit,
            remaining: limit.saturating_sub(w.1),
            reset,
            retry_after: (reset - now).max(1),
            exceeded,
        }
    }
}

/// Accumulates an upload body, honouring `discard_bytes`.
pub(crate) struct Sink {
    discard: bool,
    bytes: Vec<u8>,
    head: Vec<u8>,
    tail: Vec<u8>,
    size: u64,
}

impl Sink {
    pub fn new(discard: bool) -> Sink {
        Sink {
            discard,
            bytes: Vec::new(),
            head: Vec::new(),
            tail: Vec::new(),
            size: 0,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.size += chunk.len() as u64;
        if self.head.len() < 64 {
            let n = (64 - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..n]);
        }
        let t = chunk.len().saturating_sub(64);
        self.tail.extend_from_slice(&chunk[t..]);
        if self.tail.len() > 64 {
            self.tail.drain(..self.tail.len() - 64);
        }
        if !self.discard {
            self.bytes.extend_from_slice(chunk);
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The first bytes, enough for magic-number sniffing.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    pub fn into_object(self, key: &str, content_type: &str) -> StoredObject {
        StoredObject {
            key: key.to_string(),
            content_type: content_type.to_string(),
            bytes: self.bytes,
            size: self.size,
            head: self.head,
            tail: self.tail,
        }
    }
}

/// How reading a streamed body ended.
pub(crate) struct BodyRead {
    pub total: u64,
    pub over_limit: bool,
}

/// Streams `body` into `sink` until `max` bytes; beyond that nothing more is
/// kept but the rest is still read, so the client reliably gets our error
/// status instead of a broken pipe. Err = the client went away mid-body.
pub(crate) async fn stream_body(body: Body, max: u64, sink: &mut Sink) -> Result<BodyRead, ()> {
    let mut body = body;
    let mut total: u64 = 0;
    let mut over = false;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ())?;
        if let Some(data) = frame.data_ref() {
            total += data.len() as u64;
            if total > max {
                over = true;
            }
            if !over {
                sink.push(data);
            }
        }
    }
    Ok(BodyRead {
        total,
        over_limit: over,
    })
}

/// Reads and throws away the rest of a body (see `stream_body` for why).
pub(crate) async fn drain(body: Body) {
    let mut body = body;
    while let Some(Ok(_)) = body.frame().await {}
}

/// Collects a small (JSON) body. Bodies above `cap` are drained and refused.
pub(crate) async fn collect(body: Body, cap: usize) -> Option<Bytes> {
    let mut body = body;
    let mut buf = Vec::new();
    let mut over = false;
    while let Some(frame) = body.frame().await {
        let frame = frame.ok()?;
        if let Some(d) = frame.data_ref() {
            if buf.len() + d.len() > cap {
                over = true;
            } else if !over {
                buf.extend_from_slice(d);
            }
        }
    }
    (!over).then(|| Bytes::from(buf))
}

pub(crate) fn json(status: u16, v: Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(v.to_string()))
        .expect("valid response")
}

pub(crate) fn xml(status: u16, text: String) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(Body::from(text))
        .expect("valid response")
}

pub(crate) fn text(status: u16, t: &str) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Body::from(t.to_string()))
        .expect("valid response")
}

pub(crate) fn with_header(mut r: Response, name: &'static str, value: impl ToString) -> Response {
    if let Ok(v) = value.to_string().parse() {
        r.headers_mut().insert(name, v);
    }
    r
}

pub(crate) fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The body of a stored object as a GET/HEAD answer.
pub(crate) fn object_response(obj: &StoredObject) -> Response {
    Response::builder()
        .status(200)
        .header("content-type", obj.content_type.as_str())
        // Discarded objects are answered empty; say so instead of lying.
        .header(
            "x-fake-discarded",
            if obj.bytes.len() as u64 == obj.size {
                "false"
            } else {
                "true"
            },
        )
        .body(Body::from(obj.bytes.clone()))
        .expect("valid response")
}

pub(crate) fn reason(status: u16) -> &'static str {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

/// Random lowercase hex, for tokens and signatures in presigned URLs.
pub(crate) fn random_hex(len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        s.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    s.truncate(len);
    s
}

/// Query string → first value per key (percent-decoded).
pub(crate) fn query_map(q: Option<&str>) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    if let Some(q) = q {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            m.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
    }
    m
}

/// Extension of a file name, lower-cased, without the dot.
pub(crate) fn extension(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (stem, ext) = base.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// ISO 8601 with microseconds and `Z`, as FastPix and others emit.
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Binds a listener on loopback only; fakes must never be reachable from
/// outside the machine.
pub(crate) async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0")
}

/// Wraps a routing handler so axum's extractors (multipart) see no body
/// limit: uploads are counted and limited by the fakes themselves.
pub(crate) fn router<S, H, T>(handler: H, state: S) -> Router
where
    S: Clone + Send + Sync + 'static,
    H: axum::handler::Handler<T, S>,
    T: 'static,
{
    Router::new()
        .fallback(handler)
        .with_state(state)
        .layer(DefaultBodyLimit::disable())
}

/// Per-connection switch used by faults to kill the TCP connection.
#[derive(Default)]
struct ConnCtl {
    kill: Notify,
    reset: AtomicBool,
}

/// TcpStream that turns its close into an RST when a fault asks for it
/// (SO_LINGER 0), so the client sees "connection reset", not a clean EOF.
struct CtlStream {
    inner: TcpStream,
    ctl: Arc<ConnCtl>,
}

impl Drop for CtlStream {
    fn drop(&mut self) {
        if self.ctl.reset.load(Ordering::SeqCst) {
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for CtlStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CtlStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Serves `router` on `listener` forever (a spawned task on the current
/// runtime), recording every request and applying faults before routing.
pub(crate) fn spawn_server(listener: TcpListener, core: Arc<Core>, router: Router) {
    let svc = TowerToHyperService::new(router);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let ctl = Arc::new(ConnCtl::default());
            let io = TokioIo::new(CtlStream {
                inner: stream,
                ctl: ctl.clone(),
            });
            let core = core.clone();
            let svc = svc.clone();
            tokio::spawn(async move {
                let ctl2 = ctl.clone();
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    handle(core.clone(), svc.clone(), ctl.clone(), req)
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .serve_connection(io, service);
                tokio::select! {
                    _ = conn => {}
                    _ = ctl2.kill.notified() => {}
                }
            });
        }
    });
}

async fn handle(
    core: Arc<Core>,
    svc: TowerToHyperService<Router>,
    ctl: Arc<ConnCtl>,
    req: Request<Incoming>,
) -> Result<Response, Infallible> {
    let (parts, body) = req.into_parts();
    let counter = Arc::new(AtomicU64::new(0));
    let status = Arc::new(AtomicU16::new(0));
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    lock(&core.log).push(LiveRecord {
        method: parts.method.to_string(),
        path: path.clone(),
        query: query.clone(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body_len: counter.clone(),
        status: status.clone(),
    });
    let c = counter.clone();
    let body = Body::new(body.map_frame(move |f| {
        if let Some(d) = f.data_ref() {
            c.fetch_add(d.len() as u64, Ordering::SeqCst);
        }
        f
    }));
    let path_q = match &query {
        Some(q) => format!("{path}?{q}"),
        None => path.clone(),
    };
    let fault = core.take_fault(parts.method.as_str(), &path_q);
    let req = Request::from_parts(parts, body);
    let resp = match fault {
        None => route(&svc, req).await,
        Some(FaultKind::Delay(d)) => {
            tokio::time::sleep(d).await;
            route(&svc, req).await
        }
        Some(FaultKind::Status(n)) => {
            drain(req.into_body()).await;
            error_envelope(core.api, n, &path)
        }
        Some(FaultKind::RateLimited { retry_after_secs }) => {
            drain(req.into_body()).await;
            rate_limited(&core, retry_after_secs, &path)
        }
        Some(FaultKind::ResetMidBody) => {
            // Take a few KiB so the client is surely mid-upload, then RST.
            let mut body = req.into_body();
            let mut seen = 0usize;
            while seen < 16 * 1024 {
                match body.frame().await {
                    Some(Ok(f)) => seen += f.data_ref().map_or(0, |d| d.len()),
                    _ => break,
                }
            }
            ctl.reset.store(true, Ordering::SeqCst);
            ctl.kill.notify_one();
            std::future::pending::<()>().await;
            unreachable!("the connection task drops this future")
        }
        Some(FaultKind::StoreThenStatus(n)) => {
            let _ = route(&svc, req).await;
            error_envelope(core.api, n, &path)
        }
        Some(FaultKind::StoreThenStall) => {
            let _ = route(&svc, req).await;
            // Held until the client goes away (hyper drops this future then).
            std::future::pending::<()>().await;
            unreachable!("the connection task drops this future")
        }
        Some(FaultKind::DropResponse) => {
            let _ = route(&svc, req).await;
            ctl.kill.notify_one();
            std::future::pending::<()>().await;
            unreachable!("the connection task drops this future")
        }
    };
    status.store(resp.status().as_u16(), Ordering::SeqCst);
    Ok(resp)
}

async fn route(svc: &TowerToHyperService<Router>, req: Request<Body>) -> Response {
    match svc.call(req).await {
        Ok(r) => r,
        Err(e) => match e {},
    }
}

/// The documented error body of each API for a given status (fault `Status`).
pub(crate) fn error_envelope(api: Api, status: u16, path: &str) -> Response {
    match api {
        Api::PostSyncer => crate::postsyncer::error_for(status),
        Api::Synposter => crate::synposter::error_for(status, path),
        Api::SocialSyncer => crate::socialsyncer::error_for(status, path),
        Api::FastPix => crate::fastpix::error_for(status),
        Api::Origin => text(status, reason(status)),
    }
}

fn rate_limited(core: &Core, retry_after: u64, path: &str) -> Response {
    let r = match core.api {
        Api::PostSyncer => {
            let reset = core.now().timestamp() + retry_after as i64;
            let r = crate::postsyncer::error_for(429);
            let r = with_header(
                r,
                "x-ratelimit-limit",
                core.rate_limit.load(Ordering::SeqCst),
            );
            let r = with_header(r, "x-ratelimit-remaining", 0);
            with_header(r, "x-ratelimit-reset", reset)
        }
        _ => error_envelope(core.api, 429, path),
    };
    with_header(r, "retry-after", retry_after)
}
