//! PostSyncer fake (providers.md §1, §6.1).
//!
//! Two listeners share one state: the main host (`/api/v1/...`) and the
//! upload host, on which only `POST /api/v1/media/upload/file` exists. The
//! upload route answers 404 on the main host (strictness choice: the newer
//! docs forbid using it there) and every other route answers 404 on the
//! upload host.
//!
//! Laravel conventions throughout: routing (404/405) happens before auth;
//! `401 {"message":"Unauthenticated."}`; validation errors are
//! `422 {"message": "<first> (and N more errors)", "errors": {field: [..]}}`;
//! a 60-per-fixed-minute throttle per account (both hosts, all tokens) with
//! `X-RateLimit-Limit/Remaining/Reset` on every authenticated response and
//! `429 {"message":"Too Many Attempts."}` + `Retry-After`.
//!
//! Choices where the docs are silent: a foreign `workspace_id` is a 422
//! ("The selected workspace id is invalid."), not a 403; `GET /media/{id}`
//! wraps the item in `{"data": ...}` (Laravel JsonResource default); media
//! lists are newest first and `links` keep the other query parameters;
//! uploaded videos report `is_processing: true` in the upload answer and in
//! the first `GET /media/{id}`, and `false` from the second GET on.
//! Media `url`s point at `/storage/<key>` on the main host, presigned for
//! 30 minutes (403 XML after that).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::Method;
use axum::response::Response;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Map, Value};

use crate::common::{self, header, lock, Api, Core, Sink};
use crate::POSTSYNCER_WORKSPACE_ID as WS;
use crate::{Fake, Options, POSTSYNCER_FOREIGN_WORKSPACE_ID, POSTSYNCER_TOKEN};

/// MIME types accepted after sniffing ("same as the app").
const ALLOWED: &[(&str, &str, &str)] = &[
    ("image/jpeg", "image", "jpg"),
    ("image/png", "image", "png"),
    ("image/gif", "image", "gif"),
    ("image/webp", "image", "webp"),
    ("video/mp4", "video", "mp4"),
    ("video/quicktime", "video", "mov"),
];

const TYPE_MSG: &str = "must be a file of type: jpg, jpeg, png, gif, webp, mp4, mov.";

#[derive(Clone)]
struct Media {
    id: u64,
    workspace_id: u64,
    folder_id: Option<u64>,
    name: String,
    mime_type: String,
    size: u64,
    kind: &'static str,
    key: String,
    /// Video still processing; flips after being reported once by a GET.
    processing: bool,
}

#[derive(Clone)]
struct Folder {
    id: u64,
    workspace_id: u64,
    name: String,
    color: String,
    parent_id: Option<u64>,
}

struct Db {
    media: BTreeMap<u64, Media>,
    folders: BTreeMap<u64, Folder>,
    next_media: u64,
    next_folder: u64,
}

pub(crate) struct Inner {
    core: Arc<Core>,
    main_base: String,
    max_bytes: u64,
    all_or_nothing: bool,
    /// Signature of media `url`s (all share one; it only has to look presigned).
    url_sig: String,
    db: Mutex<Db>,
    client: Client<HttpConnector, Empty<Bytes>>,
}

type St = (Arc<Inner>, bool);

pub(crate) async fn start(opts: &Options) -> Fake {
    let core = Core::new(
        Api::PostSyncer,
        opts.postsyncer_rate_limit,
        opts.discard_bytes,
        None,
    );
    let main = common::bind().await;
    let upload = common::bind().await;
    let main_base = format!("http://{}", main.local_addr().expect("local addr"));
    let upload_base = format!("http://{}", upload.local_addr().expect("local addr"));
    let mut db = Db {
        media: BTreeMap::new(),
        folders: BTreeMap::new(),
        next_media: 1001,
        next_folder: 101,
    };
    // Things in the foreign workspace, so "not yours" can be tested.
    db.folders.insert(
        900,
        Folder {
            id: 900,
            workspace_id: POSTSYNCER_FOREIGN_WORKSPACE_ID,
            name: "Someone else's".into(),
            color: "#4F46E5".into(),
            parent_id: None,
        },
    );
    db.media.insert(
        900,
        Media {
            id: 900,
            workspace_id: POSTSYNCER_FOREIGN_WORKSPACE_ID,
            folder_id: None,
            name: "foreign.jpg".into(),
            mime_type: "image/jpeg".into(),
            size: 3,
            kind: "image",
            key: "media/foreign.jpg".into(),
            processing: false,
        },
    );
    let st = Arc::new(Inner {
        core: core.clone(),
        main_base: main_base.clone(),
        max_bytes: opts.postsyncer_max_bytes,
        all_or_nothing: opts.postsyncer_import_all_or_nothing,
        url_sig: common::random_hex(64),
        db: Mutex::new(db),
        client: Client::builder(TokioExecutor::new()).build_http(),
    });
    common::spawn_server(
        main,
        core.clone(),
        common::router(handle, (st.clone(), false)),
    );
    common::spawn_server(upload, core.clone(), common::router(handle, (st, true)));
    Fake {
        core,
        api_url: format!("{main_base}/api/v1"),
        upload_url: Some(format!("{upload_base}/api/v1")),
        fastpix: None,
    }
}

fn msg(status: u16, m: &str) -> Response {
    common::json(status, json!({ "message": m }))
}

pub(crate) fn error_for(status: u16) -> Response {
    match status {
        401 => msg(401, "Unauthenticated."),
        403 => msg(403, "This action is unauthorized."),
        404 => msg(404, "Not Found"),
        422 => common::json(
            422,
            json!({"message": "The given data was invalid.", "errors": {}}),
        ),
        429 => msg(429, "Too Many Attempts."),
        500 => msg(500, "Server Error"),
        s => msg(s, common::reason(s)),
    }
}

/// Laravel's validation answer: first message (+ "and N more"), all errors.
fn invalid(errors: Vec<(String, String)>) -> Response {
    let n = errors.len();
    let mut message = errors.first().map(|e| e.1.clone()).unwrap_or_default();
    if n > 1 {
        let more = n - 1;
        message.push_str(&format!(
            " (and {more} more error{})",
            if more == 1 { "" } else { "s" }
        ));
    }
    let mut map = Map::new();
    for (field, m) in errors {
        let entry = map.entry(field).or_insert_with(|| json!([]));
        if let Value::Array(a) = entry {
            a.push(Value::String(m));
        }
    }
    common::json(422, json!({"message": message, "errors": map}))
}

enum Route {
    UploadFile,
    UploadUrl,
    MediaList,
    MediaItem(String),
    Workspaces,
    Folders,
    FolderItem(String),
}

/// Route and allowed methods; None = unknown route.
fn route(rest: &str) -> Option<(Route, &'static [Method])> {
    let segs: Vec<&str> = rest.trim_matches('/').split('/').collect();
    Some(match segs.as_slice() {
        ["media", "upload", "file"] => (Route::UploadFile, &[Method::POST]),
        ["media", "upload", "url"] => (Route::UploadUrl, &[Method::POST]),
        ["media"] => (Route::MediaList, &[Method::GET, Method::HEAD]),
        ["media", id] => (
            Route::MediaItem(id.to_string()),
            &[Method::GET, Method::HEAD, Method::DELETE],
        ),
        ["workspaces"] => (Route::Workspaces, &[Method::GET, Method::HEAD]),
        ["folders"] => (Route::Folders, &[Method::GET, Method::HEAD, Method::POST]),
        ["folders", id] => (
            Route::FolderItem(id.to_string()),
            &[Method::GET, Method::HEAD],
        ),
        _ => return None,
    })
}

async fn handle(State((st, upload_host)): State<St>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if !upload_host {
        if let Some(key) = path.strip_prefix("/storage/") {
            let key = key.to_string();
            let q = common::query_map(req.uri().query());
            common::drain(req.into_body()).await;
            return storage_get(&st, &key, &q);
        }
    }
    let not_found = || {
        msg(
            404,
            &format!(
                "The route {} could not be found.",
                path.trim_start_matches('/')
            ),
        )
    };
    let Some((route, methods)) = path.strip_prefix("/api/v1").and_then(route) else {
        common::drain(req.into_body()).await;
        return not_found();
    };
    // The file upload lives only on the upload host, and nothing else does.
    if upload_host != matches!(route, Route::UploadFile) {
        common::drain(req.into_body()).await;
        return not_found();
    }
    if !methods.contains(req.method()) {
        let allowed: Vec<&str> = methods.iter().map(Method::as_str).collect();
        let m = format!(
            "The {} method is not supported for route {}. Supported methods: {}.",
            req.method(),
            path.trim_start_matches('/'),
            allowed.join(", ")
        );
        common::drain(req.into_body()).await;
        return common::with_header(msg(405, &m), "allow", allowed.join(", "));
    }
    let authed = header(req.headers(), "authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|t| t == POSTSYNCER_TOKEN);
    if !authed {
        common::drain(req.into_body()).await;
        return msg(401, "Unauthenticated.");
    }
    let rate = st.core.rate_check();
    let resp = if rate.exceeded {
        common::drain(req.into_body()).await;
        common::with_header(
            msg(429, "Too Many Attempts."),
            "retry-after",
            rate.retry_after,
        )
    } else {
        dispatch(&st, route, req).await
    };
    let resp = common::with_header(resp, "x-ratelimit-limit", rate.limit);
    let resp = common::with_header(resp, "x-ratelimit-remaining", rate.remaining);
    common::with_header(resp, "x-ratelimit-reset", rate.reset)
}

async fn dispatch(st: &Arc<Inner>, route: Route, req: Request) -> Response {
    let method = req.method().clone();
    let query = common::query_map(req.uri().query());
    match route {
        Route::UploadFile => upload_file(st, req).await,
        Route::UploadUrl => upload_url(st, req).await,
        Route::MediaList => list_media(st, &query),
        Route::MediaItem(id) => {
            common::drain(req.into_body()).await;
            if method == Method::DELETE {
                delete_media(st, &id)
            } else {
                get_media(st, &id)
            }
        }
        Route::Workspaces => common::json(
            200,
            json!([{
                "id": WS, "name": "Ferry Test Workspace", "slug": "ferry-test-workspace",
                "type": "PERSONAL", "logo": null, "timezone": "UTC", "language": "en",
                "accounts": []
            }]),
        ),
        Route::Folders if method == Method::POST => create_folder(st, req).await,
        Route::Folders => {
            common::drain(req.into_body()).await;
            list_folders(st, &query)
        }
        Route::FolderItem(id) => {
            common::drain(req.into_body()).await;
            get_folder(st, &id)
        }
    }
}

/// Laravel's `integer` rule: a JSON integer or a string of digits.
fn as_int(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

/// `workspace_id`: required|integer|owned.
fn check_workspace(v: Option<&Value>, errors: &mut Vec<(String, String)>) -> Option<u64> {
    let f = "workspace_id".to_string();
    if blank(v) {
        errors.push((f, "The workspace id field is required.".into()));
        return None;
    }
    match v.and_then(as_int) {
        None => errors.push((f, "The workspace id field must be an integer.".into())),
        Some(WS) => return Some(WS),
        Some(_) => errors.push((f, "The selected workspace id is invalid.".into())),
    }
    None
}

/// `folder_id`/`parent_id`: nullable|integer|folder in the workspace.
fn check_folder(
    st: &Inner,
    field: &str,
    v: Option<&Value>,
    ws: Option<u64>,
    errors: &mut Vec<(String, String)>,
) -> Option<u64> {
    if blank(v) {
        return None;
    }
    let label = field.replace('_', " ");
    let Some(id) = v.and_then(as_int) else {
        errors.push((
            field.into(),
            format!("The {label} field must be an integer."),
        ));
        return None;
    };
    let ok = lock(&st.db)
        .folders
        .get(&id)
        .is_some_and(|f| f.workspace_id == WS && ws.is_none_or(|w| w == f.workspace_id));
    if !ok {
        errors.push((field.into(), format!("The selected {label} is invalid.")));
        return None;
    }
    Some(id)
}

fn sniff(head: &[u8]) -> Option<&'static (&'static str, &'static str, &'static str)> {
    let mime = infer::get(head)?.mime_type();
    ALLOWED.iter().find(|(m, _, _)| *m == mime)
}

struct FilePart {
    name: String,
    sink: Sink,
    over: bool,
}

async fn upload_file(st: &Arc<Inner>, req: Request) -> Response {
    let is_multipart = header(req.headers(), "content-type")
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/form-data"));
    let mut fields: BTreeMap<String, Value> = BTreeMap::new();
    let mut file: Option<FilePart> = None;
    let mut file_not_file = false;
    if is_multipart {
        let Ok(mut mp) = Multipart::from_request(req, &()).await else {
            return msg(400, "Malformed multipart body.");
        };
        loop {
            let mut field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(_) => return msg(400, "Malformed multipart body."),
            };
            let name = field.name().unwrap_or("").to_string();
            match name.as_str() {
                "file" if field.file_name().is_some() && file.is_none() => {
                    let mut part = FilePart {
                        name: field.file_name().unwrap_or("file").to_string(),
                        sink: Sink::new(st.core.discard()),
                        over: false,
                    };
                    loop {
                        match field.chunk().await {
                            Ok(Some(c)) => {
                                if part.sink.size() + c.len() as u64 > st.max_bytes {
                                    part.over = true;
                                } else if !part.over {
                                    part.sink.push(&c);
                                }
                            }
                            Ok(None) => break,
                            Err(_) => return msg(400, "Malformed multipart body."),
                        }
                    }
                    file = Some(part);
                }
                "file" => {
                    // A plain text field called "file" is not a file.
                    file_not_file = file.is_none();
                    let _ = field.text().await;
                }
                // `mimeType` and anything else is ignored, as the docs say.
                _ => {
                    let t = field.text().await.unwrap_or_default();
                    fields.entry(name).or_insert(Value::String(t));
                }
            }
        }
    } else {
        // Laravel sees no input at all in a non-multipart body.
        common::drain(req.into_body()).await;
    }

    let mut errors = Vec::new();
    let ws = check_workspace(fields.get("workspace_id"), &mut errors);
    let mut kind = None;
    match &file {
        None if file_not_file => {
            errors.push(("file".into(), "The file field must be a file.".into()))
        }
        None => errors.push(("file".into(), "The file field is required.".into())),
        Some(p) if p.over => errors.push((
            "file".into(),
            format!(
                "The file field must not be greater than {} kilobytes.",
                st.max_bytes / 1024
            ),
        )),
        Some(p) => match sniff(p.sink.head()) {
            Some(k) => kind = Some(k),
            None => errors.push(("file".into(), format!("The file field {TYPE_MSG}"))),
        },
    }
    let folder = check_folder(st, "folder_id", fields.get("folder_id"), ws, &mut errors);
    if !errors.is_empty() {
        return invalid(errors);
    }
    let (Some(part), Some(kind)) = (file, kind) else {
        return invalid(vec![("file".into(), "The file field is required.".into())]);
    };
    let media = store_media(st, part.name, part.sink, kind, folder);
    common::json(201, json!({ "media": media_json(st, &media) }))
}

fn store_media(
    st: &Inner,
    name: String,
    sink: Sink,
    kind: &(&str, &'static str, &str),
    folder_id: Option<u64>,
) -> Media {
    let (mime, type_, ext) = *kind;
    let key = format!("media/ws{WS}/{}.{ext}", uuid::Uuid::new_v4());
    let size = sink.size();
    st.core.put_object(sink.into_object(&key, mime));
    let mut db = lock(&st.db);
    let id = db.next_media;
    db.next_media += 1;
    let m = Media {
        id,
        workspace_id: WS,
        folder_id,
        name,
        mime_type: mime.into(),
        size,
        kind: type_,
        key,
        processing: type_ == "video",
    };
    db.media.insert(id, m.clone());
    m
}

fn media_json(st: &Inner, m: &Media) -> Value {
    let signed_at = st.core.now().timestamp();
    json!({
        "id": m.id,
        "name": m.name,
        "url": format!(
            "{}/storage/{}?X-Amz-Date={signed_at}&X-Amz-Expires=1800&X-Amz-Signature={}",
            st.main_base, m.key, st.url_sig
        ),
        "mime_type": m.mime_type,
        "size": m.size,
        "is_processing": m.processing,
        "type": m.kind,
        "ai_generated_id": null,
        "is_reference": false,
        "progress": if m.processing { 50 } else { 100 },
        "alt": null,
        "workspace_id": m.workspace_id,
        "folder_id": m.folder_id,
    })
}

/// The presigned R2/S3-style media URL: valid for 30 minutes, S3 XML errors.
fn storage_get(st: &Inner, key: &str, q: &BTreeMap<String, String>) -> Response {
    let s3 = |status: u16, code: &str, message: &str| {
        common::xml(
            status,
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"),
        )
    };
    let signed_at = q.get("X-Amz-Date").and_then(|d| d.parse::<i64>().ok());
    let Some(signed_at) = signed_at.filter(|_| q.get("X-Amz-Signature") == Some(&st.url_sig))
    else {
        return s3(403, "AccessDenied", "Access Denied");
    };
    if st.core.now().timestamp() > signed_at + 1800 {
        return s3(403, "AccessDenied", "Request has expired");
    }
    match st.core.get_object(key) {
        Some(obj) => common::object_response(&obj),
        None => s3(404, "NoSuchKey", "The specified key does not exist."),
    }
}

async fn upload_url(st: &Arc<Inner>, req: Request) -> Response {
    let body = common::collect(req.into_body(), 1 << 20).await;
    // Malformed JSON means Laravel sees no input: "required" errors follow.
    let input = match body.map(|b| serde_json::from_slice::<Value>(&b)) {
        Some(Ok(Value::Object(o))) => o,
        _ => Map::new(),
    };
    let mut errors = Vec::new();
    let ws = check_workspace(input.get("workspace_id"), &mut errors);
    let mut urls = Vec::new();
    match input.get("urls") {
        v if blank(v) => errors.push(("urls".into(), "The urls field is required.".into())),
        Some(Value::Array(a)) => {
            for (i, u) in a.iter().enumerate() {
                let f = format!("urls.{i}");
                match u.as_str() {
                    None => errors.push((f.clone(), format!("The {f} field must be a string."))),
                    Some(s) if s.chars().count() > 2048 => errors.push((
                        f.clone(),
                        format!("The {f} field must not be greater than 2048 characters."),
                    )),
                    Some(s) => match url::Url::parse(s) {
                        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => {
                            urls.push(u)
                        }
                        _ => {
                            errors.push((f.clone(), format!("The {f} field must be a valid URL.")))
                        }
                    },
                }
            }
        }
        _ => errors.push(("urls".into(), "The urls field must be an array.".into())),
    }
    let folder = check_folder(st, "folder_id", input.get("folder_id"), ws, &mut errors);
    if !errors.is_empty() {
        return invalid(errors);
    }
    let mut fetched = Vec::new();
    for (i, u) in urls.iter().enumerate() {
        match fetch(st, u.clone()).await {
            Ok(f) => fetched.push(f),
            Err(why) if st.all_or_nothing => {
                let f = format!("urls.{i}");
                return invalid(vec![(
                    f,
                    format!("The link {u} could not be imported: {why}."),
                )]);
            }
            // Older behaviour: unusable links are skipped silently.
            Err(_) => {}
        }
    }
    let media: Vec<Value> = fetched
        .into_iter()
        .map(|(name, sink, kind)| media_json(st, &store_media(st, name, sink, kind, folder)))
        .collect();
    common::json(200, json!({"count_stored": media.len(), "media": media}))
}

type Fetched = (
    String,
    Sink,
    &'static (&'static str, &'static str, &'static str),
);

/// Downloads one import URL. Only plain http to 127.0.0.1 (the Origin fake)
/// is reachable; anything else counts as unfetchable, so tests never leave
/// the machine.
async fn fetch(st: &Inner, mut u: url::Url) -> Result<Fetched, String> {
    for _ in 0..=5 {
        if u.scheme() != "http" || !matches!(u.host_str(), Some("127.0.0.1" | "localhost")) {
            return Err("the link is not reachable".into());
        }
        let _ = u.set_host(Some("127.0.0.1"));
        let uri: hyper::Uri = u.as_str().parse().map_err(|_| "invalid link".to_string())?;
        let req = hyper::Request::get(uri)
            .header("user-agent", "PostSyncerFake/1.0")
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let resp = tokio::time::timeout(Duration::from_secs(30), st.client.request(req))
            .await
            .map_err(|_| "the link timed out".to_string())?
            .map_err(|_| "the link is not reachable".to_string())?;
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            let loc = header(resp.headers(), "location")
                .ok_or("redirect without a location")?
                .to_string();
            u = u.join(&loc).map_err(|_| "bad redirect".to_string())?;
            continue;
        }
        if status != 200 {
            return Err(format!("the link answered HTTP {status}"));
        }
        let name = header(resp.headers(), "content-disposition")
            .and_then(disposition_filename)
            .or_else(|| {
                u.path_segments()
                    .and_then(|mut s| s.next_back().map(str::to_string))
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or_else(|| "file".into());
        let mut body = Body::new(resp.into_body());
        let mut sink = Sink::new(st.core.discard());
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| "the download broke off".to_string())?;
            if let Some(d) = frame.data_ref() {
                if sink.size() + d.len() as u64 > st.max_bytes {
                    return Err("the file is too large".into());
                }
                sink.push(d);
            }
        }
        let kind = sniff(sink.head()).ok_or("the link is not an image or video")?;
        return Ok((name, sink, kind));
    }
    Err("too many redirects".into())
}

fn disposition_filename(cd: &str) -> Option<String> {
    cd.split(';').find_map(|p| {
        let p = p.trim();
        let v = p.strip_prefix("filename=")?;
        Some(v.trim_matches('"').to_string()).filter(|s| !s.is_empty())
    })
}

fn own_media(st: &Inner, id: &str) -> Option<Media> {
    let id: u64 = id.parse().ok()?;
    lock(&st.db)
        .media
        .get(&id)
        .filter(|m| m.workspace_id == WS)
        .cloned()
}

fn get_media(st: &Inner, id: &str) -> Response {
    let Some(m) = own_media(st, id) else {
        return msg(404, "Media not found.");
    };
    let body = json!({ "data": media_json(st, &m) });
    if m.processing {
        if let Some(stored) = lock(&st.db).media.get_mut(&m.id) {
            stored.processing = false;
        }
    }
    common::json(200, body)
}

fn delete_media(st: &Inner, id: &str) -> Response {
    let Some(m) = own_media(st, id) else {
        return msg(404, "Media not found.");
    };
    lock(&st.db).media.remove(&m.id);
    st.core.remove_object(&m.key);
    msg(200, "Media deleted successfully")
}

fn query_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

fn list_media(st: &Inner, q: &BTreeMap<String, String>) -> Response {
    let mut errors = Vec::new();
    let qv = |k: &str| q.get(k).map(|s| Value::String(s.clone()));
    let ws = if q.contains_key("workspace_id") {
        check_workspace(qv("workspace_id").as_ref(), &mut errors)
    } else {
        None
    };
    let folder = check_folder(st, "folder_id", qv("folder_id").as_ref(), ws, &mut errors);
    let root_only = match q.get("root_only") {
        None => false,
        Some(v) => query_bool(v).unwrap_or_else(|| {
            errors.push((
                "root_only".into(),
                "The root only field must be true or false.".into(),
            ));
            false
        }),
    };
    if q.contains_key("folder_id") && q.contains_key("root_only") {
        errors.push((
            "folder_id".into(),
            "The folder id field prohibits root only from being present.".into(),
        ));
    }
    let mut int_param = |k: &str, default: u64, max: Option<u64>| -> u64 {
        let label = k.replace('_', " ");
        match q.get(k) {
            None => default,
            Some(s) => match s.parse::<u64>() {
                Err(_) => {
                    errors.push((k.into(), format!("The {label} field must be an integer.")));
                    default
                }
                Ok(0) => {
                    errors.push((k.into(), format!("The {label} field must be at least 1.")));
                    default
                }
                Ok(n) if max.is_some_and(|m| n > m) => {
                    errors.push((
                        k.into(),
                        format!(
                            "The {label} field must not be greater than {}.",
                            max.unwrap_or(0)
                        ),
                    ));
                    default
                }
                Ok(n) => n,
            },
        }
    };
    let page = int_param("page", 1, None);
    let per_page = int_param("per_page", 50, Some(100));
    if !errors.is_empty() {
        return invalid(errors);
    }
    let items: Vec<Media> = lock(&st.db)
        .media
        .values()
        .rev()
        .filter(|m| m.workspace_id == WS)
        .filter(|m| folder.is_none_or(|f| m.folder_id == Some(f)))
        .filter(|m| !root_only || m.folder_id.is_none())
        .cloned()
        .collect();
    let total = items.len() as u64;
    let last_page = total.div_ceil(per_page).max(1);
    let start = (page - 1) * per_page;
    let data: Vec<Value> = items
        .iter()
        .skip(start as usize)
        .take(per_page as usize)
        .map(|m| media_json(st, m))
        .collect();
    let path = format!("{}/api/v1/media", st.main_base);
    let page_url = |p: u64| {
        let mut qs = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in q.iter().filter(|(k, _)| k.as_str() != "page") {
            qs.append_pair(k, v);
        }
        qs.append_pair("page", &p.to_string());
        format!("{path}?{}", qs.finish())
    };
    let (from, to) = if data.is_empty() {
        (Value::Null, Value::Null)
    } else {
        (json!(start + 1), json!(start + data.len() as u64))
    };
    let mut meta_links = vec![json!({
        "url": (page > 1).then(|| page_url(page - 1)), "label": "&laquo; Previous", "active": false
    })];
    for p in 1..=last_page {
        meta_links.push(json!({"url": page_url(p), "label": p.to_string(), "active": p == page}));
    }
    meta_links.push(json!({
        "url": (page < last_page).then(|| page_url(page + 1)), "label": "Next &raquo;", "active": false
    }));
    common::json(
        200,
        json!({
            "data": data,
            "links": {
                "first": page_url(1),
                "last": page_url(last_page),
                "prev": (page > 1).then(|| page_url(page - 1)),
                "next": (page < last_page).then(|| page_url(page + 1)),
            },
            "meta": {
                "current_page": page,
                "from": from,
                "last_page": last_page,
                "links": meta_links,
                "path": path,
                "per_page": per_page,
                "to": to,
                "total": total,
            }
        }),
    )
}

fn folder_json(f: &Folder) -> Value {
    json!({
        "id": f.id, "workspace_id": f.workspace_id, "name": f.name,
        "color": f.color, "parent_id": f.parent_id,
    })
}

fn list_folders(st: &Inner, q: &BTreeMap<String, String>) -> Response {
    let mut errors = Vec::new();
    if q.contains_key("workspace_id") {
        check_workspace(
            q.get("workspace_id").map(|s| json!(s)).as_ref(),
            &mut errors,
        );
    }
    let root = match q.get("root").map(|v| query_bool(v)) {
        None => false,
        Some(Some(b)) => b,
        Some(None) => {
            errors.push((
                "root".into(),
                "The root field must be true or false.".into(),
            ));
            false
        }
    };
    let parent = check_folder(
        st,
        "parent_id",
        q.get("parent_id").map(|s| json!(s)).as_ref(),
        Some(WS),
        &mut errors,
    );
    if !errors.is_empty() {
        return invalid(errors);
    }
    let list: Vec<Value> = lock(&st.db)
        .folders
        .values()
        .filter(|f| f.workspace_id == WS)
        .filter(|f| !root || f.parent_id.is_none())
        .filter(|f| parent.is_none_or(|p| f.parent_id == Some(p)))
        .map(folder_json)
        .collect();
    common::json(200, Value::Array(list))
}

async fn create_folder(st: &Inner, req: Request) -> Response {
    let body = common::collect(req.into_body(), 1 << 20).await;
    let input = match body.map(|b| serde_json::from_slice::<Value>(&b)) {
        Some(Ok(Value::Object(o))) => o,
        _ => Map::new(),
    };
    let mut errors = Vec::new();
    let ws = check_workspace(input.get("workspace_id"), &mut errors);
    let name = match input.get("name") {
        v if blank(v) => {
            errors.push(("name".into(), "The name field is required.".into()));
            None
        }
        Some(Value::String(s)) if s.chars().count() > 255 => {
            errors.push((
                "name".into(),
                "The name field must not be greater than 255 characters.".into(),
            ));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        _ => {
            errors.push(("name".into(), "The name field must be a string.".into()));
            None
        }
    };
    let color = match input.get("color") {
        v if blank(v) => "#4F46E5".to_string(),
        Some(Value::String(c))
            if c.len() == 7
                && c.starts_with('#')
                && c[1..].chars().all(|ch| ch.is_ascii_hexdigit()) =>
        {
            c.clone()
        }
        _ => {
            errors.push(("color".into(), "The color field format is invalid.".into()));
            String::new()
        }
    };
    let parent = check_folder(st, "parent_id", input.get("parent_id"), ws, &mut errors);
    if !errors.is_empty() {
        return invalid(errors);
    }
    let mut db = lock(&st.db);
    let id = db.next_folder;
    db.next_folder += 1;
    let f = Folder {
        id,
        workspace_id: WS,
        name: name.unwrap_or_default(),
        color,
        parent_id: parent,
    };
    db.folders.insert(id, f.clone());
    common::json(201, folder_json(&f))
}

fn get_folder(st: &Inner, id: &str) -> Response {
    let db = lock(&st.db);
    let found = id
        .parse::<u64>()
        .ok()
        .and_then(|id| db.folders.get(&id))
        .filter(|f| f.workspace_id == WS);
    let Some(f) = found else {
        return msg(404, "Folder not found.");
    };
    let mut v = folder_json(f);
    v["parent"] = f
        .parent_id
        .and_then(|p| db.folders.get(&p))
        .map(folder_json)
        .unwrap_or(Value::Null);
    common::json(200, v)
}
