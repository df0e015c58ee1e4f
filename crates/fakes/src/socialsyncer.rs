//! SocialSyncer API fake (providers.md §3, §6.3).
//!
//! API under `/v1` with `Authorization: Bearer sk_...`; errors are
//! `{"error": "<text>", "code": "<CODE>"}`; fixed-minute rate limit with 429
//! `RATE_LIMIT_EXCEEDED` + `Retry-After`. `POST /v1/media/presign` returns an
//! S3-style presigned URL on this same listener under `/s3/<key>?X-Amz-...`;
//! that path behaves like S3: XML errors, `ETag` on success, overwrite allowed
//! while the URL is valid, and `GET /s3/<key>` is the public URL (404
//! `NoSuchKey` before the PUT and again 7 days after it, when the object
//! expires). A PUT without Content-Length answers 411 `MissingContentLength`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::common::{self, header, lock, Api, Core, Sink};
use crate::{Fake, Options, SOCIALSYNCER_KEY};

/// Content types the presign endpoint accepts (docs: JPEG, PNG, GIF, WebP,
/// MP4, MOV, WebM).
const SUPPORTED: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/quicktime",
    "video/webm",
];

struct Presign {
    signature: String,
    content_type: String,
    issued_at: DateTime<Utc>,
}

pub(crate) struct Inner {
    core: Arc<Core>,
    base: String,
    max_bytes: u64,
    presigns: Mutex<HashMap<String, Presign>>,
}

type St = Arc<Inner>;

pub(crate) async fn start(opts: &Options) -> Fake {
    let core = Core::new(
        Api::SocialSyncer,
        opts.socialsyncer_rate_limit,
        opts.discard_bytes,
        Some(chrono::Duration::days(7)),
    );
    let listener = common::bind().await;
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let st = Arc::new(Inner {
        core: core.clone(),
        base: base.clone(),
        max_bytes: opts.socialsyncer_max_bytes,
        presigns: Mutex::new(HashMap::new()),
    });
    common::spawn_server(listener, core.clone(), common::router(handle, st));
    Fake {
        core,
        api_url: format!("{base}/v1"),
        upload_url: None,
        fastpix: None,
    }
}

fn err(status: u16, error: &str, code: &str) -> Response {
    common::json(status, json!({"error": error, "code": code}))
}

fn s3_err(status: u16, code: &str, message: &str) -> Response {
    common::xml(
        status,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{}</RequestId><HostId>fake</HostId></Error>",
            common::random_hex(16).to_uppercase()
        ),
    )
}

pub(crate) fn error_for(status: u16, path: &str) -> Response {
    if path.starts_with("/s3/") {
        let code = match status {
            403 => "AccessDenied",
            404 => "NoSuchKey",
            500 => "InternalError",
            503 => "SlowDown",
            _ => "InvalidRequest",
        };
        return s3_err(status, code, common::reason(status));
    }
    match status {
        400 => err(400, "Bad request", "VALIDATION_ERROR"),
        401 => err(401, "Invalid API key", "AUTH_INVALID_KEY"),
        404 => err(404, "Not found", "NOT_FOUND"),
        429 => err(429, "Rate limit exceeded", "RATE_LIMIT_EXCEEDED"),
        500 => err(500, "Internal server error", "INTERNAL_ERROR"),
        s => err(s, common::reason(s), "INTERNAL_ERROR"),
    }
}

async fn handle(State(st): State<St>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if let Some(key) = path.strip_prefix("/s3/") {
        let key = key.to_string();
        return storage(&st, key, req).await;
    }
    let Some(rest) = path.strip_prefix("/v1") else {
        common::drain(req.into_body()).await;
        return err(404, "Not found", "NOT_FOUND");
    };
    let rest = rest.to_string();
    match header(req.headers(), "authorization") {
        None => {
            common::drain(req.into_body()).await;
            return err(401, "Missing API key", "AUTH_MISSING_KEY");
        }
        Some(a) if a.strip_prefix("Bearer ") != Some(SOCIALSYNCER_KEY) => {
            common::drain(req.into_body()).await;
            return err(401, "Invalid API key", "AUTH_INVALID_KEY");
        }
        Some(_) => {}
    }
    let rate = st.core.rate_check();
    if rate.exceeded {
        common::drain(req.into_body()).await;
        return common::with_header(
            err(429, "Rate limit exceeded", "RATE_LIMIT_EXCEEDED"),
            "retry-after",
            rate.retry_after,
        );
    }
    let method = req.method().clone();
    match (method, rest.as_str()) {
        (Method::POST, "/media/presign") => presign(&st, req).await,
        (Method::GET, "/accounts") => common::json(200, json!({"accounts": []})),
        (_, "/media/presign") | (_, "/accounts") => {
            common::drain(req.into_body()).await;
            err(405, "Method not allowed", "METHOD_NOT_ALLOWED")
        }
        // No media list/get/delete routes exist.
        _ => {
            common::drain(req.into_body()).await;
            err(404, "Not found", "NOT_FOUND")
        }
    }
}

async fn presign(st: &St, req: Request) -> Response {
    let body = common::collect(req.into_body(), 1 << 20).await;
    let Some(Ok(Value::Object(obj))) = body.map(|b| serde_json::from_slice::<Value>(&b)) else {
        return err(400, "Invalid JSON body", "VALIDATION_ERROR");
    };
    let filename = obj.get("filename").and_then(Value::as_str).unwrap_or("");
    if filename.trim().is_empty() {
        return err(400, "filename is required", "VALIDATION_ERROR");
    }
    let Some(ext) = common::extension(filename) else {
        return err(
            400,
            "filename must include an extension",
            "VALIDATION_ERROR",
        );
    };
    let Some(ct) = obj.get("contentType").and_then(Value::as_str) else {
        return err(400, "contentType is required", "VALIDATION_ERROR");
    };
    if !SUPPORTED.contains(&ct) {
        return err(
            400,
            &format!("Unsupported contentType: {ct}"),
            "VALIDATION_ERROR",
        );
    }
    let key = format!("media/owner_fake/{}.{ext}", common::random_hex(20));
    let signature = common::random_hex(64);
    let now = st.core.now();
    lock(&st.presigns).insert(
        key.clone(),
        Presign {
            signature: signature.clone(),
            content_type: ct.to_string(),
            issued_at: now,
        },
    );
    let upload_url = format!(
        "{}/s3/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=FAKEAKID%2F{}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date={}&X-Amz-Expires=3600&X-Amz-SignedHeaders=content-type%3Bhost&X-Amz-Signature={signature}",
        st.base,
        now.format("%Y%m%d"),
        now.format("%Y%m%dT%H%M%SZ"),
    );
    common::json(
        200,
        json!({
            "uploadUrl": upload_url,
            "publicUrl": format!("{}/s3/{key}", st.base),
            "key": key,
            "expiresIn": 3600,
        }),
    )
}

/// Opaque ETag; S3 uses MD5 but clients must treat it as opaque.
fn etag(sink_head: &[u8], bytes: &[u8], size: u64) -> String {
    let mut h1: u64 = 0xcbf29ce484222325;
    let mut h2: u64 = 0x84222325cbf29ce4 ^ size;
    for &b in bytes.iter().chain(sink_head) {
        h1 = (h1 ^ b as u64).wrapping_mul(0x100000001b3);
        h2 = (h2 ^ b as u64).wrapping_mul(0x1000000001b3);
    }
    format!("\"{h1:016x}{h2:016x}\"")
}

async fn storage(st: &St, key: String, req: Request) -> Response {
    let method = req.method().clone();
    if method == Method::GET || method == Method::HEAD {
        common::drain(req.into_body()).await;
        return match st.core.get_object(&key) {
            Some(obj) => common::with_header(
                common::object_response(&obj),
                "etag",
                etag(&obj.head, &obj.bytes, obj.size),
            ),
            None => s3_err(404, "NoSuchKey", "The specified key does not exist."),
        };
    }
    if method != Method::PUT {
        common::drain(req.into_body()).await;
        return s3_err(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        );
    }
    let q = common::query_map(req.uri().query());
    let presign = {
        let p = lock(&st.presigns);
        p.get(&key)
            .map(|p| (p.signature.clone(), p.content_type.clone(), p.issued_at))
    };
    let Some((sig, ct, issued_at)) = presign else {
        common::drain(req.into_body()).await;
        return s3_err(403, "AccessDenied", "Access Denied");
    };
    if st.core.now() - issued_at > chrono::Duration::seconds(3600) {
        common::drain(req.into_body()).await;
        return s3_err(403, "AccessDenied", "Request has expired");
    }
    let sent_ct = header(req.headers(), "content-type").unwrap_or("");
    if q.get("X-Amz-Signature") != Some(&sig) || sent_ct != ct {
        common::drain(req.into_body()).await;
        return s3_err(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        );
    }
    let Some(len) = header(req.headers(), "content-length") else {
        common::drain(req.into_body()).await;
        return s3_err(
            411,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        );
    };
    let too_large = "Your proposed upload exceeds the maximum allowed size";
    if len.parse::<u64>().is_ok_and(|n| n > st.max_bytes) {
        common::drain(req.into_body()).await;
        return s3_err(400, "EntityTooLarge", too_large);
    }
    let mut sink = Sink::new(st.core.discard());
    let Ok(read) = common::stream_body(req.into_body(), st.max_bytes, &mut sink).await else {
        return s3_err(
            400,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        );
    };
    if read.over_limit {
        return s3_err(400, "EntityTooLarge", too_large);
    }
    let obj = sink.into_object(&key, &ct);
    let tag = etag(&obj.head, &obj.bytes, obj.size);
    st.core.put_object(obj);
    Response::builder()
        .status(200)
        .header("etag", tag)
        .body(axum::body::Body::empty())
        .expect("valid response")
}
