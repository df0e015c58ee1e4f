//! PostSyncer: a multipart `POST /media/upload/file` on the separate upload host, URL
//! imports through `POST /media/upload/url`, and the paginated media library
//! (providers.md §1). Auth is `Authorization: Bearer`. Both creates are not idempotent:
//! after an ambiguous failure (a lost answer, or a 408/5xx that came after the body was
//! sent) the library is consulted before anything is sent again — an upload is found by
//! name and size, an import by its name among the items that were not there before it.
//! What that check needs is journaled before the create goes out, so a job cut off
//! while waiting for the answer checks again when it resumes.

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;

use super::http::{self, str_field};
use super::{
    Features, Kind, Limits, MediaStatus, OptionSpec, Provider, RemoteMedia, Settings, Upload,
};
use crate::error::{Code, Error, Result};
use crate::secrets::Secret;
use crate::transfer::{retry, Ctx, Phase};

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("api_url", "PostSyncer API base URL").default("https://postsyncer.com/api/v1"),
    OptionSpec::new("upload_url", "PostSyncer upload host (file uploads only)")
        .default("https://upload.postsyncer.com/api/v1"),
    OptionSpec::new(
        "workspace_id",
        "Workspace to upload into (see GET /workspaces)",
    )
    .required(),
    OptionSpec::new(
        "folder_id",
        "Folder in that workspace (default: library root)",
    ),
    super::BWLIMIT_OPTION,
    super::AFTER_BATCH_OPTION,
    super::AFTER_COMMAND_OPTION,
    OptionSpec::new("token", "API token (id|secret), kept in the OS keychain").secret(),
];

pub const LIMITS: Limits = Limits {
    max_bytes: Some(500_000_000),
    accepts: &[
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "video/mp4",
        "video/quicktime",
    ],
    accepts_human: "JPEG, PNG, GIF, WebP, MP4 and MOV",
};

const SERVICE: &str = "PostSyncer";
/// Journal kinds: an upload or an import that may have been sent.
const UPLOAD_STATE: &str = "postsyncer-upload";
const IMPORT_STATE: &str = "postsyncer-import";
/// Pages walked at most when listing, so a misbehaving server cannot loop us forever.
const MAX_PAGES: u32 = 1000;

pub struct PostSyncer {
    api_url: String,
    upload_url: String,
    workspace_id: u64,
    folder_id: Option<u64>,
    token: Secret,
}

#[derive(Deserialize, Debug, Clone)]
struct ApiMedia {
    id: serde_json::Value,
    #[serde(default)]
    name: String,
    url: Option<String>,
    #[serde(default)]
    mime_type: String,
    size: Option<u64>,
    #[serde(default)]
    is_processing: bool,
}

impl From<ApiMedia> for RemoteMedia {
    fn from(m: ApiMedia) -> Self {
        RemoteMedia {
            id: match m.id {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            },
            name: m.name,
            url: m.url,
            mime_type: m.mime_type,
            size: m.size,
            status: if m.is_processing {
                MediaStatus::Processing
            } else {
                MediaStatus::Ready
            },
            expires_at: None,
        }
    }
}

fn refine(
    status: StatusCode,
    json: &serde_json::Value,
    _text: &str,
) -> (Option<Code>, Option<String>) {
    let mut msg = str_field(json, "message").map(str::to_string);
    let mut code = None;
    if let Some(errors) = json.get("errors").and_then(|e| e.as_object()) {
        let all: Vec<String> = errors
            .values()
            .filter_map(|v| v.as_array())
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        if !all.is_empty() {
            msg = Some(all.join("; "));
        }
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            if let Some(file_errs) = errors.get("file") {
                let t = file_errs.to_string().to_ascii_lowercase();
                if t.contains("type") || t.contains("mime") {
                    code = Some(Code::InputUnsupportedType);
                } else if t.contains("greater")
                    || t.contains("large")
                    || t.contains("size")
                    || t.contains("kilobytes")
                {
                    code = Some(Code::LimitTooLarge);
                }
            }
        }
    }
    (code, msg)
}

impl PostSyncer {
    pub fn new(s: &Settings) -> Result<Self> {
        let parse_id = |name: &str, v: &str| {
            v.parse::<u64>().map_err(|_| {
                Error::new(
                    Code::ConfigInvalid,
                    format!("`{name}` must be a number (got `{v}`)"),
                )
            })
        };
        Ok(PostSyncer {
            api_url: s.require("api_url")?.to_string(),
            upload_url: s.require("upload_url")?.to_string(),
            workspace_id: parse_id("workspace_id", s.require("workspace_id")?)?,
            folder_id: s
                .get("folder_id")
                .map(|v| parse_id("folder_id", v))
                .transpose()?,
            token: s.secret()?.clone(),
        })
    }

    async fn get_json(
        &self,
        ctx: &Ctx,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<serde_json::Value> {
        retry::run(ctx, retry::Idempotency::Safe, |_| async {
            let req = ctx
                .http
                .get(http::join(&self.api_url, path))
                .bearer_auth(self.token.expose())
                .query(query);
            let resp = http::send(req, false).await?;
            if resp.status().is_success() {
                http::json(resp, SERVICE).await
            } else {
                Err(http::error_from(resp, SERVICE, refine).await)
            }
        })
        .await
    }

    /// Walk the library's pages (newest pages are not guaranteed first; read them all).
    async fn list(&self, ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let body = self
                .get_json(
                    ctx,
                    "media",
                    &[
                        ("workspace_id", self.workspace_id.to_string()),
                        ("page", page.to_string()),
                        ("per_page", "100".to_string()),
                    ],
                )
                .await?;
            let items: Vec<ApiMedia> =
                serde_json::from_value(body.get("data").cloned().unwrap_or_default()).map_err(
                    |e| Error::new(Code::ProviderProtocol, format!("{SERVICE} media list: {e}")),
                )?;
            let empty = items.is_empty();
            out.extend(items.into_iter().map(RemoteMedia::from));
            let meta = body.get("meta");
            let current = meta
                .and_then(|m| m.get("current_page"))
                .and_then(|v| v.as_u64());
            let last = meta
                .and_then(|m| m.get("last_page"))
                .and_then(|v| v.as_u64());
            let next = body.get("links").and_then(|l| l.get("next"));
            let done = match (current, last) {
                (Some(c), Some(l)) => c >= l,
                _ => next.is_none_or(|n| n.is_null()),
            };
            if done || empty || page >= MAX_PAGES {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// "Did the upload land?": the newest item of this name and size.
    async fn find_uploaded(&self, ctx: &Ctx, name: &str, size: u64) -> Result<Option<RemoteMedia>> {
        Ok(newest(
            self.list(ctx)
                .await?
                .into_iter()
                .filter(|m| m.name == name && m.size == Some(size)),
        ))
    }

    /// "Did the import land?": an item named like the URL's file that was not in the
    /// library before the import was sent (`known`).
    async fn find_imported(
        &self,
        ctx: &Ctx,
        known: &[String],
        names: &[String],
    ) -> Result<Option<RemoteMedia>> {
        Ok(newest(self.list(ctx).await?.into_iter().filter(|m| {
            !known.contains(&m.id) && names.contains(&m.name)
        })))
    }
}

/// PostSyncer's ids count up; the largest is the newest.
fn newest(items: impl Iterator<Item = RemoteMedia>) -> Option<RemoteMedia> {
    items.max_by_key(|m| m.id.parse::<u64>().unwrap_or(0))
}

/// Whether the journal holds `kind` with these fields.
fn journaled(
    ctx: &Ctx,
    kind: &str,
    fields: &[(&str, serde_json::Value)],
) -> Option<serde_json::Value> {
    let st = ctx.load_state()?;
    (str_field(&st, "kind") == Some(kind) && fields.iter().all(|(k, v)| st.get(*k) == Some(v)))
        .then_some(st)
}

#[async_trait]
impl Provider for PostSyncer {
    fn kind(&self) -> Kind {
        Kind::Postsyncer
    }

    fn features(&self) -> Features {
        Features {
            import_url: true,
            test_credentials: true,
            list_remote: true,
            refresh_status: true,
            delete_remote: true,
            resumable: false,
        }
    }

    async fn upload(&self, upload: &Upload, ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        let url = http::join(&self.upload_url, "media/upload/file");
        let named = |media: RemoteMedia| {
            vec![RemoteMedia {
                name: upload.name.clone(),
                ..media
            }]
        };
        let fields = [
            ("name", serde_json::Value::from(upload.api_name.as_str())),
            ("size", serde_json::Value::from(upload.size)),
        ];
        if journaled(ctx, UPLOAD_STATE, &fields).is_some() {
            // An earlier attempt of this job sent it and never heard back.
            if let Some(found) = self
                .find_uploaded(ctx, &upload.api_name, upload.size)
                .await?
            {
                return Ok(named(found));
            }
        } else {
            let mut st = serde_json::Map::new();
            st.insert("kind".into(), UPLOAD_STATE.into());
            st.extend(fields.iter().map(|(k, v)| (k.to_string(), v.clone())));
            ctx.save_state(&serde_json::Value::Object(st))?;
        }
        let media = retry::run_checked(
            ctx,
            retry::Idempotency::Create,
            |_| async {
                ctx.progress.start(upload.size);
                let stream = upload.source.open_range(0, upload.size).await?;
                let body = crate::transfer::counted_body(
                    ctx.throttle.wrap(stream),
                    upload.size,
                    ctx.progress.clone(),
                );
                let part = reqwest::multipart::Part::stream_with_length(body, upload.size)
                    .file_name(upload.api_name.clone())
                    .mime_str(&upload.mime)
                    .map_err(|e| Error::new(Code::InputInvalid, e.to_string()))?;
                let mut form = reqwest::multipart::Form::new()
                    .text("workspace_id", self.workspace_id.to_string())
                    .part("file", part);
                if let Some(folder) = self.folder_id {
                    form = form.text("folder_id", folder.to_string());
                }
                let req = ctx
                    .http
                    .post(&url)
                    .bearer_auth(self.token.expose())
                    .multipart(form);
                let resp = http::send(req, true).await?;
                ctx.progress.phase(Phase::Processing);
                if !resp.status().is_success() {
                    return Err(http::error_from(resp, SERVICE, refine).await);
                }
                #[derive(Deserialize)]
                struct Created {
                    media: ApiMedia,
                }
                let created: Created = http::json(resp, SERVICE).await?;
                Ok(RemoteMedia::from(created.media))
            },
            // The answer was lost (or a gateway's) after the body went out: look for the
            // file in the library (same name and size) before sending it again.
            |_| self.find_uploaded(ctx, &upload.api_name, upload.size),
        )
        .await?;
        Ok(named(media))
    }

    async fn import_url(&self, url: &url::Url, ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        let endpoint = http::join(&self.api_url, "media/upload/url");
        ctx.progress.phase(Phase::Processing);
        // The names PostSyncer may give the item: the URL's last segment, as sent or
        // decoded (its items do not record the source URL).
        let raw = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or_default()
            .to_string();
        let names = vec![crate::import::name_for(None, url), raw];
        let fields = [("url", serde_json::Value::from(url.as_str()))];
        let known: Vec<String> = match journaled(ctx, IMPORT_STATE, &fields) {
            Some(st) => {
                let known: Vec<String> =
                    serde_json::from_value(st.get("known").cloned().unwrap_or_default())
                        .unwrap_or_default();
                // An earlier attempt of this job sent it and never heard back.
                if let Some(found) = self.find_imported(ctx, &known, &names).await? {
                    return Ok(vec![found]);
                }
                known
            }
            None => {
                // What is there before the import, so that afterwards "did it land?"
                // looks only at what is new.
                let known: Vec<String> = self.list(ctx).await?.into_iter().map(|m| m.id).collect();
                ctx.save_state(&serde_json::json!({
                    "kind": IMPORT_STATE,
                    "url": url.as_str(),
                    "known": known,
                }))?;
                known
            }
        };
        let (media, stored) = retry::run_checked(
            ctx,
            retry::Idempotency::Create,
            |_| async {
                let mut body = serde_json::json!({
                    "workspace_id": self.workspace_id,
                    "urls": [url.as_str()],
                });
                if let Some(folder) = self.folder_id {
                    body["folder_id"] = folder.into();
                }
                let req = ctx
                    .http
                    .post(&endpoint)
                    .bearer_auth(self.token.expose())
                    .json(&body);
                let resp = http::send(req, true).await?;
                if !resp.status().is_success() {
                    return Err(http::error_from(resp, SERVICE, refine).await);
                }
                #[derive(Deserialize)]
                struct Imported {
                    #[serde(default)]
                    media: Vec<ApiMedia>,
                    count_stored: Option<u64>,
                }
                let r: Imported = http::json(resp, SERVICE).await?;
                let n = r.count_stored.unwrap_or(r.media.len() as u64);
                Ok((r.media.into_iter().map(RemoteMedia::from).collect(), n))
            },
            |_| async {
                Ok(self
                    .find_imported(ctx, &known, &names)
                    .await?
                    .map(|m| (vec![m], 1)))
            },
        )
        .await?;
        if stored == 0 || media.is_empty() {
            return Err(Error::new(
                Code::ProviderRejected,
                format!(
                    "PostSyncer stored nothing from {url}: the link must be public and lead to the image or video itself"
                ),
            ));
        }
        Ok(media)
    }

    async fn test(&self, ctx: &Ctx) -> Result<()> {
        let body = self.get_json(ctx, "workspaces", &[]).await?;
        let list = body
            .as_array()
            .or_else(|| body.get("data").and_then(|d| d.as_array()));
        let found = list
            .into_iter()
            .flatten()
            .any(|w| w.get("id").and_then(|v| v.as_u64()) == Some(self.workspace_id));
        if found {
            Ok(())
        } else {
            Err(Error::new(
                Code::ConfigInvalid,
                format!(
                    "the token works, but workspace {} is not one of its workspaces; check workspace_id",
                    self.workspace_id
                ),
            ))
        }
    }

    async fn list_remote(&self, ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        self.list(ctx).await
    }

    async fn refresh(&self, media: &RemoteMedia, ctx: &Ctx) -> Result<RemoteMedia> {
        let body = self
            .get_json(ctx, &format!("media/{}", media.id), &[])
            .await?;
        // The docs do not show whether one item is wrapped in `data`; accept both.
        let item = body.get("data").cloned().unwrap_or(body);
        let m: ApiMedia = serde_json::from_value(item)
            .map_err(|e| Error::new(Code::ProviderProtocol, format!("{SERVICE} media: {e}")))?;
        Ok(RemoteMedia {
            name: media.name.clone(),
            ..m.into()
        })
    }

    async fn delete(&self, id: &str, ctx: &Ctx) -> Result<()> {
        retry::run(ctx, retry::Idempotency::Safe, |attempt| async move {
            let req = ctx
                .http
                .delete(http::join(&self.api_url, &format!("media/{id}")))
                .bearer_auth(self.token.expose());
            let resp = http::send(req, false).await?;
            // A repeat after a lost answer finds it gone: that is success.
            if resp.status().is_success() || (attempt > 1 && resp.status() == StatusCode::NOT_FOUND)
            {
                Ok(())
            } else {
                Err(http::error_from(resp, SERVICE, refine).await)
            }
        })
        .await
    }
}
