//! SocialSyncer API: `POST /v1/media/presign` for an S3 presigned PUT, then PUT the bytes
//! with the presigned Content-Type (providers.md §3). Auth is `Authorization: Bearer`.
//! Stored files are deleted 7 days after upload, so every item carries that expiry.
//! No media list or delete exists; URL imports are fetch-and-forward by the engine.

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use super::http::{self, str_field};
use super::{
    Features, Kind, Limits, MediaStatus, OptionSpec, Provider, RemoteMedia, Settings, Upload,
};
use crate::error::{Code, Result};
use crate::secrets::Secret;
use crate::transfer::Ctx;

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("api_url", "SocialSyncer API base URL")
        .default("https://api.socialsyncerapi.com/v1"),
    super::BWLIMIT_OPTION,
    super::AFTER_BATCH_OPTION,
    super::AFTER_COMMAND_OPTION,
    OptionSpec::new("api_key", "API key (sk_…), kept in the OS keychain").secret(),
];

pub const LIMITS: Limits = Limits {
    max_bytes: Some(5_000_000_000),
    accepts: &[
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "video/mp4",
        "video/quicktime",
        "video/webm",
    ],
    accepts_human: "JPEG, PNG, GIF, WebP, MP4, MOV and WebM",
};

/// Files are deleted this long after upload (providers.md §3.3).
pub const RETENTION: chrono::Duration = chrono::Duration::days(7);

const SERVICE: &str = "SocialSyncer API";

pub struct SocialSyncer {
    api_url: String,
    key: Secret,
}

/// The presign answer; journaled before the PUT (see `http::presign_then_put`).
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Presigned {
    upload_url: String,
    public_url: String,
    key: String,
}

fn refine(
    _status: StatusCode,
    json: &serde_json::Value,
    _text: &str,
) -> (Option<Code>, Option<String>) {
    let code = match str_field(json, "code") {
        Some("AUTH_MISSING_KEY") | Some("AUTH_INVALID_KEY") => Some(Code::AuthInvalid),
        Some("RATE_LIMIT_EXCEEDED") => Some(Code::ProviderRateLimited),
        Some("INTERNAL_ERROR") => Some(Code::ProviderUnavailable),
        Some("NOT_FOUND") => Some(Code::ProviderNotFound),
        Some("VALIDATION_ERROR") => Some(Code::InputInvalid),
        _ => None,
    };
    (code, str_field(json, "error").map(str::to_string))
}

impl SocialSyncer {
    pub fn new(s: &Settings) -> Result<Self> {
        Ok(SocialSyncer {
            api_url: s.require("api_url")?.to_string(),
            key: s.secret()?.clone(),
        })
    }

    async fn presign(&self, ctx: &Ctx, upload: &Upload) -> Result<Presigned> {
        let req = ctx
            .http
            .post(http::join(&self.api_url, "media/presign"))
            .bearer_auth(self.key.expose())
            .json(&serde_json::json!({ "filename": upload.api_name, "contentType": upload.mime }));
        http::call_json(req, SERVICE, refine).await
    }
}

#[async_trait]
impl Provider for SocialSyncer {
    fn kind(&self) -> Kind {
        Kind::Socialsyncer
    }

    fn features(&self) -> Features {
        Features {
            test_credentials: true,
            ..Features::default()
        }
    }

    async fn upload(&self, upload: &Upload, ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        let done = http::presign_then_put(
            ctx,
            upload,
            SERVICE,
            || self.presign(ctx, upload),
            |p: &Presigned| &p.upload_url,
            |p: &Presigned| &p.public_url,
        )
        .await?;
        Ok(vec![RemoteMedia {
            id: done.key,
            name: upload.name.clone(),
            url: Some(done.public_url),
            mime_type: upload.mime.clone(),
            size: Some(upload.size),
            status: MediaStatus::Ready,
            expires_at: Some(chrono::Utc::now() + RETENTION),
        }])
    }

    async fn test(&self, ctx: &Ctx) -> Result<()> {
        let url = http::join(&self.api_url, "accounts");
        http::probe(
            ctx,
            || ctx.http.get(&url).bearer_auth(self.key.expose()),
            SERVICE,
            refine,
        )
        .await
    }
}
