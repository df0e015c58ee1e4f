//! Synposter: `POST /v1/media` for a presigned storage URL, then PUT the bytes there with
//! the same Content-Type (providers.md §2). Auth is `x-api-key`. No media list, get or
//! delete exists yet; URL imports are fetch-and-forward by the engine.
//!
//! The key travels in a header of Synposter's own, which HTTP clients do not treat as a
//! credential: calls that carry it never follow a redirect to another origin.

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
    OptionSpec::new("api_url", "Synposter API base URL").default("https://api.synposter.com/v1"),
    super::BWLIMIT_OPTION,
    super::AFTER_BATCH_OPTION,
    super::AFTER_COMMAND_OPTION,
    OptionSpec::new("api_key", "API key (sk_live_…), kept in the OS keychain").secret(),
];

pub const LIMITS: Limits = Limits {
    max_bytes: Some(50_000_000),
    accepts: &["image/*", "video/*"],
    accepts_human: "images and videos",
};

const SERVICE: &str = "Synposter";

pub struct Synposter {
    api_url: String,
    key: Secret,
}

/// The presign answer; journaled before the PUT (see `http::presign_then_put`).
#[derive(Deserialize, Serialize)]
struct Presigned {
    id: String,
    upload_url: String,
    public_url: String,
    #[allow(dead_code)]
    path: Option<String>,
}

fn refine(
    status: StatusCode,
    json: &serde_json::Value,
    _text: &str,
) -> (Option<Code>, Option<String>) {
    let err = str_field(json, "error");
    let code = match (status.as_u16(), err) {
        (400, Some("invalid_filename")) => Some(Code::InputInvalidFilename),
        (400, Some("invalid_mime_type")) => Some(Code::InputUnsupportedType),
        (429, Some("post_limit_reached")) => Some(Code::ProviderRejected),
        (300..=399, _) => {
            return (
                Some(Code::ProviderRejected),
                Some(
                    "the API redirected elsewhere, and Ferry does not send the API key to \
                     another host; check the account's api_url"
                        .to_string(),
                ),
            )
        }
        _ => None,
    };
    let msg = str_field(json, "message").or(err).map(str::to_string);
    (code, msg)
}

impl Synposter {
    pub fn new(s: &Settings) -> Result<Self> {
        Ok(Synposter {
            api_url: s.require("api_url")?.to_string(),
            key: s.secret()?.clone(),
        })
    }

    async fn presign(&self, upload: &Upload) -> Result<Presigned> {
        let req = crate::transfer::same_origin_client()
            .post(http::join(&self.api_url, "media"))
            .header("x-api-key", self.key.expose())
            .json(&serde_json::json!({ "filename": upload.api_name, "mime_type": upload.mime }));
        http::call_json(req, SERVICE, refine).await
    }
}

#[async_trait]
impl Provider for Synposter {
    fn kind(&self) -> Kind {
        Kind::Synposter
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
            || self.presign(upload),
            |p: &Presigned| &p.upload_url,
            |p: &Presigned| &p.public_url,
        )
        .await?;
        Ok(vec![RemoteMedia {
            id: done.id,
            name: upload.name.clone(),
            url: Some(done.public_url),
            mime_type: upload.mime.clone(),
            size: Some(upload.size),
            status: MediaStatus::Ready,
            expires_at: None,
        }])
    }

    async fn test(&self, ctx: &Ctx) -> Result<()> {
        let url = http::join(&self.api_url, "usage");
        http::probe(
            ctx,
            || {
                crate::transfer::same_origin_client()
                    .get(&url)
                    .header("x-api-key", self.key.expose())
            },
            SERVICE,
            refine,
        )
        .await
    }
}
