//! Any S3-compatible bucket, through aws-sdk-s3: `PutObject` streamed from the source
//! with an explicit length, a share link from `public_base_url` or a presigned GET, and
//! ListObjectsV2 / DeleteObject / HeadBucket for the optional features.
//!
//! The SDK's own retries are off: `transfer::retry` is the one retry policy. Checksums
//! are computed only "when required", because several S3-compatible vendors reject the
//! SDK's newest default checksum headers.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{Features, Kind, MediaStatus, OptionSpec, Provider, RemoteMedia, Settings, Upload};
use crate::error::{Code, Error, Result};
use crate::transfer::{self, retry, Ctx, Phase, Progress};

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("bucket", "Bucket name").required(),
    OptionSpec::new("region", "Region").default("us-east-1"),
    OptionSpec::new(
        "endpoint",
        "Endpoint URL for S3-compatible services (e.g. https://s3.example.com)",
    ),
    OptionSpec::new(
        "path_style",
        "Use path-style addressing (true for most self-hosted servers)",
    )
    .default("false"),
    OptionSpec::new("prefix", "Key prefix for uploaded objects (e.g. media/)"),
    OptionSpec::new(
        "name_template",
        "Object keys after the prefix, e.g. {yyyy}/{mm}/{stem}-{hash8}{ext} \
         (tokens: {yyyy} {mm} {dd} {name} {stem} {ext} {hash8} {rule} {account}; \
         default: YYYY/MM/DD/<8 hex>/name)",
    ),
    OptionSpec::new("access_key_id", "Access key ID").required(),
    OptionSpec::new(
        "public_base_url",
        "Public base URL of the bucket; without it links are presigned",
    ),
    OptionSpec::new(
        "link_expiry",
        "How long presigned links stay valid (e.g. 7d, 12h; at most 7d)",
    )
    .default("7d"),
    super::BWLIMIT_OPTION,
    super::AFTER_BATCH_OPTION,
    super::AFTER_COMMAND_OPTION,
    OptionSpec::new(
        "secret_access_key",
        "Secret access key, kept in the OS keychain",
    )
    .secret(),
];

const SERVICE: &str = "S3";
/// Everything but RFC 3986's unreserved characters is escaped in a key's URL path.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// Files up to this size go in one PutObject; larger ones in parallel parts.
pub const MULTIPART_THRESHOLD: u64 = 32 * 1024 * 1024;
/// Smallest part: above S3's 5 MiB minimum, big enough for throughput.
pub const MIN_PART: u64 = 8 * 1024 * 1024;
const MAX_PARTS: u64 = 10_000;
/// Parts of a file in flight at once, at most. They share the file's read buffers
/// (`transfer::READ_BUDGET`), so this sets throughput, not memory.
pub const PARALLEL_PARTS: u64 = 8;
/// Parts of a download in flight at once: one is being streamed from the download, the
/// others have been sent and wait for their ETag.
pub const PARALLEL_REMOTE_PARTS: usize = 4;

/// What a multipart upload needs to resume after a crash (kept in the job's row).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MultipartState {
    pub kind: String,
    pub key: String,
    pub upload_id: String,
    pub part_size: u64,
    pub size: u64,
    pub parts: Vec<PartDone>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PartDone {
    pub n: i32,
    pub etag: String,
    pub size: u64,
}

/// Part size for a file: at least `MIN_PART`, whole MiBs, at most 10,000 parts.
pub fn part_size_for(size: u64) -> u64 {
    const MIB: u64 = 1024 * 1024;
    let needed = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
    needed.max(MIN_PART)
}

/// SigV4 presigned URLs cannot outlive seven days.
const MAX_LINK: Duration = Duration::from_secs(7 * 24 * 3600);

pub struct S3 {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    public_base_url: Option<String>,
    link_expiry: Duration,
    /// The account's `name_template` (keys after the prefix), if it has one.
    template: Option<crate::naming::Template>,
    account: String,
}

/// Parse `7d`, `12h`, `30m`, `3600s` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'd')) => (&s[..i], 86_400),
        Some((i, 'h')) => (&s[..i], 3_600),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 's')) => (&s[..i], 1),
        _ => (s, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(|n| Duration::from_secs(n * mult))
        .ok_or_else(|| {
            Error::new(
                Code::ConfigInvalid,
                format!("`{s}` is not a duration; use e.g. 7d, 12h, 30m or 3600s"),
            )
        })
}

impl S3 {
    pub fn new(s: &Settings) -> Result<Self> {
        let creds = aws_credential_types::Credentials::new(
            s.require("access_key_id")?,
            s.secret()?.expose(),
            None,
            None,
            "ferry",
        );
        let path_style = match s.get("path_style").unwrap_or("false") {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            other => {
                return Err(Error::new(
                    Code::ConfigInvalid,
                    format!("path_style must be true or false (got `{other}`)"),
                ))
            }
        };
        let link_expiry = parse_duration(s.get("link_expiry").unwrap_or("7d"))?;
        if link_expiry > MAX_LINK {
            return Err(Error::new(
                Code::ConfigInvalid,
                "link_expiry can be at most 7d (the limit of S3 presigned links)",
            ));
        }
        let mut conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(Region::new(
                s.get("region").unwrap_or("us-east-1").to_string(),
            ))
            .credentials_provider(creds)
            .force_path_style(path_style)
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
            // Ferry's client, so S3 takes the route every other request takes.
            .http_client(super::s3_http::client(s.net.http.clone()))
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(ep) = s.get("endpoint") {
            conf = conf.endpoint_url(ep);
        }
        Ok(S3 {
            client: aws_sdk_s3::Client::from_conf(conf.build()),
            bucket: s.require("bucket")?.to_string(),
            prefix: s.get("prefix").unwrap_or("").to_string(),
            public_base_url: s
                .get("public_base_url")
                .map(|u| u.trim_end_matches('/').to_string()),
            link_expiry,
            template: crate::naming::from_options(&s.options, Kind::S3)
                .map_err(|e| e.context(format!("account `{}`", s.account)))?,
            account: s.account.clone(),
        })
    }

    /// Keys Ferry makes look like `{prefix}YYYY/MM/DD/xxxxxxxx/name`, or what the
    /// account's name template makes after the prefix: only those are ever cleaned up, so
    /// other tools' uploads in the same bucket are left alone. Both shapes count, so
    /// uploads started before a template was set are still recognised.
    fn is_ferry_key(&self, key: &str) -> bool {
        let Some(rest) = key.strip_prefix(&self.prefix) else {
            return false;
        };
        if self
            .template
            .as_ref()
            .is_some_and(|t| t.matches(rest, &self.account))
        {
            return true;
        }
        let parts: Vec<&str> = rest.splitn(5, '/').collect();
        parts.len() == 5
            && parts[0].len() == 4
            && parts[1].len() == 2
            && parts[2].len() == 2
            && parts[..3]
                .iter()
                .all(|p| p.chars().all(|c| c.is_ascii_digit()))
            && parts[3].len() == 8
            && parts[3].chars().all(|c| c.is_ascii_hexdigit())
    }

    async fn abort(&self, key: &str, upload_id: &str, ctx: &Ctx) -> Result<()> {
        let r = retry::run(ctx, retry::Idempotency::Safe, |_| async {
            self.client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .send()
                .await
                .map(|_| ())
                .map_err(map_sdk)
        })
        .await;
        match r {
            Err(e) if e.code == Code::ProviderNotFound => Ok(()),
            other => other,
        }
    }

    /// Start a multipart upload, or pick up the one the journal remembers, reconciled
    /// with what the server actually holds (ListParts).
    async fn begin(&self, upload: &Upload, ctx: &Ctx) -> Result<MultipartState> {
        let reuse = journaled_key(ctx, upload.size);
        if let Some(saved) = ctx
            .load_state()
            .and_then(|v| serde_json::from_value::<MultipartState>(v).ok())
        {
            if saved.size == upload.size {
                match self.list_parts(&saved, ctx).await {
                    Ok(listed) => {
                        // The server's list is the truth; an ETag it leaves out (some
                        // S3-compatible servers do) comes from the journal if the part
                        // there has the same size.
                        let parts = listed
                            .into_iter()
                            .filter_map(|(n, etag, size)| {
                                let etag = etag.or_else(|| {
                                    saved
                                        .parts
                                        .iter()
                                        .find(|p| p.n == n && p.size == size)
                                        .map(|p| p.etag.clone())
                                })?;
                                Some(PartDone { n, etag, size })
                            })
                            .collect();
                        let st = MultipartState { parts, ..saved };
                        ctx.save_state(&serde_json::to_value(&st).expect("state json"))?;
                        return Ok(st);
                    }
                    Err(e) if e.code == Code::ProviderNotFound => {
                        tracing::debug!(
                            "the multipart upload Ferry remembered is gone; starting again"
                        );
                    }
                    Err(e) => return Err(e),
                }
            } else {
                let _ = self.abort(&saved.key, &saved.upload_id, ctx).await;
            }
        }
        // The key is journaled before the upload is started, so an attempt cut off
        // before it heard back still lands on the same object next time.
        let key = reuse.unwrap_or_else(|| match ctx.stable_ref() {
            Some(r) if self.template.is_some() => self.key_named(upload, &r),
            _ => self.key_for(upload),
        });
        save_key(ctx, &key, upload.size)?;
        let created = retry::run(ctx, retry::Idempotency::Safe, |_| async {
            self.client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(&key)
                .content_type(&upload.mime)
                .send()
                .await
                .map_err(map_sdk)
        })
        .await?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| {
                Error::new(
                    Code::ProviderProtocol,
                    "S3 started a multipart upload without an id",
                )
            })?
            .to_string();
        let st = MultipartState {
            kind: "s3-multipart".into(),
            key,
            upload_id,
            part_size: part_size_for(upload.size),
            size: upload.size,
            parts: vec![],
        };
        ctx.save_state(&serde_json::to_value(&st).expect("state json"))?;
        Ok(st)
    }

    /// Parts the server holds: (number, ETag if it says, size).
    async fn list_parts(
        &self,
        st: &MultipartState,
        ctx: &Ctx,
    ) -> Result<Vec<(i32, Option<String>, u64)>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..100 {
            let page = retry::run(ctx, retry::Idempotency::Safe, |_| {
                let mut req = self
                    .client
                    .list_parts()
                    .bucket(&self.bucket)
                    .key(&st.key)
                    .upload_id(&st.upload_id);
                if let Some(m) = &marker {
                    req = req.part_number_marker(m);
                }
                async move { req.send().await.map_err(map_sdk) }
            })
            .await?;
            for p in page.parts() {
                if let Some(n) = p.part_number() {
                    out.push((
                        n,
                        p.e_tag().map(str::to_string),
                        p.size().unwrap_or(0) as u64,
                    ));
                }
            }
            match page.next_part_number_marker() {
                Some(m) if page.is_truncated() == Some(true) => marker = Some(m.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Send one part, retried: its body comes from `open(attempt)` on every attempt, its
    /// ETag is checked against the MD5 of what was sent.
    async fn send_part<F, Fut>(
        &self,
        ctx: &Ctx,
        st: &MultipartState,
        n: i32,
        len: u64,
        open: F,
    ) -> Result<PartDone>
    where
        F: Fn(u32) -> Fut,
        Fut: std::future::Future<Output = Result<transfer::ByteStream>>,
    {
        let open = &open;
        let etag = retry::run(ctx, retry::Idempotency::Safe, |attempt| async move {
            let md5 = Arc::new(std::sync::Mutex::new(<md5::Md5 as md5::Digest>::new()));
            let stream = open(attempt).await?;
            let progress = ctx.progress.clone();
            let body = CountedBody::new(ctx.throttle.wrap(stream), len, progress.clone())
                .with_md5(md5.clone());
            let sent_before = progress.sent();
            let r = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(&st.key)
                .upload_id(&st.upload_id)
                .part_number(n)
                .content_length(len as i64)
                .body(body.into_byte_stream())
                .send()
                .await
                .map_err(map_sdk);
            let out = r.and_then(|out| {
                let etag = out
                    .e_tag()
                    .ok_or_else(|| {
                        Error::new(Code::ProviderProtocol, "S3 answered a part without an ETag")
                    })?
                    .to_string();
                let sent = hex::encode(md5::Digest::finalize(
                    md5.lock().expect("md5 lock").clone(),
                ));
                let plain = etag.trim_matches('"');
                // A plain-MD5 ETag must match what we sent; vendors that use other
                // ETags (encryption) are trusted on their word.
                if plain.len() == 32 && plain.chars().all(|c| c.is_ascii_hexdigit()) && plain != sent
                {
                    return Err(Error::new(
                        Code::NetworkReset,
                        format!("part {n} arrived damaged (ETag {plain}, sent MD5 {sent}); sending it again"),
                    ));
                }
                Ok(etag)
            });
            if out.is_err() {
                // This part's bytes will go again; take them back from progress.
                progress.rewind(progress.sent().saturating_sub(sent_before).min(len));
            }
            out
        })
        .await?;
        Ok(PartDone { n, etag, size: len })
    }

    /// Parallel parts read from the file at their offsets (at most [`PARALLEL_PARTS`],
    /// sharing the file's bounded read buffers), each with its own Content-Length and its
    /// ETag checked against the MD5 of what was sent. A download is read once, in order,
    /// instead (see [`Relay`]): each part's body streams straight from the one response,
    /// nothing gathered in memory, and the next part starts streaming while the last one
    /// waits for its ETag. A retry of a part fetches exactly its bytes again with a
    /// bounded Range (or skips up to them in an origin that ignores Range): memory stays
    /// flat at the cost of downloading that part twice.
    async fn multipart(&self, upload: &Upload, ctx: &Ctx) -> Result<String> {
        let st = self.begin(upload, ctx).await?;
        let part_size = st.part_size;
        let count = upload.size.div_ceil(part_size) as i32;
        let expected = |n: i32| -> u64 {
            let start = (n as u64 - 1) * part_size;
            part_size.min(upload.size - start)
        };
        // Parts the server holds with the right size are kept; anything else is re-sent.
        let mut done: std::collections::BTreeMap<i32, PartDone> = st
            .parts
            .iter()
            .filter(|p| p.n >= 1 && p.n <= count && p.size == expected(p.n))
            .map(|p| (p.n, p.clone()))
            .collect();
        let already: u64 = done.values().map(|p| p.size).sum();
        ctx.progress.start_at(upload.size, already);
        let missing: Vec<i32> = (1..=count).filter(|n| !done.contains_key(n)).collect();
        let state = std::sync::Mutex::new(st.clone());
        let st_ref = &st;
        let mut results: futures_util::stream::BoxStream<'_, Result<PartDone>> =
            if let Some(remote) = upload.source.as_remote() {
                let relay = Relay::new(remote.clone(), upload.size);
                futures_util::stream::iter(missing.into_iter().enumerate())
                    .map(move |(turn, n)| {
                        let relay = relay.clone();
                        async move {
                            let len = expected(n);
                            let offset = (n as u64 - 1) * part_size;
                            self.send_part(ctx, st_ref, n, len, |attempt| {
                                let relay = relay.clone();
                                async move {
                                    if attempt == 1 {
                                        Ok(relay.body(turn, offset, len).await)
                                    } else {
                                        relay.remote.open(offset, len).await
                                    }
                                }
                            })
                            .await
                        }
                    })
                    .buffer_unordered(PARALLEL_REMOTE_PARTS)
                    .boxed()
            } else {
                // Enough parts in flight to fill the pipe, few enough that a crash loses
                // little: about an eighth of the file at most.
                let parallel = ((count as u64) / 8).clamp(2, PARALLEL_PARTS) as usize;
                futures_util::stream::iter(missing)
                    .map(move |n| async move {
                        let len = expected(n);
                        let offset = (n as u64 - 1) * part_size;
                        self.send_part(ctx, st_ref, n, len, |_| {
                            upload.source.open_range(offset, len)
                        })
                        .await
                    })
                    .buffer_unordered(parallel)
                    .boxed()
            };
        while let Some(part) = results.next().await {
            let part = part?;
            let snapshot = {
                let mut s = state.lock().expect("state lock");
                s.parts.push(part.clone());
                s.clone()
            };
            // Journal each part before counting it done: a crash re-sends only parts
            // not listed here (and ListParts corrects the list either way).
            ctx.save_state(&serde_json::to_value(&snapshot).expect("state json"))?;
            done.insert(part.n, part);
        }
        drop(results);
        let parts: Vec<aws_sdk_s3::types::CompletedPart> = done
            .values()
            .map(|p| {
                aws_sdk_s3::types::CompletedPart::builder()
                    .part_number(p.n)
                    .e_tag(&p.etag)
                    .build()
            })
            .collect();
        ctx.progress.phase(Phase::Processing);
        let count = parts.len();
        let completed = aws_sdk_s3::types::CompletedMultipartUpload::builder()
            .set_parts(Some(parts))
            .build();
        // How long the server takes to assemble the parts: nothing is sent meanwhile
        // (a store that copies them into one file takes seconds a GiB).
        let asked = std::time::Instant::now();
        let r = retry::run(ctx, retry::Idempotency::Safe, |attempt| {
            let completed = completed.clone();
            let st = &st;
            async move {
                let r = self
                    .client
                    .complete_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&st.key)
                    .upload_id(&st.upload_id)
                    .multipart_upload(completed)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(map_sdk);
                match r {
                    // An earlier attempt completed it but its answer was lost: the upload
                    // id is gone and the object is there, whole.
                    Err(e) if attempt > 1 && e.code == Code::ProviderNotFound => {
                        let head = self
                            .client
                            .head_object()
                            .bucket(&self.bucket)
                            .key(&st.key)
                            .send()
                            .await
                            .map_err(map_sdk)?;
                        if head.content_length() == Some(upload.size as i64) {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    }
                    other => other,
                }
            }
        })
        .await;
        tracing::debug!(
            "S3: the server assembled {count} parts in {:.1} s",
            asked.elapsed().as_secs_f64()
        );
        r?;
        Ok(st.key)
    }

    fn key_for(&self, upload: &Upload) -> String {
        if let Some(key) = self.templated_key(upload, chrono::Utc::now()) {
            return key;
        }
        // A short random folder keeps two files of the same name from overwriting
        // each other; the date keeps the bucket browsable.
        let day = chrono::Utc::now().format("%Y/%m/%d");
        self.key_in(
            &day,
            &uuid::Uuid::new_v4().simple().to_string()[..8],
            &upload.api_name,
        )
    }

    /// [`Self::key_for`] with its date and folder derived from a transfer's stable
    /// reference: the same key in every attempt, a different one for every job.
    fn key_named(&self, upload: &Upload, r: &crate::transfer::TransferRef) -> String {
        if let Some(key) = self.templated_key(upload, r.created) {
            return key;
        }
        let day = r.created.format("%Y/%m/%d");
        self.key_in(
            &day,
            &blake3::hash(r.id.as_bytes()).to_hex()[..8],
            &upload.api_name,
        )
    }

    /// The key the account's name template makes, dated `queued`. Without a known
    /// hash (a bare provider call) `{hash8}` comes from the name.
    fn templated_key(
        &self,
        upload: &Upload,
        queued: chrono::DateTime<chrono::Utc>,
    ) -> Option<String> {
        let t = self.template.as_ref()?;
        let fallback;
        let hash = match &upload.naming.hash {
            Some(h) => h.as_str(),
            None => {
                fallback = crate::naming::Facts::hash_of_url(&upload.api_name);
                fallback.as_str()
            }
        };
        Some(format!(
            "{}{}",
            self.prefix,
            t.render(&crate::naming::Facts {
                name: &upload.api_name,
                hash,
                rule: upload.naming.rule.as_deref(),
                account: &self.account,
                queued,
            })
        ))
    }

    /// `prefix/day/tag/name`: the date keeps the bucket browsable, the tag keeps two
    /// files of one name apart.
    fn key_in(&self, day: &dyn std::fmt::Display, tag: &str, name: &str) -> String {
        format!("{}{day}/{tag}/{name}", self.prefix)
    }

    async fn link(&self, key: &str) -> Result<(String, Option<chrono::DateTime<chrono::Utc>>)> {
        if let Some(base) = &self.public_base_url {
            let encoded: String = key
                .split('/')
                .map(|seg| percent_encoding::utf8_percent_encode(seg, UNRESERVED).to_string())
                .collect::<Vec<_>>()
                .join("/");
            return Ok((format!("{base}/{encoded}"), None));
        }
        let conf = aws_sdk_s3::presigning::PresigningConfig::expires_in(self.link_expiry)
            .map_err(|e| Error::new(Code::ConfigInvalid, e.to_string()))?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(conf)
            .await
            .map_err(map_sdk)?;
        let expires =
            chrono::Utc::now() + chrono::Duration::from_std(self.link_expiry).unwrap_or_default();
        Ok((req.uri().to_string(), Some(expires)))
    }
}

/// Times a part's download may break off and be reopened before that attempt of the
/// part fails (it is retried by fetching its range again).
const REOPENS_PER_PART: u32 = 3;

/// The one download of a remote source, handed from part to part in order: part `k` of
/// the parts to send (its turn) streams its body from it once part `k - 1` has streamed
/// all of its own (or given up), so there is one reader and no part is gathered in
/// memory. A part waits for its turn before its request goes out, so a server never sees
/// a request that sends nothing while an earlier part streams.
struct Relay {
    remote: Arc<transfer::Remote>,
    reader: Arc<tokio::sync::Mutex<InOrder>>,
    /// Whose turn it is to read (an index into the parts being sent, in order).
    turn: tokio::sync::watch::Sender<usize>,
}

impl Relay {
    fn new(remote: Arc<transfer::Remote>, size: u64) -> Arc<Self> {
        Arc::new(Relay {
            reader: Arc::new(tokio::sync::Mutex::new(InOrder::new(remote.clone(), size))),
            remote,
            turn: tokio::sync::watch::channel(0).0,
        })
    }

    /// The body of the part whose turn is `turn`: the `len` bytes at `offset`, read from
    /// the download as the request takes them. The turn passes on once they are all
    /// read, or when the body is dropped (the attempt failed).
    async fn body(self: Arc<Self>, turn: usize, offset: u64, len: u64) -> transfer::ByteStream {
        let mut mine = self.turn.subscribe();
        // The sender lives in `self`, so the wait only ends at our turn.
        let _ = mine.wait_for(|t| *t >= turn).await;
        let reader = self.reader.clone().lock_owned().await;
        struct Turn {
            relay: Arc<Relay>,
            next: usize,
        }
        impl Drop for Turn {
            fn drop(&mut self) {
                let next = self.next;
                self.relay.turn.send_if_modified(|t| {
                    let behind = *t < next;
                    if behind {
                        *t = next;
                    }
                    behind
                });
            }
        }
        let state = (
            Some((
                reader,
                Turn {
                    relay: self,
                    next: turn + 1,
                },
            )),
            offset,
            len,
            0u32,
        );
        Box::pin(futures_util::stream::unfold(
            state,
            |(mut mine, at, left, mut reopens)| async move {
                let (reader, _) = mine.as_mut().filter(|_| left > 0)?;
                match reader.read(at, left, &mut reopens).await {
                    Ok(b) => {
                        let n = b.len() as u64;
                        if n == left {
                            // Done: release the download for the next part now (the HTTP
                            // stack may never ask this body for more once its length is met).
                            mine = None;
                        }
                        Some((Ok(b), (mine, at + n, left - n, reopens)))
                    }
                    Err(e) => Some((
                        Err(std::io::Error::other(e.message)),
                        (None, at, 0, reopens),
                    )),
                }
            },
        ))
    }
}

/// Reads a download once, in order. When the response breaks off, or bytes are wanted
/// that are not the next ones (a resume), it reopens at that offset through
/// [`transfer::Remote::open`]: a bounded Range checked against its 206, or skipping ahead
/// in an origin that ignores Range.
struct InOrder {
    remote: Arc<transfer::Remote>,
    size: u64,
    stream: Option<transfer::ByteStream>,
    /// Source offset of the next byte `carry` (then the stream) holds.
    pos: u64,
    carry: Bytes,
}

impl InOrder {
    fn new(remote: Arc<transfer::Remote>, size: u64) -> Self {
        InOrder {
            remote,
            size,
            stream: None,
            pos: 0,
            carry: Bytes::new(),
        }
    }

    /// The next bytes at `offset`, at most `max` of them (as many as the download has at
    /// hand: nothing is gathered).
    async fn read(&mut self, offset: u64, max: u64, reopens: &mut u32) -> Result<Bytes> {
        if offset != self.pos {
            self.stream = None;
            self.carry = Bytes::new();
            self.pos = offset;
        }
        loop {
            if !self.carry.is_empty() {
                let take = max.min(self.carry.len() as u64) as usize;
                self.pos += take as u64;
                return Ok(self.carry.split_to(take));
            }
            let broke = match self.stream.as_mut() {
                None => match self.remote.open(self.pos, self.size - self.pos).await {
                    Ok(s) => {
                        self.stream = Some(s);
                        continue;
                    }
                    Err(e) if e.is_transient() => e.message,
                    Err(e) => return Err(e),
                },
                Some(stream) => match stream.next().await {
                    Some(Ok(chunk)) => {
                        self.carry = chunk;
                        continue;
                    }
                    Some(Err(e)) => e.to_string(),
                    None => "the download ended early".to_string(),
                },
            };
            self.stream = None;
            *reopens += 1;
            if *reopens > REOPENS_PER_PART {
                return Err(Error::new(
                    Code::NetworkReset,
                    format!(
                        "the download kept breaking off at byte {}: {broke}",
                        self.pos
                    ),
                ));
            }
            tracing::debug!(
                at = self.pos,
                "the download broke off; reopening it there: {broke}"
            );
        }
    }
}

/// The key an earlier attempt of this job journaled before it sent anything (a single
/// PUT, or a multipart upload), for a source of the same size: sending again to it
/// replaces that object instead of leaving a second one.
fn journaled_key(ctx: &Ctx, size: u64) -> Option<String> {
    let st = ctx.load_state()?;
    let kind = st.get("kind")?.as_str()?;
    if !matches!(kind, "s3-put" | "s3-multipart") || st.get("size")?.as_u64()? != size {
        return None;
    }
    Some(st.get("key")?.as_str()?.to_string())
}

fn save_key(ctx: &Ctx, key: &str, size: u64) -> Result<()> {
    ctx.save_state(&serde_json::json!({ "kind": "s3-put", "key": key, "size": size }))
}

/// Map an SDK error to Ferry's codes; the S3 error code and message are kept.
pub fn map_sdk<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Error {
    match &err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let s3code = se.err().code().unwrap_or("");
            let msg = se.err().message().unwrap_or("");
            let code = match s3code {
                "InvalidAccessKeyId" | "SignatureDoesNotMatch" => Code::AuthInvalid,
                "AccessDenied" => Code::AuthForbidden,
                "SlowDown" => Code::ProviderRateLimited,
                "EntityTooLarge" => Code::LimitTooLarge,
                "NoSuchBucket" => Code::ConfigInvalid,
                "NoSuchKey" | "NoSuchUpload" => Code::ProviderNotFound,
                _ => super::http::code_for_status(
                    reqwest::StatusCode::from_u16(status)
                        .unwrap_or(reqwest::StatusCode::BAD_GATEWAY),
                ),
            };
            let label = if s3code.is_empty() {
                "error".to_string()
            } else {
                s3code.to_string()
            };
            let retry_after = se
                .raw()
                .headers()
                .get("retry-after")
                .and_then(|v| v.parse::<u64>().ok())
                .map(Duration::from_secs);
            Error::new(code, format!("{SERVICE} answered {status} {label}: {msg}"))
                .with_status(status)
                .with_retry_after(retry_after)
        }
        SdkError::TimeoutError(_) => Error::new(Code::NetworkTimeout, "S3 did not answer in time"),
        SdkError::DispatchFailure(df) => {
            let code = if df.is_timeout() {
                Code::NetworkTimeout
            } else if df.is_io() {
                Code::NetworkReset
            } else {
                Code::NetworkConnect
            };
            Error::new(code, format!("could not reach S3: {}", error_chain(&err)))
        }
        SdkError::ResponseError(_) => Error::new(
            Code::NetworkReset,
            format!("S3's answer was cut off: {}", error_chain(&err)),
        ),
        _ => Error::new(
            Code::Internal,
            format!("S3 request failed: {}", error_chain(&err)),
        ),
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cur = e.source();
    }
    out
}

/// A request body with an exact length that reports bytes as the SDK takes them.
pub struct CountedBody {
    // SdkBody needs Sync; the Mutex provides it and is never contended (poll has &mut).
    inner: std::sync::Mutex<transfer::ByteStream>,
    remaining: u64,
    progress: Progress,
    md5: Option<Arc<std::sync::Mutex<md5::Md5>>>,
}

impl CountedBody {
    pub fn new(inner: transfer::ByteStream, len: u64, progress: Progress) -> Self {
        CountedBody {
            inner: std::sync::Mutex::new(inner),
            remaining: len,
            progress,
            md5: None,
        }
    }

    /// Also compute the MD5 of what is sent, to check the part's ETag against.
    pub fn with_md5(mut self, md5: Arc<std::sync::Mutex<md5::Md5>>) -> Self {
        self.md5 = Some(md5);
        self
    }

    pub fn into_byte_stream(self) -> ByteStream {
        ByteStream::new(aws_smithy_types::body::SdkBody::from_body_1_x(self))
    }
}

impl http_body::Body for CountedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<http_body::Frame<Bytes>, Self::Error>>> {
        let polled = match self.inner.get_mut() {
            Ok(s) => s.poll_next_unpin(cx),
            Err(_) => return Poll::Ready(Some(Err(std::io::Error::other("body poisoned")))),
        };
        match polled {
            Poll::Ready(Some(Ok(b))) => {
                let n = b.len() as u64;
                if n > self.remaining {
                    return Poll::Ready(Some(Err(std::io::Error::other(
                        "the source grew while it was being sent",
                    ))));
                }
                self.remaining -= n;
                if let Some(m) = &self.md5 {
                    md5::Digest::update(&mut *m.lock().expect("md5 lock"), &b);
                }
                self.progress.add(n);
                Poll::Ready(Some(Ok(http_body::Frame::data(b))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

#[async_trait]
impl Provider for S3 {
    fn kind(&self) -> Kind {
        Kind::S3
    }

    fn features(&self) -> Features {
        Features {
            test_credentials: true,
            list_remote: true,
            delete_remote: true,
            ..Features::default()
        }
    }

    fn name_needs_hash(&self) -> bool {
        self.template
            .as_ref()
            .is_some_and(crate::naming::Template::uses_hash)
    }

    async fn upload(&self, upload: &Upload, ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        if upload.size > MULTIPART_THRESHOLD {
            let key = self.multipart(upload, ctx).await?;
            ctx.progress.phase(Phase::Processing);
            let (url, expires_at) = self.link(&key).await?;
            return Ok(vec![RemoteMedia {
                id: key,
                name: upload.name.clone(),
                url: Some(url),
                mime_type: upload.mime.clone(),
                size: Some(upload.size),
                status: MediaStatus::Ready,
                expires_at,
            }]);
        }
        // A PUT to one key is idempotent: retrying it cannot create a duplicate, and
        // neither can a resumed job: a job's key is derived from the job itself, the
        // same in every attempt (no journaling needed); without a job (a bare provider
        // call), a random key is journaled before it goes out.
        let key = match (journaled_key(ctx, upload.size), ctx.stable_ref()) {
            (Some(key), _) => key,
            (None, Some(r)) => self.key_named(upload, &r),
            (None, None) => {
                let key = self.key_for(upload);
                save_key(ctx, &key, upload.size)?;
                key
            }
        };
        retry::run(ctx, retry::Idempotency::Safe, |_| async {
            ctx.progress.start(upload.size);
            let stream = upload.source.open_range(0, upload.size).await?;
            let body =
                CountedBody::new(ctx.throttle.wrap(stream), upload.size, ctx.progress.clone())
                    .into_byte_stream();
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .content_type(&upload.mime)
                .content_length(upload.size as i64)
                .body(body)
                .send()
                .await
                .map_err(map_sdk)?;
            ctx.progress.phase(Phase::Processing);
            Ok(())
        })
        .await?;
        let (url, expires_at) = self.link(&key).await?;
        Ok(vec![RemoteMedia {
            id: key,
            name: upload.name.clone(),
            url: Some(url),
            mime_type: upload.mime.clone(),
            size: Some(upload.size),
            status: MediaStatus::Ready,
            expires_at,
        }])
    }

    async fn test(&self, ctx: &Ctx) -> Result<()> {
        retry::run(ctx, retry::Idempotency::Safe, |_| async {
            self.client
                .head_bucket()
                .bucket(&self.bucket)
                .send()
                .await
                .map(|_| ())
                .map_err(map_sdk)
        })
        .await
    }

    async fn list_remote(&self, ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..10_000 {
            let page = retry::run(ctx, retry::Idempotency::Safe, |_| {
                let mut req = self.client.list_objects_v2().bucket(&self.bucket);
                if !self.prefix.is_empty() {
                    req = req.prefix(&self.prefix);
                }
                if let Some(t) = &token {
                    req = req.continuation_token(t);
                }
                async move { req.send().await.map_err(map_sdk) }
            })
            .await?;
            for obj in page.contents() {
                let Some(key) = obj.key() else { continue };
                let (url, expires_at) = self.link(key).await?;
                out.push(RemoteMedia {
                    id: key.to_string(),
                    name: key.rsplit('/').next().unwrap_or(key).to_string(),
                    url: Some(url),
                    mime_type: String::new(),
                    size: obj.size().map(|s| s as u64),
                    status: MediaStatus::Ready,
                    expires_at,
                });
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn abandon(&self, state: &serde_json::Value, ctx: &Ctx) -> Result<()> {
        let Ok(st) = serde_json::from_value::<MultipartState>(state.clone()) else {
            return Ok(());
        };
        self.abort(&st.key, &st.upload_id, ctx).await
    }

    async fn cleanup(&self, keep: &[serde_json::Value], ctx: &Ctx) -> Result<Vec<String>> {
        let owned: Vec<String> = keep
            .iter()
            .filter_map(|v| serde_json::from_value::<MultipartState>(v.clone()).ok())
            .map(|s| s.upload_id)
            .collect();
        let mut cleaned = Vec::new();
        let mut key_marker: Option<String> = None;
        let mut id_marker: Option<String> = None;
        for _ in 0..1000 {
            let page = retry::run(ctx, retry::Idempotency::Safe, |_| {
                let mut req = self.client.list_multipart_uploads().bucket(&self.bucket);
                if !self.prefix.is_empty() {
                    req = req.prefix(&self.prefix);
                }
                if let Some(k) = &key_marker {
                    req = req.key_marker(k);
                }
                if let Some(i) = &id_marker {
                    req = req.upload_id_marker(i);
                }
                async move { req.send().await.map_err(map_sdk) }
            })
            .await
            .map_err(|e| match e.code {
                Code::ProviderUnsupported => Error::new(
                    Code::ProviderUnsupported,
                    format!("this S3 server cannot list unfinished multipart uploads ({}), so Ferry cannot find orphans there", e.message),
                ),
                _ => e,
            })?;
            for u in page.uploads() {
                let (Some(key), Some(id)) = (u.key(), u.upload_id()) else {
                    continue;
                };
                if owned.iter().any(|o| o == id) || !self.is_ferry_key(key) {
                    continue;
                }
                self.abort(key, id, ctx).await?;
                cleaned.push(format!("aborted multipart upload of {key}"));
            }
            if page.is_truncated() == Some(true) {
                key_marker = page.next_key_marker().map(str::to_string);
                id_marker = page.next_upload_id_marker().map(str::to_string);
            } else {
                break;
            }
        }
        Ok(cleaned)
    }

    async fn delete(&self, id: &str, ctx: &Ctx) -> Result<()> {
        retry::run(ctx, retry::Idempotency::Safe, |_| async {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(id)
                .send()
                .await
                .map(|_| ())
                .map_err(map_sdk)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_days_hours_minutes_and_seconds() {
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(604_800));
        assert_eq!(parse_duration("12h").unwrap(), Duration::from_secs(43_200));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0d").is_err());
    }
}
