//! FastPix on-demand video: direct uploads through a resumable (GCS-style) session —
//! chunks with `Content-Range`, `308` + `Range` to learn what was committed, an empty
//! `bytes */N` PUT to resume — and imports from URL via `POST /on-demand`; then status
//! Created…Ready/Failed (providers.md §4). Auth is HTTP Basic token_id:secret.
//!
//! Creates are not idempotent, so each carries a `ferry_ref` metadata value: after an
//! ambiguous failure (a lost answer, or a 408/5xx/524 that came after the body was sent)
//! the remote lists are searched for it before anything is created again. The ref is
//! journaled before the create goes out, so a job cut off while waiting for the answer
//! finds its session or media again when it resumes instead of making a second one.

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;

use super::http;
use super::{
    Features, Kind, Limits, MediaStatus, OptionSpec, Provider, RemoteMedia, Settings, Upload,
};
use crate::error::{Code, Error, Result};
use crate::secrets::Secret;
use crate::transfer::{retry, Ctx, Phase};

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("api_url", "FastPix API base URL").default("https://api.fastpix.com/v1"),
    OptionSpec::new("token_id", "Access token ID").required(),
    super::BWLIMIT_OPTION,
    super::AFTER_BATCH_OPTION,
    super::AFTER_COMMAND_OPTION,
    OptionSpec::new("secret_key", "Secret key, kept in the OS keychain").secret(),
];

pub const LIMITS: Limits = Limits {
    max_bytes: None,
    accepts: &["video/*"],
    accepts_human: "video files (MP4, MOV, WebM, AVI, MKV, …)",
};

const SERVICE: &str = "FastPix";
/// Chunk size for the resumable session: a multiple of 256 KiB as GCS requires, large
/// enough that per-request overhead is small.
pub const SESSION_CHUNK: u64 = 16 * 1024 * 1024;
const MAX_PAGES: u64 = 1000;

pub struct FastPix {
    api_url: String,
    token_id: String,
    secret: Secret,
}

/// What resuming a direct upload needs (kept in the job's row). Before the session's
/// answer arrives only `ferry_ref` is known; then its id and URL.
#[derive(serde::Serialize, Deserialize)]
struct SessionState {
    kind: String,
    #[serde(default)]
    upload_id: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    ferry_ref: Option<String>,
    size: u64,
}

const SESSION_STATE: &str = "fastpix-session";
const IMPORT_STATE: &str = "fastpix-import";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    upload_id: String,
    url: String,
}

fn refine(
    _status: StatusCode,
    json: &serde_json::Value,
    _text: &str,
) -> (Option<Code>, Option<String>) {
    let err = json.get("error");
    let message = err.and_then(|e| e.get("message")).and_then(|m| m.as_str());
    let detail = err
        .and_then(|e| e.get("description"))
        .and_then(|d| d.as_str())
        .map(str::to_string)
        .or_else(|| {
            err.and_then(|e| e.get("fields"))
                .and_then(|f| f.as_array())
                .map(|fields| {
                    fields
                        .iter()
                        .map(|f| {
                            format!(
                                "{} {}",
                                f.get("field").and_then(|v| v.as_str()).unwrap_or("?"),
                                f.get("message")
                                    .and_then(|v| v.as_str())
                                    .unwrap_or("is invalid")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
        });
    let msg = match (message, detail) {
        (Some(m), Some(d)) => Some(format!("{m} ({d})")),
        (Some(m), None) => Some(m.to_string()),
        (None, d) => d,
    };
    (None, msg)
}

fn media_from(data: &serde_json::Value, name: &str) -> RemoteMedia {
    let status = match data.get("status").and_then(|s| s.as_str()) {
        Some("Ready") => MediaStatus::Ready,
        Some("Failed") => MediaStatus::Failed,
        _ => MediaStatus::Processing,
    };
    let playback = data
        .get("playbackIds")
        .and_then(|p| p.get(0))
        .and_then(|p| p.get("id"))
        .and_then(|v| v.as_str())
        .map(|id| format!("https://stream.fastpix.com/{id}.m3u8"));
    let title = data.get("title").and_then(|t| t.as_str()).unwrap_or(name);
    RemoteMedia {
        id: data
            .get("id")
            .or_else(|| data.get("uploadId"))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
        name: title.to_string(),
        url: playback,
        mime_type: "video/*".to_string(),
        size: None,
        status,
        expires_at: None,
    }
}

fn has_ref(item: &serde_json::Value, reference: &str) -> bool {
    let meta = item.get("metadata").or_else(|| {
        item.get("pushMediaSettings")
            .and_then(|p| p.get("metadata"))
    });
    meta.and_then(|m| m.get("ferry_ref"))
        .and_then(|v| v.as_str())
        == Some(reference)
}

impl FastPix {
    pub fn new(s: &Settings) -> Result<Self> {
        Ok(FastPix {
            api_url: s.require("api_url")?.to_string(),
            token_id: s.require("token_id")?.to_string(),
            secret: s.secret()?.clone(),
        })
    }

    fn req(&self, ctx: &Ctx, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        ctx.http
            .request(method, http::join(&self.api_url, path))
            .basic_auth(&self.token_id, Some(self.secret.expose()))
    }

    async fn call(&self, req: reqwest::RequestBuilder, creates: bool) -> Result<serde_json::Value> {
        let resp = http::send(req, creates).await?;
        if resp.status().is_success() {
            http::json(resp, SERVICE).await
        } else {
            Err(http::error_from(resp, SERVICE, refine).await)
        }
    }

    async fn get(
        &self,
        ctx: &Ctx,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<serde_json::Value> {
        retry::run(ctx, retry::Idempotency::Safe, |_| {
            self.call(
                self.req(ctx, reqwest::Method::GET, path).query(query),
                false,
            )
        })
        .await
    }

    /// Every item of a paginated list (`offset` is a 1-based page number).
    async fn list_all(&self, ctx: &Ctx, path: &str) -> Result<Vec<serde_json::Value>> {
        let mut out = Vec::new();
        let mut page = 1u64;
        loop {
            let body = self
                .get(
                    ctx,
                    path,
                    &[("limit", "50".into()), ("offset", page.to_string())],
                )
                .await?;
            let items = body
                .get("data")
                .and_then(|d| d.as_array())
                .cloned()
                .unwrap_or_default();
            let empty = items.is_empty();
            out.extend(items);
            let pages = body
                .get("pagination")
                .and_then(|p| p.get("offsetCount"))
                .and_then(|v| v.as_u64())
                .unwrap_or(1);
            if empty || page >= pages || page >= MAX_PAGES {
                return Ok(out);
            }
            page += 1;
        }
    }

    async fn create_session(&self, ctx: &Ctx, reference: &str) -> Result<Session> {
        let body = serde_json::json!({
            "corsOrigin": "*",
            "pushMediaSettings": {
                "accessPolicy": "public",
                "metadata": { "ferry_ref": reference },
            },
        });
        let data = retry::run_checked(
            ctx,
            retry::Idempotency::Create,
            |_| async {
                let v = self
                    .call(
                        self.req(ctx, reqwest::Method::POST, "on-demand/upload")
                            .json(&body),
                        true,
                    )
                    .await?;
                Ok(v.get("data").cloned().unwrap_or_default())
            },
            |_| async {
                let pending = self.list_all(ctx, "on-demand/uploads").await?;
                Ok(pending.into_iter().find(|u| has_ref(u, reference)))
            },
        )
        .await?;
        serde_json::from_value(data).map_err(|e| {
            Error::new(
                Code::ProviderProtocol,
                format!("{SERVICE} upload session: {e}"),
            )
        })
    }

    /// The waiting upload session created with this `ferry_ref`, if there is one.
    async fn pending_with_ref(&self, ctx: &Ctx, reference: &str) -> Result<Option<Session>> {
        let pending = self.list_all(ctx, "on-demand/uploads").await?;
        Ok(pending
            .into_iter()
            .find(|u| has_ref(u, reference))
            .and_then(|u| serde_json::from_value(u).ok()))
    }

    fn save_session(&self, ctx: &Ctx, st: SessionState) -> Result<()> {
        ctx.save_state(&serde_json::to_value(&st).expect("state json"))
    }

    /// Ask the session how much it holds: the next byte to send (== size when complete).
    async fn committed(&self, ctx: &Ctx, url: &str, size: u64) -> Result<u64> {
        let resp = http::send(
            ctx.http
                .put(url)
                .header(reqwest::header::CONTENT_LENGTH, 0)
                .header(reqwest::header::CONTENT_RANGE, format!("bytes */{size}")),
            false,
        )
        .await?;
        match resp.status().as_u16() {
            200 | 201 => Ok(size),
            308 => Ok(next_offset(resp.headers())),
            _ => Err(http::error_from(resp, SERVICE, http::storage_refine).await),
        }
    }

    /// Send the file through the session in chunks, resuming from what the session
    /// says it committed after any failure.
    async fn send_session(&self, ctx: &Ctx, url: &str, upload: &Upload, from: u64) -> Result<()> {
        let size = upload.size;
        ctx.progress.start_at(size, from);
        if size <= SESSION_CHUNK {
            http::put_whole(
                ctx,
                url,
                Some(&upload.mime),
                upload,
                SERVICE,
                http::storage_refine,
            )
            .await?;
            return Ok(());
        }
        let mut offset = from;
        while offset < size {
            let from = offset;
            offset = retry::run(ctx, retry::Idempotency::Safe, |attempt| async move {
                let start = if attempt > 1 {
                    self.committed(ctx, url, size).await?
                } else {
                    from
                };
                if start >= size {
                    return Ok(size);
                }
                ctx.progress.restart(start);
                let end = (start + SESSION_CHUNK).min(size);
                let req = ctx
                    .http
                    .put(url)
                    .header(reqwest::header::CONTENT_TYPE, &upload.mime)
                    .header(
                        reqwest::header::CONTENT_RANGE,
                        format!("bytes {start}-{}/{size}", end - 1),
                    );
                let req = crate::transfer::with_body(req, &upload.source, start, end - start, ctx)
                    .await?;
                let resp = http::send(req, false).await?;
                match resp.status().as_u16() {
                    200 | 201 => Ok(size),
                    308 => Ok(next_offset(resp.headers())),
                    _ => Err(http::error_from(resp, SERVICE, http::storage_refine).await),
                }
            })
            .await?;
        }
        ctx.progress.phase(Phase::Processing);
        Ok(())
    }

    async fn cancel_session(&self, ctx: &Ctx, upload_id: &str) {
        let req = self.req(
            ctx,
            reqwest::Method::PUT,
            &format!("on-demand/upload/{upload_id}/cancel"),
        );
        if let Err(e) = self.call(req, false).await {
            tracing::warn!("could not cancel FastPix upload session: {}", e.message);
        }
    }
}

/// `Range: bytes=0-N` → N+1; no header → nothing committed yet.
fn next_offset(headers: &reqwest::header::HeaderMap) -> u64 {
    headers
        .get(reqwest::header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit('-').next())
        .and_then(|n| n.trim().parse::<u64>().ok())
        .map(|n| n + 1)
        .unwrap_or(0)
}

#[async_trait]
impl Provider for FastPix {
    fn kind(&self) -> Kind {
        Kind::Fastpix
    }

    fn features(&self) -> Features {
        Features {
            import_url: true,
            test_credentials: true,
            list_remote: true,
            refresh_status: true,
            delete_remote: true,
            resumable: true,
        }
    }

    async fn upload(&self, upload: &Upload, ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        let done = |id: String| {
            Ok(vec![RemoteMedia {
                id,
                name: upload.name.clone(),
                url: None,
                mime_type: upload.mime.clone(),
                size: Some(upload.size),
                status: MediaStatus::Processing,
                expires_at: None,
            }])
        };
        // A session an interrupted attempt left: ask what it holds and go on from there.
        // If that attempt never heard the create's answer, only its ferry_ref is known:
        // the session is among the waiting uploads, or was never created.
        let mut reuse_ref = None;
        if let Some(st) = ctx
            .load_state()
            .and_then(|v| serde_json::from_value::<SessionState>(v).ok())
            .filter(|st| st.kind == SESSION_STATE && st.size == upload.size)
        {
            let session = match (st.upload_id, st.url) {
                (Some(id), Some(url)) => Some((id, url)),
                _ => match st.ferry_ref.as_deref() {
                    Some(r) => {
                        let found = self.pending_with_ref(ctx, r).await?;
                        if found.is_none() {
                            reuse_ref = Some(r.to_string());
                        }
                        found.map(|s| (s.upload_id, s.url))
                    }
                    None => None,
                },
            };
            if let Some((id, url)) = session {
                self.save_session(
                    ctx,
                    SessionState {
                        kind: SESSION_STATE.into(),
                        upload_id: Some(id.clone()),
                        url: Some(url.clone()),
                        ferry_ref: st.ferry_ref.clone(),
                        size: upload.size,
                    },
                )?;
                let resumed = async {
                    let from = self.committed(ctx, &url, upload.size).await?;
                    if from < upload.size {
                        self.send_session(ctx, &url, upload, from).await?;
                    }
                    Ok::<(), Error>(())
                }
                .await;
                match resumed {
                    Ok(()) => return done(id),
                    Err(e) if matches!(e.code, Code::UploadExpired | Code::ProviderNotFound) => {
                        self.cancel_session(ctx, &id).await;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let first_ref = std::sync::Mutex::new(reuse_ref);
        let last_session = std::sync::Mutex::new(None::<String>);
        let result = retry::with_fresh_url(
            ctx,
            || async {
                // An expired session is left behind by the renewal: cancel it so it does
                // not linger in the account's upload list.
                let old = last_session.lock().expect("session lock").take();
                if let Some(old) = old {
                    self.cancel_session(ctx, &old).await;
                }
                // One ref per session, journaled before the create goes out.
                let reference = first_ref
                    .lock()
                    .expect("ref lock")
                    .take()
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                self.save_session(
                    ctx,
                    SessionState {
                        kind: SESSION_STATE.into(),
                        upload_id: None,
                        url: None,
                        ferry_ref: Some(reference.clone()),
                        size: upload.size,
                    },
                )?;
                let s = self.create_session(ctx, &reference).await?;
                Ok((s, reference))
            },
            |(s, reference): (Session, String)| {
                *last_session.lock().expect("session lock") = Some(s.upload_id.clone());
                async move {
                    self.save_session(
                        ctx,
                        SessionState {
                            kind: SESSION_STATE.into(),
                            upload_id: Some(s.upload_id.clone()),
                            url: Some(s.url.clone()),
                            ferry_ref: Some(reference),
                            size: upload.size,
                        },
                    )?;
                    self.send_session(ctx, &s.url, upload, 0).await?;
                    Ok(s.upload_id)
                }
            },
        )
        .await;
        match result {
            Ok(id) => done(id),
            Err(e) => {
                // Without a journal nobody can resume this session: cancel it now. With
                // one, the queue decides (a pause keeps it, a cancel abandons it).
                if e.code == Code::Cancelled && ctx.journal.is_none() {
                    let last = last_session.lock().expect("session lock").take();
                    if let Some(id) = last {
                        self.cancel_session(&Ctx::new(ctx.http.clone()), &id).await;
                    }
                }
                Err(e)
            }
        }
    }

    async fn import_url(&self, url: &url::Url, ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        let name = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .filter(|s| !s.is_empty())
            .unwrap_or("video")
            .to_string();
        let saved = ctx.load_state().filter(|st| {
            http::str_field(st, "kind") == Some(IMPORT_STATE)
                && http::str_field(st, "url") == Some(url.as_str())
        });
        let reference = match saved
            .as_ref()
            .and_then(|st| http::str_field(st, "ferry_ref"))
        {
            Some(r) => {
                // An earlier attempt of this job sent the create and never heard back.
                let all = self.list_all(ctx, "on-demand").await?;
                if let Some(m) = all.into_iter().find(|m| has_ref(m, r)) {
                    return Ok(vec![media_from(&m, &name)]);
                }
                r.to_string()
            }
            None => {
                let r = uuid::Uuid::new_v4().to_string();
                ctx.save_state(&serde_json::json!({
                    "kind": IMPORT_STATE,
                    "url": url.as_str(),
                    "ferry_ref": r,
                }))?;
                r
            }
        };
        let body = serde_json::json!({
            "inputs": [{ "type": "video", "url": url.as_str() }],
            "accessPolicy": "public",
            "metadata": { "ferry_ref": reference },
        });
        ctx.progress.phase(Phase::Processing);
        let data = retry::run_checked(
            ctx,
            retry::Idempotency::Create,
            |_| async {
                let v = self
                    .call(
                        self.req(ctx, reqwest::Method::POST, "on-demand")
                            .json(&body),
                        true,
                    )
                    .await?;
                Ok(v.get("data").cloned().unwrap_or_default())
            },
            |_| async {
                let all = self.list_all(ctx, "on-demand").await?;
                Ok(all.into_iter().find(|m| has_ref(m, &reference)))
            },
        )
        .await?;
        Ok(vec![media_from(&data, &name)])
    }

    async fn abandon(&self, state: &serde_json::Value, ctx: &Ctx) -> Result<()> {
        let Ok(st) = serde_json::from_value::<SessionState>(state.clone()) else {
            return Ok(());
        };
        if st.kind != SESSION_STATE {
            return Ok(());
        }
        let id = match (st.upload_id, st.ferry_ref) {
            (Some(id), _) => Some(id),
            // The create's answer never came: find the session by its ref.
            (None, Some(r)) => self.pending_with_ref(ctx, &r).await?.map(|s| s.upload_id),
            (None, None) => None,
        };
        if let Some(id) = id {
            self.cancel_session(ctx, &id).await;
        }
        Ok(())
    }

    async fn test(&self, ctx: &Ctx) -> Result<()> {
        self.get(ctx, "on-demand", &[("limit", "1".into())])
            .await
            .map(|_| ())
    }

    async fn list_remote(&self, ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        Ok(self
            .list_all(ctx, "on-demand")
            .await?
            .iter()
            .map(|m| media_from(m, "video"))
            .collect())
    }

    async fn refresh(&self, media: &RemoteMedia, ctx: &Ctx) -> Result<RemoteMedia> {
        let body = self
            .get(ctx, &format!("on-demand/{}", media.id), &[])
            .await?;
        let mut fresh = media_from(body.get("data").unwrap_or(&body), &media.name);
        fresh.name = media.name.clone();
        fresh.size = media.size;
        fresh.mime_type = media.mime_type.clone();
        Ok(fresh)
    }

    async fn delete(&self, id: &str, ctx: &Ctx) -> Result<()> {
        retry::run(ctx, retry::Idempotency::Safe, |attempt| async move {
            match self
                .call(
                    self.req(ctx, reqwest::Method::DELETE, &format!("on-demand/{id}")),
                    false,
                )
                .await
            {
                Err(e) if attempt > 1 && e.status == Some(404) => Ok(()),
                other => other.map(|_| ()),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_header_gives_the_next_byte() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(next_offset(&h), 0);
        h.insert(reqwest::header::RANGE, "bytes=0-262143".parse().unwrap());
        assert_eq!(next_offset(&h), 262_144);
    }
}
