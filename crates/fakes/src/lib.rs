//! Strict, in-memory fakes of the four provider APIs Ferry uploads to
//! (PostSyncer, Synposter, SocialSyncer, FastPix) plus a static "origin" web
//! server that URL imports can pull from.
//!
//! On Linux, `sysbus` also starts stand-ins for the system-bus services Ferry asks
//! (NetworkManager, UPower, logind) on a private D-Bus daemon, never the machine's.
//!
//! What it is for: Ferry's engine and CLI tests talk to these over real
//! sockets on 127.0.0.1, exactly as they would talk to the providers. Each
//! fake follows `/work/shared/providers.md` §6: the same auth style, the same
//! error envelopes, validation, size limits, TTLs (driven by a per-fake clock
//! that tests can advance), storage semantics (public URL 404 before the PUT,
//! 7-day expiry...) and rate limits. Faults (error statuses, 429s, resets in
//! the middle of a body, dropped responses, delays) can be injected per path.
//!
//! What it must not contain: any code that talks to the real providers, real
//! credentials, listeners on anything but loopback, or Ferry's own client
//! logic (a fake that shares code with the client under test proves nothing).
//! Behaviour that is a guess in providers.md is labelled as such where the
//! fake picks one variant, so tests can tell contract from choice.

mod common;
pub mod fastpix;
pub mod forward_proxy;
pub mod origin;
pub mod postsyncer;
pub mod proxy;
pub mod s3s;
pub mod socialsyncer;
pub mod synposter;
#[cfg(target_os = "linux")]
pub mod sysbus;

use std::sync::Arc;
use std::time::Duration;

pub use common::{Fault, FaultKind, Recorded, StoredObject};
pub use origin::{Origin, OriginOpts};

use common::Core;

/// Valid PostSyncer Bearer token (Laravel Sanctum style `<id>|<secret>`).
pub const POSTSYNCER_TOKEN: &str = "11|fakePostSyncerToken0123456789";
/// Workspace owned by [`POSTSYNCER_TOKEN`].
pub const POSTSYNCER_WORKSPACE_ID: u64 = 7;
/// A workspace that exists but belongs to another account.
pub const POSTSYNCER_FOREIGN_WORKSPACE_ID: u64 = 8;
/// Valid Synposter key: `sk_live_` + 32 alphanumerics.
pub const SYNPOSTER_KEY: &str = "sk_live_Fake0123456789abcdefABCDEF0123";
/// Valid SocialSyncer key (`sk_` + random).
pub const SOCIALSYNCER_KEY: &str = "sk_fake_socialsyncer_0123456789abcdef";
/// FastPix Basic-auth user name (Access Token ID).
pub const FASTPIX_TOKEN_ID: &str = "fake-fastpix-token-id-0001";
/// FastPix Basic-auth password (Secret Key).
pub const FASTPIX_SECRET: &str = "fake-fastpix-secret-key-0123456789";

/// Knobs of the fakes. `Default` gives the documented real limits.
#[derive(Clone, Debug)]
pub struct Options {
    /// Synposter storage object limit (50 MB).
    pub synposter_max_bytes: u64,
    /// SocialSyncer single-PUT limit (5 GB).
    pub socialsyncer_max_bytes: u64,
    /// PostSyncer upload limit (500 MB).
    pub postsyncer_max_bytes: u64,
    /// PostSyncer requests per fixed minute, all tokens of the account (60).
    pub postsyncer_rate_limit: u32,
    /// SocialSyncer API requests per fixed minute (600, paid plan).
    pub socialsyncer_rate_limit: u32,
    /// false: URL import skips bad URLs and answers 200 (older docs);
    /// true: one bad URL fails the import with 422, nothing stored (newer docs).
    pub postsyncer_import_all_or_nothing: bool,
    /// FastPix strict mode: `corsOrigin` and `accessPolicy` are required
    /// (OpenAPI spec) instead of defaulted (SDK).
    pub fastpix_strict: bool,
    /// How many `GET /on-demand/{id}` it takes to reach Ready/Failed (3);
    /// 0 = Ready/Failed at the first GET.
    pub fastpix_processing_steps: u32,
    /// Non-final chunks of a FastPix (GCS) resumable upload must be a
    /// multiple of this (262144 = 256 KiB, as GCS requires); 0 = no check.
    pub fastpix_chunk_granularity: u64,
    /// Keep only size and first/last 64 bytes of uploads (benchmarks).
    pub discard_bytes: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            synposter_max_bytes: 50_000_000,
            socialsyncer_max_bytes: 5_000_000_000,
            postsyncer_max_bytes: 500_000_000,
            postsyncer_rate_limit: 60,
            socialsyncer_rate_limit: 600,
            postsyncer_import_all_or_nothing: false,
            fastpix_strict: false,
            fastpix_processing_steps: 3,
            fastpix_chunk_granularity: 256 * 1024,
            discard_bytes: false,
        }
    }
}

/// Handle to one running fake API. Cheap to clone.
#[derive(Clone)]
pub struct Fake {
    core: Arc<Core>,
    api_url: String,
    upload_url: Option<String>,
    fastpix: Option<Arc<fastpix::Inner>>,
}

impl Fake {
    /// Base URL the client is configured with (ends in `/api/v1` or `/v1`).
    pub fn api_url(&self) -> String {
        self.api_url.clone()
    }

    /// PostSyncer only: base of the separate upload host.
    pub fn upload_url(&self) -> Option<String> {
        self.upload_url.clone()
    }

    /// Every request that reached this fake (all its listeners), in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.core.requests()
    }

    pub fn clear_requests(&self) {
        self.core.clear_requests()
    }

    /// Objects currently stored (expired ones are gone).
    pub fn objects(&self) -> Vec<StoredObject> {
        self.core.objects()
    }

    /// Object by exact key, key substring, or a URL that contains its key.
    pub fn object(&self, key_or_url_substring: &str) -> Option<StoredObject> {
        self.core.object(key_or_url_substring)
    }

    /// Queue a fault; faults are matched first-come-first-served.
    pub fn push_fault(&self, fault: Fault) {
        self.core.push_fault(fault)
    }

    /// Moves this fake's clock forward (TTLs, expiry, rate-limit windows).
    pub fn advance_clock(&self, d: Duration) {
        self.core.advance_clock(d)
    }

    /// Requests per fixed minute (PostSyncer, SocialSyncer; ignored elsewhere).
    pub fn set_rate_limit(&self, n: u32) {
        self.core.set_rate_limit(n)
    }

    /// Switch `discard_bytes` for later uploads.
    pub fn set_discard_bytes(&self, discard: bool) {
        self.core.set_discard(discard)
    }

    /// FastPix only: current status of a media without advancing it.
    pub fn media_status(&self, id: &str) -> Option<String> {
        self.fastpix.as_ref()?.media_status(id)
    }
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fake")
            .field("api_url", &self.api_url)
            .field("upload_url", &self.upload_url)
            .finish_non_exhaustive()
    }
}

/// All fakes, started together.
#[derive(Clone, Debug)]
pub struct Fakes {
    pub postsyncer: Fake,
    pub synposter: Fake,
    pub socialsyncer: Fake,
    pub fastpix: Fake,
    pub origin: Origin,
}

impl Fakes {
    /// Starts every server on 127.0.0.1 (ephemeral ports) as tasks of the
    /// current tokio runtime; they live as long as the runtime.
    pub async fn start(opts: Options) -> Fakes {
        Fakes {
            postsyncer: postsyncer::start(&opts).await,
            synposter: synposter::start(&opts).await,
            socialsyncer: socialsyncer::start(&opts).await,
            fastpix: fastpix::start(&opts).await,
            origin: origin::start().await,
        }
    }

    /// Where everything listens and which credentials work.
    pub fn endpoints_json(&self) -> serde_json::Value {
        serde_json::json!({
            "postsyncer": {
                "api_url": self.postsyncer.api_url(),
                "upload_url": self.postsyncer.upload_url(),
                "token": POSTSYNCER_TOKEN,
                "workspace_id": POSTSYNCER_WORKSPACE_ID,
            },
            "synposter": {
                "api_url": self.synposter.api_url(),
                "api_key": SYNPOSTER_KEY,
            },
            "socialsyncer": {
                "api_url": self.socialsyncer.api_url(),
                "api_key": SOCIALSYNCER_KEY,
            },
            "fastpix": {
                "api_url": self.fastpix.api_url(),
                "token_id": FASTPIX_TOKEN_ID,
                "secret": FASTPIX_SECRET,
            },
            "origin": {
                "base_url": self.origin.base_url(),
            },
        })
    }
}
