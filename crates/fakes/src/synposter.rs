//! Synposter fake (providers.md §2, §6.2).
//!
//! API under `/v1` with `x-api-key` auth; errors are flat `{"error": code}`.
//! `POST /v1/media` hands out a Supabase-style signed upload URL and a public
//! URL, both on this same listener under `/storage/v1/object/...`:
//! - `PUT /storage/v1/object/upload/sign/media/<path>?token=...` (no auth; the
//!   token is the credential), Supabase-style JSON errors
//!   `{"statusCode","error","message"}`.
//! - `GET /storage/v1/object/public/media/<path>`: 404 until the PUT succeeded.
//!
//! Choices where the docs are silent: an expired URL answers 400 (Supabase's
//! JWT "exp" error); a Content-Type different from the declared `mime_type`
//! answers 400; re-PUT of an existing object answers 409 "Duplicate" (Supabase
//! signed upload URLs do not overwrite); a missing Content-Length answers 411.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::common::{self, header, lock, Api, Core, Sink};
use crate::{Fake, Options, SYNPOSTER_KEY};

struct Upload {
    token: String,
    mime_type: String,
    expires_at: DateTime<Utc>,
}

pub(crate) struct Inner {
    core: Arc<Core>,
    base: String,
    /// Opaque per-developer prefix of every object path.
    prefix: String,
    max_bytes: u64,
    uploads: Mutex<HashMap<String, Upload>>,
}

type St = Arc<Inner>;

const SIGN_PREFIX: &str = "/storage/v1/object/upload/sign/media/";
const PUBLIC_PREFIX: &str = "/storage/v1/object/public/media/";

pub(crate) async fn start(opts: &Options) -> Fake {
    let core = Core::new(Api::Synposter, u32::MAX, opts.discard_bytes, None);
    let listener = common::bind().await;
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let st = Arc::new(Inner {
        core: core.clone(),
        base: base.clone(),
        prefix: format!("dev_{}", common::random_hex(12)),
        max_bytes: opts.synposter_max_bytes,
        uploads: Mutex::new(HashMap::new()),
    });
    common::spawn_server(listener, core.clone(), common::router(handle, st));
    Fake {
        core,
        api_url: format!("{base}/v1"),
        upload_url: None,
        fastpix: None,
    }
}

fn err(status: u16, code: &str) -> Response {
    common::json(status, json!({ "error": code }))
}

/// Supabase Storage's error shape (used on the storage paths only).
fn storage_err(status: u16, error: &str, message: &str) -> Response {
    common::json(
        status,
        json!({"statusCode": status.to_string(), "error": error, "message": message}),
    )
}

pub(crate) fn error_for(status: u16, path: &str) -> Response {
    if path.starts_with("/storage/") {
        return storage_err(status, common::reason(status), common::reason(status));
    }
    let code = match status {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        429 => "rate_limited",
        500 => "internal_error",
        _ => "error",
    };
    err(status, code)
}

async fn handle(State(st): State<St>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if let Some(p) = path.strip_prefix(SIGN_PREFIX) {
        let p = p.to_string();
        return storage_put(&st, p, req).await;
    }
    if let Some(p) = path.strip_prefix(PUBLIC_PREFIX) {
        let p = p.to_string();
        let head = req.method() == Method::HEAD;
        if req.method() != Method::GET && !head {
            common::drain(req.into_body()).await;
            return storage_err(405, "Method Not Allowed", "Method not allowed");
        }
        return match st.core.get_object(&format!("media/{p}")) {
            Some(obj) => common::object_response(&obj),
            None => storage_err(404, "not_found", "Object not found"),
        };
    }
    let Some(rest) = path.strip_prefix("/v1") else {
        common::drain(req.into_body()).await;
        return err(404, "not_found");
    };
    // Auth first: the header name is case-insensitive (HTTP), the value exact.
    // `Authorization: Bearer` is deliberately not accepted.
    if header(req.headers(), "x-api-key") != Some(SYNPOSTER_KEY) {
        common::drain(req.into_body()).await;
        return err(401, "unauthorized");
    }
    let method = req.method().clone();
    match (method, rest) {
        (Method::GET, "/health") => common::json(200, json!({"status": "ok"})),
        (Method::GET, "/usage") => {
            let now = st.core.now();
            common::json(
                200,
                json!({
                    "plan": "free",
                    "posts": {"used": 0, "limit": 20, "remaining": 20},
                    "profiles": {"used": 1, "limit": 1, "remaining": 0},
                    "period_start": common::iso(now - chrono::Duration::days(1)),
                    "period_end": common::iso(now + chrono::Duration::days(29)),
                }),
            )
        }
        (Method::POST, "/media") => create_media(&st, req).await,
        // No list/get/delete of media exists yet (documented as not shipped).
        _ => {
            common::drain(req.into_body()).await;
            err(404, "not_found")
        }
    }
}

fn valid_filename(v: Option<&Value>) -> Option<&str> {
    let f = v?.as_str()?;
    let len = f.chars().count();
    ((1..=255).contains(&len) && !f.contains(['/', '\\', '\0'])).then_some(f)
}

async fn create_media(st: &St, req: Request) -> Response {
    // Check order json → filename → mime is a guess (providers.md §2.3).
    let Some(body) = common::collect(req.into_body(), 1 << 20).await else {
        return err(400, "invalid_json");
    };
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(&body) else {
        return err(400, "invalid_json");
    };
    let Some(filename) = valid_filename(obj.get("filename")) else {
        return err(400, "invalid_filename");
    };
    let mime = match obj.get("mime_type").and_then(Value::as_str) {
        Some(m) if m.len() > 6 && (m.starts_with("image/") || m.starts_with("video/")) => m,
        _ => return err(400, "invalid_mime_type"),
    };
    let id = uuid::Uuid::new_v4();
    let ext = common::extension(filename).unwrap_or_else(|| "bin".into());
    let path = format!("{}/{}.{}", st.prefix, id, ext);
    let token = common::random_hex(40);
    let expires_at = st.core.now() + chrono::Duration::hours(2);
    lock(&st.uploads).insert(
        path.clone(),
        Upload {
            token: token.clone(),
            mime_type: mime.to_string(),
            expires_at,
        },
    );
    common::json(
        201,
        json!({
            "id": id.to_string(),
            "upload_url": format!("{}{SIGN_PREFIX}{path}?token={token}", st.base),
            "public_url": format!("{}{PUBLIC_PREFIX}{path}", st.base),
            "path": path,
            "mime_type": mime,
            "expires_at": expires_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        }),
    )
}

async fn storage_put(st: &St, path: String, req: Request) -> Response {
    if req.method() != Method::PUT {
        common::drain(req.into_body()).await;
        return storage_err(405, "Method Not Allowed", "Method not allowed");
    }
    let q = common::query_map(req.uri().query());
    let check = {
        let uploads = lock(&st.uploads);
        match uploads.get(&path) {
            Some(u) if q.get("token") == Some(&u.token) => Ok((u.mime_type.clone(), u.expires_at)),
            _ => Err(()),
        }
    };
    let Ok((mime, expires_at)) = check else {
        common::drain(req.into_body()).await;
        return storage_err(400, "InvalidJWT", "invalid signature");
    };
    if st.core.now() > expires_at {
        common::drain(req.into_body()).await;
        return storage_err(400, "InvalidJWT", "\"exp\" claim timestamp check failed");
    }
    if header(req.headers(), "content-length").is_none() {
        common::drain(req.into_body()).await;
        return storage_err(
            411,
            "MissingContentLength",
            "Content-Length header is required",
        );
    }
    let ct = header(req.headers(), "content-type")
        .unwrap_or("")
        .to_string();
    if ct != mime {
        common::drain(req.into_body()).await;
        return storage_err(
            400,
            "InvalidContentType",
            &format!("Content-Type {ct:?} does not match the signed mime type {mime:?}"),
        );
    }
    let key = format!("media/{path}");
    if st.core.has_object(&key) {
        common::drain(req.into_body()).await;
        return storage_err(409, "Duplicate", "The resource already exists");
    }
    let mut sink = Sink::new(st.core.discard());
    let Ok(read) = common::stream_body(req.into_body(), st.max_bytes, &mut sink).await else {
        return storage_err(400, "IncompleteBody", "The request body ended early");
    };
    if read.over_limit {
        return storage_err(
            413,
            "Payload too large",
            "The object exceeded the maximum allowed size",
        );
    }
    st.core.put_object(sink.into_object(&key, &mime));
    common::json(200, json!({ "Key": key }))
}
