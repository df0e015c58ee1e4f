//! A plain static web server standing in for "somewhere on the internet" in
//! URL-import tests (PostSyncer import, FastPix pull). It can omit
//! Content-Length (chunked), add Content-Disposition and redirect, because
//! those are the cases an importer has to cope with.

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
    /// Answer 302 to this path (or absolute URL) instead of the bytes.
    pub redirect_to: Option<String>,
}

impl Default for OriginOpts {
    fn default() -> Self {
        OriginOpts {
            content_type: "application/octet-stream".into(),
            content_length: true,
            content_disposition: None,
            redirect_to: None,
        }
    }
}

#[derive(Clone)]
struct File {
    bytes: Bytes,
    opts: OriginOpts,
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

pub(crate) async fn start() -> Origin {
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
    common::drain(req.into_body()).await;
    if method != Method::GET && method != Method::HEAD {
        return common::with_header(
            common::text(405, "Method Not Allowed"),
            "allow",
            "GET, HEAD",
        );
    }
    let Some(file) = lock(&files).get(&path).cloned() else {
        return common::text(404, "Not Found");
    };
    if let Some(to) = &file.opts.redirect_to {
        let location = if to.starts_with("http://") || to.starts_with("https://") {
            to.clone()
        } else {
            format!("{base}/{}", to.trim_start_matches('/'))
        };
        return common::with_header(common::text(302, "Found"), "location", location);
    }
    let body = if file.opts.content_length {
        Body::from(file.bytes.clone())
    } else {
        // A stream has no exact size, so hyper falls back to chunked encoding.
        let chunks: Vec<Result<Bytes, std::io::Error>> = file
            .bytes
            .chunks(8192)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        Body::from_stream(futures_util::stream::iter(chunks))
    };
    let mut b = Response::builder()
        .status(200)
        .header("content-type", file.opts.content_type.as_str());
    if let Some(cd) = &file.opts.content_disposition {
        b = b.header("content-disposition", cd.as_str());
    }
    b.body(body).expect("valid response")
}
