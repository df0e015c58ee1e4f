//! HTTP plumbing the providers share: sending with error mapping, status → code, and the
//! rate-limit headers. Not for any one API's routes or bodies.

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{Code, Error, Result};

/// Send a request; transport failures become typed errors. `creates` says whether a
/// failure after connecting leaves it unknown if the server acted (non-idempotent create).
pub async fn send(req: RequestBuilder, creates: bool) -> Result<Response> {
    req.send().await.map_err(|e| {
        let connected = !e.is_connect();
        Error::from_reqwest(e, creates && connected)
    })
}

/// The code for an HTTP status, before a provider refines it from the body.
pub fn code_for_status(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::InputInvalid,
        401 => Code::AuthInvalid,
        403 => Code::AuthForbidden,
        404 | 410 => Code::ProviderNotFound,
        408 => Code::NetworkTimeout,
        413 => Code::LimitTooLarge,
        429 => Code::ProviderRateLimited,
        // Not implemented will not change on a retry.
        501 => Code::ProviderUnsupported,
        500..=599 => Code::ProviderUnavailable,
        _ => Code::ProviderRejected,
    }
}

/// `Retry-After` (seconds or HTTP date) or `X-RateLimit-Reset` (UNIX seconds).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(v) = get("retry-after") {
        if let Ok(secs) = v.trim().parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(when) = chrono::DateTime::parse_from_rfc2822(v) {
            let secs = (when.timestamp() - chrono::Utc::now().timestamp()).max(0);
            return Some(Duration::from_secs(secs as u64));
        }
    }
    if let Some(v) = get("x-ratelimit-reset") {
        if let Ok(at) = v.trim().parse::<i64>() {
            let now = chrono::Utc::now().timestamp();
            // Some servers send seconds-until rather than a timestamp.
            let secs = if at > 1_000_000_000 { at - now } else { at };
            return Some(Duration::from_secs(secs.max(1) as u64));
        }
    }
    None
}

/// Turn a non-success response into an error, with the provider's own message kept.
/// `refine` reads the provider's error envelope: it returns the message and may change
/// the code (e.g. Synposter's `invalid_filename`).
pub async fn error_from(
    resp: Response,
    service: &str,
    refine: impl FnOnce(StatusCode, &serde_json::Value, &str) -> (Option<Code>, Option<String>),
) -> Error {
    let status = resp.status();
    let after = retry_after(resp.headers());
    let text = resp.text().await.unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    let (code, msg) = refine(status, &json, &text);
    let code = code.unwrap_or_else(|| code_for_status(status));
    let detail = msg
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let hint = match code {
        Code::AuthInvalid => {
            " — check the account's key (ferry account add NAME KIND … --secret-stdin)"
        }
        Code::AuthForbidden => " — the key lacks permission for this",
        _ => "",
    };
    Error::new(
        code,
        format!("{service} answered {}: {detail}{hint}", status.as_u16()),
    )
    .with_status(status.as_u16())
    .with_retry_after(after)
}

/// Read a success body as JSON, or fail with a protocol error naming the service.
pub async fn json<T: DeserializeOwned>(resp: Response, service: &str) -> Result<T> {
    let text = resp
        .text()
        .await
        .map_err(|e| Error::from_reqwest(e, true))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::new(
            Code::ProviderProtocol,
            format!("{service} sent an answer Ferry could not read: {e}"),
        )
    })
}

/// A string field, for envelopes that are only loosely specified.
pub fn str_field<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(|x| x.as_str())
}

/// Join a base URL and a path without doubling or losing slashes.
pub fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// PUT the whole upload to a presigned URL (Synposter's and SocialSyncer's storage,
/// FastPix's session as one piece, a plain presigned PUT). Repeating the PUT is harmless:
/// it targets one key. A 409 on a repeat means our earlier attempt landed. The storage
/// error body is mapped by `refine`, which decides e.g. "expired" → `upload.expired`.
pub async fn put_whole(
    ctx: &crate::transfer::Ctx,
    url: &str,
    content_type: Option<&str>,
    upload: &super::Upload,
    service: &str,
    refine: impl Fn(StatusCode, &serde_json::Value, &str) -> (Option<Code>, Option<String>) + Copy,
) -> Result<Response> {
    put_whole_to(ctx, url, content_type, upload, service, refine, false).await
}

/// [`put_whole`]; `resumed` says an earlier attempt (of a job now resumed) may already
/// have put it there, so a 409 from the first try is ours too.
async fn put_whole_to(
    ctx: &crate::transfer::Ctx,
    url: &str,
    content_type: Option<&str>,
    upload: &super::Upload,
    service: &str,
    refine: impl Fn(StatusCode, &serde_json::Value, &str) -> (Option<Code>, Option<String>) + Copy,
    resumed: bool,
) -> Result<Response> {
    use crate::transfer::retry::{self, Idempotency};
    retry::run(ctx, Idempotency::Safe, |attempt| async move {
        ctx.progress.start(upload.size);
        let mut req = ctx.http.put(url);
        if let Some(ct) = content_type {
            req = req.header(reqwest::header::CONTENT_TYPE, ct);
        }
        let req = crate::transfer::with_body(req, &upload.source, 0, upload.size, ctx).await?;
        let resp = send(req, false).await?;
        ctx.progress.phase(crate::transfer::Phase::Processing);
        if resp.status().is_success()
            || (resp.status() == StatusCode::CONFLICT && (attempt > 1 || resumed))
        {
            return Ok(resp);
        }
        Err(error_from(resp, service, refine).await)
    })
    .await
}

/// Send a JSON call once and read its success body, or map its error envelope.
pub async fn call_json<T: DeserializeOwned>(
    req: RequestBuilder,
    service: &str,
    refine: impl FnOnce(StatusCode, &serde_json::Value, &str) -> (Option<Code>, Option<String>),
) -> Result<T> {
    let resp = send(req, false).await?;
    if resp.status().is_success() {
        return json(resp, service).await;
    }
    Err(error_from(resp, service, refine).await)
}

/// A cheap authenticated GET that must succeed (credential tests), retried as usual.
pub async fn probe(
    ctx: &crate::transfer::Ctx,
    req: impl Fn() -> RequestBuilder,
    service: &str,
    refine: impl Fn(StatusCode, &serde_json::Value, &str) -> (Option<Code>, Option<String>) + Copy,
) -> Result<()> {
    use crate::transfer::retry::{self, Idempotency};
    retry::run(ctx, Idempotency::Safe, |_| async {
        let resp = send(req(), false).await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(error_from(resp, service, refine).await)
        }
    })
    .await
}

/// The presigned-PUT flow (Synposter, SocialSyncer): ask for an upload URL (retried; a
/// presign is harmless to repeat), journal the answer, PUT the whole file with the
/// declared type, and ask for a fresh URL once if that one turns out expired.
///
/// The answer is journaled before the PUT goes out, so a job cut off while waiting for
/// storage's answer (pause, quit, kill) resumes against the same object: it first asks
/// the public URL whether the object is there (a HEAD, no secret involved), and else
/// PUTs to the same presigned URL again — never to a second, new object.
pub async fn presign_then_put<P, F, Fut>(
    ctx: &crate::transfer::Ctx,
    upload: &super::Upload,
    service: &str,
    mut presign: F,
    upload_url: impl Fn(&P) -> &str,
    public_url: impl Fn(&P) -> &str,
) -> Result<P>
where
    P: serde::Serialize + DeserializeOwned,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<P>>,
{
    let upload_url = &upload_url;
    if let Some(saved) = journaled_presign::<P>(ctx, service, upload) {
        if public_object_is_there(ctx, public_url(&saved), upload.size).await {
            tracing::debug!("{service}: the upload an earlier attempt sent is there");
            return Ok(saved);
        }
        match put_whole_to(
            ctx,
            upload_url(&saved),
            Some(&upload.mime),
            upload,
            service,
            storage_refine,
            true,
        )
        .await
        {
            Ok(_) => return Ok(saved),
            Err(e) if e.code == Code::UploadExpired => {
                tracing::debug!(
                    "{service}: the journaled upload URL expired; asking for a new one"
                );
                ctx.progress.restart(0);
            }
            Err(e) => return Err(e),
        }
    }
    crate::transfer::retry::with_fresh_url(
        ctx,
        || {
            let asked = presign();
            async move {
                let p = asked.await?;
                journal_presign(ctx, service, upload, &p)?;
                Ok(p)
            }
        },
        |p: P| async move {
            put_whole(
                ctx,
                upload_url(&p),
                Some(&upload.mime),
                upload,
                service,
                storage_refine,
            )
            .await?;
            Ok(p)
        },
    )
    .await
}

const PRESIGN_STATE: &str = "presigned-put";

fn journal_presign<P: serde::Serialize>(
    ctx: &crate::transfer::Ctx,
    service: &str,
    upload: &super::Upload,
    answer: &P,
) -> Result<()> {
    let answer = serde_json::to_value(answer)
        .map_err(|e| Error::new(Code::Internal, format!("journal: {e}")))?;
    ctx.save_state(&serde_json::json!({
        "kind": PRESIGN_STATE,
        "service": service,
        "name": upload.api_name,
        "size": upload.size,
        "mime": upload.mime,
        "answer": answer,
    }))
}

/// The presign answer an earlier attempt journaled for this same upload.
fn journaled_presign<P: DeserializeOwned>(
    ctx: &crate::transfer::Ctx,
    service: &str,
    upload: &super::Upload,
) -> Option<P> {
    let st = ctx.load_state()?;
    let same = str_field(&st, "kind") == Some(PRESIGN_STATE)
        && str_field(&st, "service") == Some(service)
        && str_field(&st, "name") == Some(upload.api_name.as_str())
        && str_field(&st, "mime") == Some(upload.mime.as_str())
        && st.get("size").and_then(|v| v.as_u64()) == Some(upload.size);
    if !same {
        return None;
    }
    serde_json::from_value(st.get("answer")?.clone()).ok()
}

/// Whether storage serves the object at its public URL, with the expected size when it
/// says one. Any failure counts as "not known to be there".
async fn public_object_is_there(ctx: &crate::transfer::Ctx, url: &str, size: u64) -> bool {
    let Ok(resp) = send(ctx.http.head(url), false).await else {
        return false;
    };
    // The header itself: for a HEAD the body is empty whatever the object's size.
    let length = resp
        .headers()
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    resp.status() == StatusCode::OK && length.is_none_or(|n| n == size)
}

/// Storage answers that mean "this presigned URL is no longer good": ask for a new one.
pub fn storage_refine(
    status: StatusCode,
    json: &serde_json::Value,
    text: &str,
) -> (Option<Code>, Option<String>) {
    let lower = text.to_ascii_lowercase();
    let msg = str_field(json, "message")
        .or_else(|| str_field(json, "error"))
        .map(str::to_string)
        .or_else(|| xml_tag(text, "Message"))
        .or_else(|| xml_tag(text, "Code"))
        .or_else(|| (!text.trim().is_empty()).then(|| text.trim().chars().take(200).collect()));
    let code = match status.as_u16() {
        400 | 401 | 403 | 410
            if lower.contains("expired")
                || lower.contains("signature")
                || lower.contains("accessdenied")
                || lower.contains("invalidjwt")
                || lower.contains("claim timestamp")
                || lower.contains("timed out") =>
        {
            Some(Code::UploadExpired)
        }
        400 if lower.contains("entitytoolarge") || lower.contains("too large") => {
            Some(Code::LimitTooLarge)
        }
        _ => None,
    };
    (code, msg)
}

fn xml_tag(text: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{tag}>"))? + start;
    Some(text[start..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_reset_timestamps() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        let mut h = reqwest::header::HeaderMap::new();
        let at = chrono::Utc::now().timestamp() + 5;
        h.insert("x-ratelimit-reset", at.to_string().parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(d >= Duration::from_secs(4) && d <= Duration::from_secs(6));
    }

    #[test]
    fn statuses_map_to_stable_codes() {
        assert_eq!(code_for_status(StatusCode::UNAUTHORIZED), Code::AuthInvalid);
        assert_eq!(
            code_for_status(StatusCode::TOO_MANY_REQUESTS),
            Code::ProviderRateLimited
        );
        assert_eq!(
            code_for_status(StatusCode::from_u16(524).unwrap()),
            Code::ProviderUnavailable
        );
        assert_eq!(
            code_for_status(StatusCode::REQUEST_TIMEOUT),
            Code::NetworkTimeout
        );
    }
}
