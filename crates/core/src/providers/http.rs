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
    use crate::transfer::retry::{self, Idempotency};
    retry::run(ctx, Idempotency::Safe, |attempt| async move {
        ctx.progress.start(upload.size);
        let mut req = ctx.http.put(url);
        if let Some(ct) = content_type {
            req = req.header(reqwest::header::CONTENT_TYPE, ct);
        }
        let req =
            crate::transfer::with_body(req, &upload.source, 0, upload.size, &ctx.progress).await?;
        let resp = send(req, false).await?;
        ctx.progress.phase(crate::transfer::Phase::Processing);
        if resp.status().is_success() || (resp.status() == StatusCode::CONFLICT && attempt > 1) {
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
/// presign is harmless to repeat), PUT the whole file with the declared type, and ask
/// for a fresh URL once if that one turns out expired.
pub async fn presign_then_put<P, F, Fut>(
    ctx: &crate::transfer::Ctx,
    upload: &super::Upload,
    service: &str,
    presign: F,
    upload_url: impl Fn(&P) -> &str,
) -> Result<P>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<P>>,
{
    let upload_url = &upload_url;
    crate::transfer::retry::with_fresh_url(ctx, presign, |p: P| async move {
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
    })
    .await
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
