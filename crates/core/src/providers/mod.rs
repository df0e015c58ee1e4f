//! Destinations: one small trait, one file per provider, one registry, one option table each.
//!
//! A provider knows its API's routes, bodies and error envelopes, and maps every failure to
//! an [`Error`] with a stable code. It does not sleep, loop or retry on its own: it hands
//! closures to `transfer::retry`, which owns that policy. It does not touch the config file,
//! the keychain or the terminal: it receives its options and secret ready-made.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Code, Error, Result};
use crate::secrets::Secret;
use crate::transfer::{Ctx, Source};

pub mod fastpix;
pub(crate) mod http;
pub mod local;
pub mod postsyncer;
pub mod s3;
pub mod socialsyncer;
pub mod synposter;

/// Every kind of destination Ferry knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Local,
    Synposter,
    Socialsyncer,
    Postsyncer,
    Fastpix,
    S3,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Local,
        Kind::Synposter,
        Kind::Socialsyncer,
        Kind::Postsyncer,
        Kind::Fastpix,
        Kind::S3,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Local => "local",
            Kind::Synposter => "synposter",
            Kind::Socialsyncer => "socialsyncer",
            Kind::Postsyncer => "postsyncer",
            Kind::Fastpix => "fastpix",
            Kind::S3 => "s3",
        }
    }

    /// The name people know the service by, for messages.
    pub fn display_name(self) -> &'static str {
        match self {
            Kind::Local => "the local library",
            Kind::Synposter => "Synposter",
            Kind::Socialsyncer => "SocialSyncer API",
            Kind::Postsyncer => "PostSyncer",
            Kind::Fastpix => "FastPix",
            Kind::S3 => "S3",
        }
    }

    pub fn parse(s: &str) -> Result<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Error::new(
                    Code::ConfigInvalid,
                    format!(
                        "unknown account kind `{s}`; choose one of: {}",
                        Kind::ALL.map(Kind::as_str).join(", ")
                    ),
                )
            })
    }

    /// The provider's option table: the CLI flags, the UI's account form and redaction
    /// all read it.
    pub fn options(self) -> &'static [OptionSpec] {
        match self {
            Kind::Local => local::OPTIONS,
            Kind::Synposter => synposter::OPTIONS,
            Kind::Socialsyncer => socialsyncer::OPTIONS,
            Kind::Postsyncer => postsyncer::OPTIONS,
            Kind::Fastpix => fastpix::OPTIONS,
            Kind::S3 => s3::OPTIONS,
        }
    }

    /// The one secret option of this kind, if it has one.
    pub fn secret_option(self) -> Option<&'static OptionSpec> {
        self.options().iter().find(|o| o.secret)
    }

    /// What the destination accepts, checked before a byte is sent.
    pub fn limits(self) -> Limits {
        match self {
            Kind::Local => Limits::ANY,
            Kind::Synposter => synposter::LIMITS,
            Kind::Socialsyncer => socialsyncer::LIMITS,
            Kind::Postsyncer => postsyncer::LIMITS,
            Kind::Fastpix => fastpix::LIMITS,
            Kind::S3 => Limits::ANY,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every network account's own bandwidth limit (`queue::bandwidth`), besides all of
/// Ferry's.
pub const BWLIMIT_OPTION: OptionSpec = OptionSpec::new(
    "bwlimit",
    "Most this account sends a second, in rclone's syntax: 4M, 512k, or a timetable like \"08:00,512k 18:00,off\" (empty: only Ferry's overall limit)",
);

/// What to do when a batch to the account is finished (`after_batch`).
pub const AFTER_BATCH_OPTION: OptionSpec = OptionSpec::new(
    crate::after_batch::ACTIONS_OPTION,
    "When a batch of uploads here is finished: open (the links in the browser), qr (a QR code image of them to the clipboard), or open,qr",
);

/// A program run with the links when a batch is finished (`after_command`): set with
/// `ferry account add` or in config.toml only (the app never offers or accepts it).
pub const AFTER_COMMAND_OPTION: OptionSpec = OptionSpec::new(
    crate::after_batch::COMMAND_OPTION,
    "A command run with the batch's links as arguments (and in FERRY_LINKS) when a batch here is finished; CLI and config.toml only",
);

/// One row of a provider's option table.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OptionSpec {
    pub name: &'static str,
    pub help: &'static str,
    pub default: Option<&'static str>,
    pub required: bool,
    pub secret: bool,
}

impl OptionSpec {
    pub const fn new(name: &'static str, help: &'static str) -> Self {
        OptionSpec {
            name,
            help,
            default: None,
            required: false,
            secret: false,
        }
    }
    pub const fn default(mut self, v: &'static str) -> Self {
        self.default = Some(v);
        self
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self.required = true;
        self
    }
}

/// What a destination accepts. `accepts` holds MIME types or `type/*` patterns; empty
/// means anything.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: Option<u64>,
    pub accepts: &'static [&'static str],
    /// Words for messages: "images and videos", "JPEG, PNG, …".
    pub accepts_human: &'static str,
}

impl Limits {
    pub const ANY: Limits = Limits {
        max_bytes: None,
        accepts: &[],
        accepts_human: "any file",
    };

    pub fn accepts_mime(&self, mime: &str) -> bool {
        self.accepts.is_empty()
            || self.accepts.iter().any(|p| match p.strip_suffix("/*") {
                Some(top) => mime.split('/').next() == Some(top),
                None => *p == mime,
            })
    }
}

/// Optional capabilities, reported so the CLI and UI offer only what works.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Features {
    /// The API takes a URL itself; otherwise Ferry fetches and forwards.
    pub import_url: bool,
    pub test_credentials: bool,
    pub list_remote: bool,
    pub refresh_status: bool,
    pub delete_remote: bool,
    pub resumable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum MediaStatus {
    Ready,
    Processing,
    Failed,
}

/// One item as it now exists at the destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteMedia {
    pub id: String,
    pub name: String,
    pub url: Option<String>,
    pub mime_type: String,
    pub size: Option<u64>,
    pub status: MediaStatus,
    pub expires_at: Option<DateTime<Utc>>,
}

/// One file (or fetched URL) on its way to a destination.
pub struct Upload {
    /// The name as the user knows it (kept in the library).
    pub name: String,
    /// The name sent to APIs: sanitised.
    pub api_name: String,
    /// Sniffed from the bytes.
    pub mime: String,
    pub size: u64,
    pub source: Source,
    /// What an account's `name_template` needs besides the name (see `naming`).
    pub naming: Naming,
}

/// The facts of one upload a name template may use that the provider cannot know.
#[derive(Debug, Clone, Default)]
pub struct Naming {
    /// The content hash (hex), when it is known before the upload starts; for a URL
    /// import sent as it downloads, a hash of its URL.
    pub hash: Option<String>,
    /// The watch rule that took the file.
    pub rule: Option<String>,
}

/// What a provider is built from: its options (defaults applied), its secret, and
/// where Ferry keeps its files.
#[derive(Clone)]
pub struct Settings {
    pub account: String,
    pub options: BTreeMap<String, String>,
    pub secret: Option<Secret>,
    pub home: PathBuf,
}

impl Settings {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.options
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str> {
        self.get(name).ok_or_else(|| {
            Error::new(
                Code::ConfigInvalid,
                format!(
                    "account `{}` has no `{name}`; set it with `ferry account add {} KIND {name}=…`",
                    self.account, self.account
                ),
            )
        })
    }

    pub fn secret(&self) -> Result<&Secret> {
        self.secret.as_ref().ok_or_else(|| {
            Error::new(
                Code::AuthMissingSecret,
                format!(
                    "account `{}` has no secret; add it again with --secret-stdin or --secret-env VAR",
                    self.account
                ),
            )
        })
    }
}

#[async_trait]
pub trait Provider: Send + Sync {
    fn kind(&self) -> Kind;

    fn limits(&self) -> Limits {
        self.kind().limits()
    }

    fn features(&self) -> Features;

    /// Whether the account's names need the content hash before sending (its
    /// `name_template` uses `{hash8}`): the queue then hashes first, whatever the size.
    fn name_needs_hash(&self) -> bool {
        false
    }

    /// Send one file; return what now exists remotely (PostSyncer may return several).
    async fn upload(&self, upload: &Upload, ctx: &Ctx) -> Result<Vec<RemoteMedia>>;

    /// Hand the URL to the API (only when `features().import_url`).
    async fn import_url(&self, _url: &url::Url, _ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        Err(self.unsupported("importing from a URL"))
    }

    /// A cheap authenticated call.
    async fn test(&self, _ctx: &Ctx) -> Result<()> {
        Err(self.unsupported("testing credentials"))
    }

    async fn list_remote(&self, _ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        Err(self.unsupported("listing the remote library"))
    }

    async fn refresh(&self, _media: &RemoteMedia, _ctx: &Ctx) -> Result<RemoteMedia> {
        Err(self.unsupported("refreshing status"))
    }

    async fn delete(&self, _id: &str, _ctx: &Ctx) -> Result<()> {
        Err(self.unsupported("deleting remote media"))
    }

    /// Whether something Ferry sent earlier is still there: `Some(false)` when the
    /// destination says it is gone, `None` when its API cannot tell. Dedupe asks this
    /// before trusting an old record.
    async fn exists(&self, _media: &RemoteMedia, _ctx: &Ctx) -> Result<Option<bool>> {
        Ok(None)
    }

    /// Give up a resumable transfer from its journal state: abort the S3 multipart
    /// upload, cancel the FastPix session. Nothing to do for providers without one.
    async fn abandon(&self, _state: &serde_json::Value, _ctx: &Ctx) -> Result<()> {
        Ok(())
    }

    /// Abort what Ferry started here and no job owns (`keep` holds the resume states
    /// jobs still own). Returns descriptions of what was cleaned up.
    async fn cleanup(&self, _keep: &[serde_json::Value], _ctx: &Ctx) -> Result<Vec<String>> {
        Err(self.unsupported("cleaning up unfinished uploads"))
    }

    fn unsupported(&self, what: &str) -> Error {
        Error::new(
            Code::ProviderUnsupported,
            format!("{} does not support {what}", self.kind().display_name()),
        )
    }
}

/// The registry: build the provider for a kind from its settings. Service URLs are
/// checked again here (https unless loopback): config.toml may have been edited by hand.
pub fn build(kind: Kind, settings: Settings) -> Result<Arc<dyn Provider>> {
    for (name, value) in &settings.options {
        crate::config::check_service_url(name, value)
            .map_err(|e| e.context(format!("account `{}`", settings.account)))?;
    }
    Ok(match kind {
        Kind::Local => Arc::new(local::Local::new(&settings)?),
        Kind::Synposter => Arc::new(synposter::Synposter::new(&settings)?),
        Kind::Socialsyncer => Arc::new(socialsyncer::SocialSyncer::new(&settings)?),
        Kind::Postsyncer => Arc::new(postsyncer::PostSyncer::new(&settings)?),
        Kind::Fastpix => Arc::new(fastpix::FastPix::new(&settings)?),
        Kind::S3 => Arc::new(s3::S3::new(&settings)?),
    })
}
