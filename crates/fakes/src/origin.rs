//! A plain static web server standing in for "somewhere on the internet" in
//! URL-import tests (PostSyncer import, FastPix pull). It can omit
//! Content-Length (chunked), add Content-Disposition, redirect (any method,
//! to another host too), honour or ignore `Range`, and cut a response off
//! midway, because those are the cases an importer has to cope with.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::Response;
use bytes::Bytes;

use crate::common::{self, lock, Api, Core, Fault, Recorded};

/// How one origin file is served.
#[derive(Clone, Debug)]
pub struct OriginOpts {
    pub content_type: String,
    /// false = no Content-Length, body sent with chunked transfer encoding.
    pub content_length: bool,
    pub content_disposition: Option<String>,
    /// Answer `redirect_status` to this path (or absolute URL) instead of the
    /// bytes, whatever the method.
    pub redirect_to: Option<String>,
    /// 302 by default; 307/308 keep the method and body.
    pub redirect_status: u16,
    /// Honour `Range: bytes=a-b` / `bytes=a-` with 206 + Content-Range; false
    /// answers 200 with the whole body, as many origins do.
    pub ranges: bool,
    /// The first response for this file stops after this many body bytes and
    /// the connection is broken (the client sees a cut download).
    pub cut_once_after: Option<u64>,
}

impl Default for OriginOpts {
    fn default() -> Self {
        OriginOpts {
            content_type: "application/octet-stream".into(),
            content_length: true,
            content_disposition: None,
            redirect_to: None,
            redirect_status: 302,
            ranges: false,
            cut_once_after: None,
        }
    }
}

#[derive(Clone)]
struct File {
    bytes: Bytes,
    opts: OriginOpts,
    /// Whether the one cut (`cut_once_after`) already happened.
    cut_done: Arc<std::sync::atomic::AtomicBool>,
}

type Files = Arc<Mutex<HashMap<String, File>>>;

/// Handle to the origin server. Cheap to clone.
#[derive(Clone)]
pub struct Origin {
    core: Arc<Core>,
    base: String,
    files: Files,
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Origin")
            .field("base_url", &self.base)
            .finish_non_exhaustive()
    }
}

impl Origin {
    /// `http://127.0.0.1:P` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.base.clone()
    }

    /// Full URL of a path on the origin.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// Serves `bytes` at `path` with a Content-Length.
    pub fn serve(&self, path: &str, bytes: Vec<u8>, content_type: &str) {
        self.serve_with(
            path,
            bytes,
            OriginOpts {
                content_type: content_type.into(),
                ..OriginOpts::default()
            },
        )
    }

    pub fn serve_with(&self, path: &str, bytes: Vec<u8>, opts: OriginOpts) {
        let path = format!("/{}", path.trim_start_matches('/'));
        lock(&self.files).insert(
            path,
            File {
                bytes: Bytes::from(bytes),
                opts,
                cut_done: Arc::default(),
            },
        );
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.core.requests()
    }

    pub fn clear_requests(&self) {
        self.core.clear_requests()
    }

    pub fn push_fault(&self, fault: Fault) {
        self.core.push_fault(fault)
    }
}

/// Start one more origin on its own port (a second host for redirect tests).
pub async fn start() -> Origin {
    let core = Core::new(Api::Origin, u32::MAX, false, None);
    let files: Files = Arc::default();
    let listener = common::bind().await;
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    common::spawn_server(
        listener,
        core.clone(),
        common::router(handle, (files.clone(), base.clone())),
    );
    Origin { core, base, files }
}

async fn handle(State((files, base)): State<(Files, String)>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let range = common::header(req.headers(), "range").map(str::to_string);
    common::drain(req.into_body()).await;
    let file = lock(&files).get(&path).cloned();
    // A redirect answers any method: API clients get redirected too.
    if let Some(to) = file.as_ref().and_then(|f| f.opts.redirect_to.clone()) {
        let location = if to.starts_with("http://") || to.starts_with("https://") {
            to
        } else {
            format!("{base}/{}", to.trim_start_matches('/'))
        };
        let status = file.as_ref().map_or(302, |f| f.opts.redirect_status);
        return common::with_header(common::text(status, "Redirect"), "location", location);
    }
    if method != Method::GET && method != Method::HEAD {
        return common::with_header(
            common::text(405, "Method Not Allowed"),
            "allow",
            "GET, HEAD",
        );
    }
    let Some(file) = file else {
        return common::text(404, "Not Found");
    };
    let total = file.bytes.len() as u64;
    let wanted = range
        .as_deref()
        .filter(|_| file.opts.ranges)
        .map(|r| parse_range(r, total));
    let (status, slice) = match wanted {
        None => (200, file.bytes.clone()),
        Some(Some((a, b))) => (206, file.bytes.slice(a as usize..=b as usize)),
        Some(None) => {
            return common::with_header(
                common::text(416, "Range Not Satisfiable"),
                "content-range",
                format!("bytes */{total}"),
            )
        }
    };
    let cut = file.opts.cut_once_after.filter(|_| {
        !file
            .cut_done
            .swap(true, std::sync::atomic::Ordering::SeqCst)
    });
    let len = slice.len() as u64;
    let body = if cut.is_some() || !file.opts.content_length {
        // A stream: chunked when no length is declared; cut short when asked
        // (the declared length is then never met and the connection breaks).
        let keep = cut.map_or(slice.len(), |c| c.min(len) as usize);
        let mut chunks: Vec<Result<Bytes, std::io::Error>> = slice[..keep]
            .chunks(64 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        if cut.is_some() {
            chunks.push(Err(std::io::Error::other("cut off by the test")));
        }
        Body::from_stream(futures_util::stream::iter(chunks))
    } else {
        Body::from(slice)
    };
    let mut b = Response::builder()
        .status(status)
        .header("content-type", file.opts.content_type.as_str());
    if file.opts.ranges {
        b = b.header("accept-ranges", "bytes");
    }
    if file.opts.content_length {
        b = b.header("content-length", len);
    }
    if status == 206 {
        if let Some(Some((a, e))) = wanted {
            b = b.header("content-range", format!("bytes {a}-{e}/{total}"));
        }
    }
    if let Some(cd) = &file.opts.content_disposition {
        b = b.header("content-disposition", cd.as_str());
    }
    b.body(body).expect("valid response")
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` → inclusive (start, end) within
/// `total`; None when unsatisfiable or not understood.
fn parse_range(v: &str, total: u64) -> Option<(u64, u64)> {
    let spec = v.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (total.checked_sub(n.min(total))?, total.checked_sub(1)?)
        }
        (a, "") => (a.parse().ok()?, total.checked_sub(1)?),
        (a, b) => (
            a.parse().ok()?,
            b.parse::<u64>().ok()?.min(total.checked_sub(1)?),
        ),
    };
    (a <= b && b < total).then_some((a, b))
}
