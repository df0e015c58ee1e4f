//! FastPix on-demand video fake (providers.md §4, §6.4).
//!
//! API under `/v1` with HTTP Basic auth (token id : secret); success bodies
//! are `{"success": true, "data": ...}`, errors
//! `{"success": false, "error": {"code", "message", "description"}}`, and
//! validation errors 422 with `fields: [{"field", "message"}]` instead of
//! `description`.
//!
//! Push uploads get a GCS-style resumable session URL on this same listener
//! (`/upload/fastpix-uploads-fake/<workspace>/<uploadId>?X-Goog-...&upload_id=...`):
//! a whole-body PUT completes it; `Content-Range: bytes a-b/total` chunks get
//! `308` + `Range: bytes=0-<last>` until the last one; `bytes */total` with an
//! empty body asks for the committed range (308, without `Range` when nothing
//! is committed) or answers 200 when complete. A chunk that leaves a gap is a
//! 400; an overlapping one is accepted and the overlap skipped (as GCS does);
//! non-final chunks must be multiples of `fastpix_chunk_granularity`. After
//! `timeout` (14400 s) or a cancel the session answers 410. Completion creates
//! the media with `id == uploadId`; the stored object's key is
//! `<workspaceId>/<uploadId>` (so `Fake::object(session_url)` finds it).
//!
//! Processing is simulated per `GET /on-demand/{id}`: it takes
//! `fastpix_processing_steps` GETs to reach `Ready` (or `Failed` for a pulled
//! URL whose path contains "fail" or ends in an unsupported extension, or an
//! empty upload), passing through the documented intermediate statuses.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::Response;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::common::{self, header, lock, Api, Core, Sink};
use crate::{Fake, Options, FASTPIX_SECRET, FASTPIX_TOKEN_ID};

const WORKSPACE_ID: &str = "5f0c9a1e-7b2d-4c55-9d0e-fa57f1c0ffee";
const TIMEOUT_SECS: i64 = 14_400;
/// Source formats FastPix documents (seed list plus the guide's additions).
const SUPPORTED_EXT: &[&str] = &[
    "m4v", "ogv", "mpeg", "mov", "3gp", "f4v", "rm", "ts", "wtv", "avi", "mp4", "wmv", "webm",
    "mts", "vob", "mxf", "asf", "m2ts", "swf", "mkv", "mp3",
];
const PULL_STEPS: &[&str] = &[
    "Downloading",
    "Downloaded",
    "Validating",
    "In Queue",
    "Processing",
];
const PUSH_STEPS: &[&str] = &["Validating", "In Queue", "Processing"];

#[derive(Clone)]
struct Media {
    id: String,
    created_at: DateTime<Utc>,
    /// GETs seen so far (drives the simulated processing).
    gets: u32,
    fail: bool,
    from_upload: bool,
    playback_id: String,
    /// Settings as validated (accessPolicy, metadata, title, ...).
    settings: Settings,
    inputs: Option<Value>,
}

#[derive(Clone)]
struct Settings {
    access_policy: String,
    metadata: Option<Value>,
    title: Option<String>,
    creator_id: Option<String>,
    max_resolution: String,
    media_quality: String,
    source_access: bool,
    optimize_audio: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum UpState {
    Waiting,
    Cancelled,
    Completed,
}

/// The resumable session's data; behind an async lock so PUTs to one session
/// are serialised like GCS serialises them.
struct Session {
    sink: Sink,
    committed: u64,
    total: Option<u64>,
}

struct Upload {
    id: String,
    seq: u64,
    session_id: String,
    signature: String,
    created_at: DateTime<Utc>,
    state: UpState,
    cors_origin: String,
    settings: Settings,
    push_inputs: Option<Value>,
    session: Arc<tokio::sync::Mutex<Session>>,
}

pub(crate) struct Inner {
    core: Arc<Core>,
    base: String,
    strict: bool,
    steps: u32,
    granularity: u64,
    uploads: Mutex<BTreeMap<String, Upload>>,
    /// In creation order.
    media: Mutex<Vec<Media>>,
    seq: std::sync::atomic::AtomicU64,
}

impl Inner {
    pub(crate) fn media_status(&self, id: &str) -> Option<String> {
        if let Some(m) = lock(&self.media).iter().find(|m| m.id == id) {
            return Some(status_of(m, self.steps).to_string());
        }
        lock(&self.uploads).get(id).map(|u| {
            match u.state {
                UpState::Waiting => "waiting",
                UpState::Cancelled => "cancelled",
                UpState::Completed => "completed",
            }
            .to_string()
        })
    }
}

type St = Arc<Inner>;

pub(crate) async fn start(opts: &Options) -> Fake {
    let core = Core::new(Api::FastPix, u32::MAX, opts.discard_bytes, None);
    let listener = common::bind().await;
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let st = Arc::new(Inner {
        core: core.clone(),
        base: base.clone(),
        strict: opts.fastpix_strict,
        steps: opts.fastpix_processing_steps,
        granularity: opts.fastpix_chunk_granularity,
        uploads: Mutex::new(BTreeMap::new()),
        media: Mutex::new(Vec::new()),
        seq: std::sync::atomic::AtomicU64::new(0),
    });
    common::spawn_server(listener, core.clone(), common::router(handle, st.clone()));
    Fake {
        core,
        api_url: format!("{base}/v1"),
        upload_url: None,
        fastpix: Some(st),
    }
}

fn err(status: u16, message: &str, description: &str) -> Response {
    common::json(
        status,
        json!({"success": false, "error": {"code": status, "message": message, "description": description}}),
    )
}

fn invalid(fields: Vec<(String, String)>) -> Response {
    let fields: Vec<Value> = fields
        .into_iter()
        .map(|(f, m)| json!({"field": f, "message": m}))
        .collect();
    common::json(
        422,
        json!({"success": false, "error": {"code": 422, "message": "payload validation failed", "fields": fields}}),
    )
}

pub(crate) fn error_for(status: u16) -> Response {
    match status {
        422 => invalid(vec![("request".into(), "is invalid".into())]),
        s => err(s, common::reason(s), "Injected failure from the fake."),
    }
}

fn not_found(what: &str) -> Response {
    err(
        404,
        "Not Found",
        &format!("The requested {what} was not found."),
    )
}

fn gcs_text(status: u16, t: &str) -> Response {
    common::text(status, t)
}

async fn handle(State(st): State<St>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/upload/fastpix-uploads-fake/") {
        let id = rest.rsplit('/').next().unwrap_or("").to_string();
        return session_put(&st, id, req).await;
    }
    let Some(rest) = path.strip_prefix("/v1") else {
        common::drain(req.into_body()).await;
        return not_found("resource");
    };
    let authed = header(req.headers(), "authorization")
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .is_some_and(|d| d == format!("{FASTPIX_TOKEN_ID}:{FASTPIX_SECRET}").as_bytes());
    if !authed {
        common::drain(req.into_body()).await;
        return err(
            401,
            "Unauthorized",
            "Authentication failed: invalid or missing Access Token ID / Secret Key.",
        );
    }
    let segs: Vec<String> = rest
        .trim_matches('/')
        .split('/')
        .map(str::to_string)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let method = req.method().clone();
    let q = common::query_map(req.uri().query());
    let allowed: &[Method] = match segs.as_slice() {
        ["on-demand"] => &[Method::GET, Method::POST],
        ["on-demand", "upload"] => &[Method::POST],
        ["on-demand", "uploads"] => &[Method::GET],
        ["on-demand", "upload", _, "cancel"] => &[Method::PUT],
        ["on-demand", _] => &[Method::GET, Method::DELETE],
        _ => {
            common::drain(req.into_body()).await;
            return not_found("resource");
        }
    };
    if !allowed.contains(&method) {
        common::drain(req.into_body()).await;
        return err(
            405,
            "Method Not Allowed",
            "The method is not allowed for this resource.",
        );
    }
    match (segs.as_slice(), method) {
        (["on-demand"], Method::POST) => {
            let body = read_json(req).await;
            create_media(&st, body)
        }
        (["on-demand", "upload"], _) => {
            let body = read_json(req).await;
            create_upload(&st, body)
        }
        (["on-demand"], _) => list(&st, &q, false),
        (["on-demand", "uploads"], _) => list(&st, &q, true),
        (["on-demand", "upload", id, "cancel"], _) => {
            common::drain(req.into_body()).await;
            cancel(&st, id)
        }
        (["on-demand", id], Method::DELETE) => delete(&st, id),
        (["on-demand", id], _) => get_media(&st, id),
        _ => not_found("resource"),
    }
}

/// Ok(object) or the 400 answer for a body that is not a JSON object.
async fn read_json(req: Request) -> Result<Map<String, Value>, Response> {
    let bad = || {
        err(
            400,
            "invalid request body",
            "The request body must be a JSON object.",
        )
    };
    let body = common::collect(req.into_body(), 1 << 20)
        .await
        .ok_or_else(bad)?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(bad()),
    }
}

type Fields = Vec<(String, String)>;

fn enum_field(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    allowed: &[&str],
    default: &str,
    fields: &mut Fields,
) -> String {
    match obj.get(key) {
        None | Some(Value::Null) => default.to_string(),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => s.clone(),
        Some(_) => {
            fields.push((format!("{prefix}{key}"), "is invalid".into()));
            default.to_string()
        }
    }
}

fn short_string(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    fields: &mut Fields,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= 255 => Some(s.clone()),
        Some(_) => {
            fields.push((format!("{prefix}{key}"), "is invalid".into()));
            None
        }
    }
}

fn bool_field(obj: &Map<String, Value>, key: &str, prefix: &str, fields: &mut Fields) -> bool {
    match obj.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            fields.push((format!("{prefix}{key}"), "is invalid".into()));
            false
        }
    }
}

fn is_url(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str)
        .and_then(|s| url::Url::parse(s).ok())
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

/// The media settings shared by pull creation and push `pushMediaSettings`.
fn validate_settings(
    obj: &Map<String, Value>,
    prefix: &str,
    strict: bool,
    fields: &mut Fields,
) -> Settings {
    let access_policy = match obj.get("accessPolicy") {
        None | Some(Value::Null) if strict => {
            fields.push((format!("{prefix}accessPolicy"), "is required".into()));
            "public".to_string()
        }
        _ => enum_field(
            obj,
            "accessPolicy",
            prefix,
            &["public", "private", "drm"],
            "public",
            fields,
        ),
    };
    let metadata = match obj.get("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m))
            if m.len() <= 10
                && m.iter().all(|(k, v)| {
                    k.chars().count() <= 255 && v.as_str().is_some_and(|s| s.chars().count() <= 255)
                }) =>
        {
            Some(Value::Object(m.clone()))
        }
        Some(_) => {
            fields.push((format!("{prefix}metadata"), "is invalid".into()));
            None
        }
    };
    let title = short_string(obj, "title", prefix, fields);
    let creator_id = short_string(obj, "creatorId", prefix, fields);
    let max_resolution = enum_field(
        obj,
        "maxResolution",
        prefix,
        &["2160p", "1440p", "1080p", "720p", "480p"],
        "1080p",
        fields,
    );
    let media_quality = enum_field(
        obj,
        "mediaQuality",
        prefix,
        &["standard", "pro", "premium"],
        "standard",
        fields,
    );
    enum_field(
        obj,
        "mp4Support",
        prefix,
        &["capped_4k", "audioOnly", "audioOnly,capped_4k"],
        "",
        fields,
    );
    let source_access = bool_field(obj, "sourceAccess", prefix, fields);
    let optimize_audio = bool_field(obj, "optimizeAudio", prefix, fields);
    bool_field(obj, "chapters", prefix, fields);
    bool_field(obj, "namedEntities", prefix, fields);
    match obj.get("drmConfigurationId") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if uuid::Uuid::parse_str(s).is_ok() => {}
        Some(_) => fields.push((format!("{prefix}drmConfigurationId"), "is invalid".into())),
    }
    if let Some(v) = obj.get("subtitles").filter(|v| !v.is_null()) {
        match v.as_object() {
            Some(s) => {
                enum_field(
                    s,
                    "languageCode",
                    &format!("{prefix}subtitles."),
                    &["en", "it", "pl", "es", "fr", "ru", "nl"],
                    "",
                    fields,
                );
            }
            None => fields.push((format!("{prefix}subtitles"), "is invalid".into())),
        }
    }
    if let Some(v) = obj.get("summary").filter(|v| !v.is_null()) {
        match v.as_object() {
            Some(s) => {
                bool_field(s, "generate", &format!("{prefix}summary."), fields);
                if let Some(l) = s.get("summaryLength").filter(|v| !v.is_null()) {
                    if !l.as_u64().is_some_and(|n| (30..=250).contains(&n)) {
                        fields.push((
                            format!("{prefix}summary.summaryLength"),
                            "is invalid".into(),
                        ));
                    }
                }
            }
            None => fields.push((format!("{prefix}summary"), "is invalid".into())),
        }
    }
    if let Some(v) = obj.get("moderation").filter(|v| !v.is_null()) {
        match v.as_object() {
            Some(m) => {
                enum_field(
                    m,
                    "type",
                    &format!("{prefix}moderation."),
                    &["video", "audio", "av"],
                    "",
                    fields,
                );
            }
            None => fields.push((format!("{prefix}moderation"), "is invalid".into())),
        }
    }
    Settings {
        access_policy,
        metadata,
        title,
        creator_id,
        max_resolution,
        media_quality,
        source_access,
        optimize_audio,
    }
}

/// `inputs`: required for pull creation (where `video` is allowed), optional
/// inside `pushMediaSettings` (watermark/audio/subtitle only).
fn validate_inputs(
    v: Option<&Value>,
    prefix: &str,
    pull: bool,
    fields: &mut Fields,
) -> Option<Value> {
    let field = format!("{prefix}inputs");
    let items = match v {
        None | Some(Value::Null) if pull => {
            fields.push((field, "is required".into()));
            return None;
        }
        None | Some(Value::Null) => return None,
        Some(Value::Array(a)) if !a.is_empty() || !pull => a,
        Some(_) => {
            fields.push((field, "is invalid".into()));
            return None;
        }
    };
    for (i, item) in items.iter().enumerate() {
        let f = |k: &str| format!("{field}[{i}].{k}");
        let Some(o) = item.as_object() else {
            fields.push((format!("{field}[{i}]"), "is invalid".into()));
            continue;
        };
        let required: &[&str] = match o.get("type").and_then(Value::as_str) {
            Some("video") if pull => &["url"],
            Some("watermark") => &["url"],
            Some("audio") => &["swapTrackUrl"],
            Some("subtitle") => &["url", "languageName", "languageCode"],
            _ => {
                fields.push((f("type"), "is invalid".into()));
                continue;
            }
        };
        for k in required {
            match o.get(*k) {
                None | Some(Value::Null) => fields.push((f(k), "is required".into())),
                v if k.ends_with("rl") && !is_url(v) => fields.push((f(k), "is invalid".into())),
                Some(Value::String(_)) => {}
                Some(_) => fields.push((f(k), "is invalid".into())),
            }
        }
    }
    Some(Value::Array(items.clone()))
}

fn playback_ids(m: &Media) -> Value {
    json!([{
        "id": m.playback_id,
        "accessPolicy": m.settings.access_policy,
        "accessRestrictions": default_restrictions(),
    }])
}

fn default_restrictions() -> Value {
    json!({
        "domains": {"defaultPolicy": "allow", "allow": [], "deny": []},
        "userAgents": {"defaultPolicy": "allow", "allow": [], "deny": []},
    })
}

/// The URL ingestion would fail for: "fail" in the path or an unsupported
/// extension (no extension is fine).
fn pull_fails(inputs: &Value) -> bool {
    inputs.as_array().into_iter().flatten().any(|i| {
        i.get("type").and_then(Value::as_str) == Some("video")
            && i.get("url")
                .and_then(Value::as_str)
                .and_then(|u| url::Url::parse(u).ok())
                .is_some_and(|u| {
                    let p = u.path().to_ascii_lowercase();
                    p.contains("fail")
                        || common::extension(&p)
                            .is_some_and(|e| !SUPPORTED_EXT.contains(&e.as_str()))
                })
    })
}

fn create_media(st: &Inner, body: Result<Map<String, Value>, Response>) -> Response {
    let obj = match body {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut fields = Vec::new();
    let inputs = validate_inputs(obj.get("inputs"), "", true, &mut fields);
    let settings = validate_settings(&obj, "", st.strict, &mut fields);
    if !fields.is_empty() {
        return invalid(fields);
    }
    let inputs = inputs.unwrap_or(Value::Null);
    let now = st.core.now();
    let m = Media {
        id: uuid::Uuid::new_v4().to_string(),
        created_at: now,
        gets: 0,
        fail: pull_fails(&inputs),
        from_upload: false,
        playback_id: uuid::Uuid::new_v4().to_string(),
        settings,
        inputs: Some(inputs),
    };
    lock(&st.media).push(m.clone());
    let mut data = json!({
        "id": m.id, "trial": false, "status": "Created",
        "createdAt": common::iso(now), "updatedAt": common::iso(now),
        "playbackIds": playback_ids(&m),
        "mediaQuality": m.settings.media_quality,
        "sourceAccess": m.settings.source_access,
        "maxResolution": m.settings.max_resolution,
        "inputs": m.inputs,
        "optimizeAudio": m.settings.optimize_audio,
    });
    add_optional(&mut data, &m.settings);
    common::json(201, json!({"success": true, "data": data}))
}

fn add_optional(data: &mut Value, s: &Settings) {
    if let Some(md) = &s.metadata {
        data["metadata"] = md.clone();
    }
    if let Some(t) = &s.title {
        data["title"] = json!(t);
    }
    if let Some(c) = &s.creator_id {
        data["creatorId"] = json!(c);
    }
}

fn status_of(m: &Media, steps: u32) -> &'static str {
    if m.gets >= steps {
        return if m.fail { "Failed" } else { "Ready" };
    }
    if m.gets == 0 {
        return "Created";
    }
    let list = if m.from_upload {
        PUSH_STEPS
    } else {
        PULL_STEPS
    };
    let remaining = (steps - m.gets) as usize;
    list[list.len().saturating_sub(remaining)]
}

fn media_json(m: &Media, steps: u32) -> Value {
    let status = status_of(m, steps);
    let ready = status == "Ready";
    let mut data = json!({
        "thumbnail": format!("https://images.fastpix.com/{}/thumbnail.png", m.playback_id),
        "id": m.id,
        "workspaceId": WORKSPACE_ID,
        "mediaQuality": m.settings.media_quality,
        "maxResolution": m.settings.max_resolution,
        "status": status,
        "mp4Support": "none",
        "sourceAccess": m.settings.source_access,
        "playbackIds": playback_ids(m),
        "tracks": if ready {
            json!([{"id": uuid::Uuid::new_v4().to_string(), "type": "video", "width": 1920,
                    "height": 1080, "frameRate": "30.000", "status": "available"}])
        } else {
            json!([])
        },
        "isAudioOnly": false,
        "subtitleAvailable": false,
        "createdAt": common::iso(m.created_at),
        "updatedAt": common::iso(m.created_at),
    });
    if ready {
        data["sourceResolution"] = json!("1080");
        data["duration"] = json!("00:00:10");
        data["aspectRatio"] = json!("16:9");
    }
    add_optional(&mut data, &m.settings);
    data
}

fn bad_id(field: &str, id: &str) -> Option<Response> {
    uuid::Uuid::parse_str(id)
        .is_err()
        .then(|| invalid(vec![(field.into(), "is invalid".into())]))
}

fn get_media(st: &Inner, id: &str) -> Response {
    if let Some(r) = bad_id("mediaId", id) {
        return r;
    }
    let mut media = lock(&st.media);
    let Some(m) = media.iter_mut().find(|m| m.id == id) else {
        return not_found("media");
    };
    if m.gets < st.steps {
        m.gets += 1;
    }
    common::json(
        200,
        json!({"success": true, "data": media_json(m, st.steps)}),
    )
}

fn delete(st: &Inner, id: &str) -> Response {
    if let Some(r) = bad_id("mediaId", id) {
        return r;
    }
    let mut media = lock(&st.media);
    let Some(pos) = media.iter().position(|m| m.id == id) else {
        return not_found("media");
    };
    media.remove(pos);
    st.core.remove_object(&format!("{WORKSPACE_ID}/{id}"));
    common::json(200, json!({"success": true}))
}

fn upload_json(st: &Inner, u: &Upload) -> Value {
    let mut settings = json!({
        "playbackIds": [{"accessPolicy": u.settings.access_policy, "accessRestrictions": default_restrictions()}],
        "mediaQuality": u.settings.media_quality,
        "sourceAccess": u.settings.source_access,
        "optimizeAudio": u.settings.optimize_audio,
        "maxResolution": u.settings.max_resolution,
    });
    add_optional(&mut settings, &u.settings);
    if let Some(i) = &u.push_inputs {
        settings["inputs"] = i.clone();
    }
    json!({
        "uploadId": u.id,
        "trial": false,
        "status": match u.state {
            UpState::Waiting => "waiting",
            UpState::Cancelled => "cancelled",
            UpState::Completed => "completed",
        },
        "url": session_url(st, u),
        "timeout": TIMEOUT_SECS,
        "corsOrigin": u.cors_origin,
        "pushMediaSettings": settings,
    })
}

fn session_url(st: &Inner, u: &Upload) -> String {
    format!(
        "{}/upload/fastpix-uploads-fake/{WORKSPACE_ID}/{}?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=fake%40fastpix.iam.gserviceaccount.com%2F{}%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date={}&X-Goog-Expires={TIMEOUT_SECS}&X-Goog-SignedHeaders=host%3Bx-goog-resumable&X-Goog-Signature={}&upload_id={}",
        st.base,
        u.id,
        u.created_at.format("%Y%m%d"),
        u.created_at.format("%Y%m%dT%H%M%SZ"),
        u.signature,
        u.session_id
    )
}

fn create_upload(st: &Inner, body: Result<Map<String, Value>, Response>) -> Response {
    let obj = match body {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut fields = Vec::new();
    let cors_origin = match obj.get("corsOrigin") {
        None | Some(Value::Null) if st.strict => {
            fields.push(("corsOrigin".into(), "is required".into()));
            String::new()
        }
        None | Some(Value::Null) => "*".to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => {
            fields.push(("corsOrigin".into(), "is invalid".into()));
            String::new()
        }
    };
    let empty = Map::new();
    let pms = match obj.get("pushMediaSettings") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(o)) => o,
        Some(_) => {
            fields.push(("pushMediaSettings".into(), "is invalid".into()));
            &empty
        }
    };
    let prefix = "pushMediaSettings.";
    let settings = validate_settings(pms, prefix, st.strict, &mut fields);
    let push_inputs = validate_inputs(pms.get("inputs"), prefix, false, &mut fields);
    if !fields.is_empty() {
        return invalid(fields);
    }
    let u = Upload {
        id: uuid::Uuid::new_v4().to_string(),
        seq: st.seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
        session_id: format!("ABPtcP{}", common::random_hex(48)),
        signature: common::random_hex(128),
        created_at: st.core.now(),
        state: UpState::Waiting,
        cors_origin,
        settings,
        push_inputs,
        session: Arc::new(tokio::sync::Mutex::new(Session {
            sink: Sink::new(st.core.discard()),
            committed: 0,
            total: None,
        })),
    };
    let data = upload_json(st, &u);
    lock(&st.uploads).insert(u.id.clone(), u);
    common::json(201, json!({"success": true, "data": data}))
}

fn cancel(st: &Inner, id: &str) -> Response {
    if let Some(r) = bad_id("uploadId", id) {
        return r;
    }
    let mut uploads = lock(&st.uploads);
    let Some(u) = uploads.get_mut(id) else {
        return not_found("upload");
    };
    if u.state == UpState::Completed {
        return err(
            400,
            "upload already completed",
            "Only uploads that are still waiting can be cancelled.",
        );
    }
    u.state = UpState::Cancelled;
    common::json(
        200,
        json!({"success": true, "data": {
            "uploadId": u.id, "trial": false, "status": "cancelled",
            "url": session_url(st, u), "timeout": TIMEOUT_SECS, "corsOrigin": u.cors_origin,
            "maxResolution": u.settings.max_resolution, "accessPolicy": u.settings.access_policy,
            "metadata": u.settings.metadata.clone().unwrap_or(json!({})),
        }}),
    )
}

fn list(st: &Inner, q: &BTreeMap<String, String>, uploads: bool) -> Response {
    let mut fields = Vec::new();
    let mut num = |k: &str, default: u64, range: std::ops::RangeInclusive<u64>| match q.get(k) {
        None => default,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                fields.push((k.to_string(), "is invalid".to_string()));
                default
            }
        },
    };
    let limit = num("limit", 10, 1..=50);
    let offset = num("offset", 1, 1..=u64::MAX);
    let desc = match q.get("orderBy").map(String::as_str) {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => {
            fields.push(("orderBy".into(), "is invalid".into()));
            true
        }
    };
    if !fields.is_empty() {
        return invalid(fields);
    }
    let mut items: Vec<Value> = if uploads {
        let ups = lock(&st.uploads);
        let mut v: Vec<&Upload> = ups
            .values()
            .filter(|u| u.state == UpState::Waiting)
            .collect();
        v.sort_by_key(|u| u.seq);
        v.into_iter().map(|u| upload_json(st, u)).collect()
    } else {
        lock(&st.media)
            .iter()
            .map(|m| media_json(m, st.steps))
            .collect()
    };
    if desc {
        items.reverse();
    }
    let total = items.len() as u64;
    let data: Vec<Value> = items
        .into_iter()
        .skip(((offset - 1) * limit) as usize)
        .take(limit as usize)
        .collect();
    common::json(
        200,
        json!({
            "success": true,
            "data": data,
            "pagination": {"totalRecords": total, "currentOffset": offset, "offsetCount": total.div_ceil(limit)},
        }),
    )
}

/// Parsed `Content-Range` of a resumable-session PUT.
enum CRange {
    /// `bytes */total` or `bytes */*`: status query.
    Query(Option<u64>),
    /// `bytes a-b/total` or `bytes a-b/*`.
    Chunk(u64, u64, Option<u64>),
}

fn parse_content_range(v: &str) -> Option<CRange> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let total = match total {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    if range == "*" {
        return Some(CRange::Query(total));
    }
    let (a, b) = range.split_once('-')?;
    let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
    (b >= a && total.is_none_or(|t| b < t)).then_some(CRange::Chunk(a, b, total))
}

fn incomplete(committed: u64) -> Response {
    let r = gcs_text(308, "");
    if committed == 0 {
        r
    } else {
        common::with_header(r, "range", format!("bytes=0-{}", committed - 1))
    }
}

async fn session_put(st: &Inner, id: String, req: Request) -> Response {
    let q = common::query_map(req.uri().query());
    let found = {
        let uploads = lock(&st.uploads);
        uploads
            .get(&id)
            .filter(|u| {
                q.get("upload_id") == Some(&u.session_id)
                    && q.get("X-Goog-Signature") == Some(&u.signature)
            })
            .map(|u| (u.state, u.created_at, u.session.clone()))
    };
    let Some((state, created_at, session)) = found else {
        common::drain(req.into_body()).await;
        return gcs_text(404, "No such upload session.");
    };
    if req.method() != Method::PUT {
        common::drain(req.into_body()).await;
        return gcs_text(405, "Method not allowed.");
    }
    if state == UpState::Cancelled {
        common::drain(req.into_body()).await;
        return gcs_text(410, "The upload was cancelled.");
    }
    if st.core.now() - created_at > chrono::Duration::seconds(TIMEOUT_SECS) {
        common::drain(req.into_body()).await;
        return gcs_text(410, "The upload session has expired.");
    }
    // A body of unknown length (chunked) is refused like GCS refuses it; no
    // Content-Length and no Transfer-Encoding simply means an empty body (the
    // status query), which is how HTTP/1.1 defines it.
    let len = match header(req.headers(), "content-length") {
        Some(l) => l.parse::<u64>().ok(),
        None if req.headers().contains_key("transfer-encoding") => None,
        None => Some(0),
    };
    let Some(len) = len else {
        common::drain(req.into_body()).await;
        return gcs_text(411, "Length Required: Content-Length is missing.");
    };
    let content_type = header(req.headers(), "content-type")
        .unwrap_or("application/octet-stream")
        .to_string();
    let range = match header(req.headers(), "content-range") {
        None => None,
        Some(v) => match parse_content_range(v) {
            Some(r) => Some(r),
            None => {
                common::drain(req.into_body()).await;
                return gcs_text(400, "Failed to parse Content-Range header.");
            }
        },
    };
    // One PUT at a time per session.
    let mut s = session.lock().await;
    let complete = |s: &Session| s.total.is_some_and(|t| s.committed == t);
    match range {
        None => {
            // Whole object in one request: (re)start from scratch.
            let mut sink = Sink::new(st.core.discard());
            let Ok(read) = common::stream_body(req.into_body(), u64::MAX, &mut sink).await else {
                return gcs_text(400, "Incomplete body.");
            };
            s.sink = sink;
            s.committed = read.total;
            s.total = Some(read.total);
        }
        Some(CRange::Query(total)) => {
            common::drain(req.into_body()).await;
            if len != 0 {
                return gcs_text(400, "A status query must have an empty body.");
            }
            if total.is_some() && s.total.is_some() && total != s.total {
                return gcs_text(400, "Total size does not match earlier requests.");
            }
            return if complete(&s) {
                finished_response(&id, &s, &content_type)
            } else {
                incomplete(s.committed)
            };
        }
        Some(CRange::Chunk(a, b, total)) => {
            if complete(&s) {
                common::drain(req.into_body()).await;
                return finished_response(&id, &s, &content_type);
            }
            let problem = if len != b - a + 1 {
                Some("Content-Length does not match Content-Range.")
            } else if a > s.committed {
                Some("Non-contiguous chunk: bytes before it were never committed.")
            } else if total.is_some() && s.total.is_some() && total != s.total {
                Some("Total size does not match earlier requests.")
            } else if total.is_none_or(|t| b + 1 < t)
                && st.granularity > 0
                && len % st.granularity != 0
            {
                Some("Non-final chunks must be a multiple of 256 KiB.")
            } else {
                None
            };
            if let Some(p) = problem {
                common::drain(req.into_body()).await;
                return gcs_text(400, p);
            }
            // Overlap with what is already committed is skipped, as GCS does.
            let mut skip = s.committed - a;
            let mut body = req.into_body();
            let mut chunk = Vec::new();
            while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
                let Ok(frame) = frame else {
                    // Client went away: commit nothing of this chunk.
                    return gcs_text(400, "Incomplete body.");
                };
                if let Some(d) = frame.data_ref() {
                    let cut = (skip as usize).min(d.len());
                    skip -= cut as u64;
                    chunk.extend_from_slice(&d[cut..]);
                }
            }
            s.sink.push(&chunk);
            s.committed = s.committed.max(b + 1);
            if total.is_some() {
                s.total = total;
            }
            if !complete(&s) {
                return incomplete(s.committed);
            }
        }
    }
    // Complete: the object exists and a media with id == uploadId is born.
    let sink = std::mem::replace(&mut s.sink, Sink::new(st.core.discard()));
    let size = sink.size();
    st.core
        .put_object(sink.into_object(&format!("{WORKSPACE_ID}/{id}"), &content_type));
    let mut uploads = lock(&st.uploads);
    if let Some(u) = uploads.get_mut(&id) {
        if u.state == UpState::Waiting {
            u.state = UpState::Completed;
            lock(&st.media).push(Media {
                id: id.clone(),
                created_at: st.core.now(),
                gets: 0,
                fail: size == 0,
                from_upload: true,
                playback_id: uuid::Uuid::new_v4().to_string(),
                settings: u.settings.clone(),
                inputs: u.push_inputs.clone(),
            });
        }
    }
    finished_response(&id, &s, &content_type)
}

fn finished_response(id: &str, s: &Session, content_type: &str) -> Response {
    common::json(
        200,
        json!({
            "kind": "storage#object",
            "bucket": "fastpix-uploads-fake",
            "name": format!("{WORKSPACE_ID}/{id}"),
            "size": s.committed.to_string(),
            "contentType": content_type,
        }),
    )
}
