//! Job execution: the work of one job, from its journal row to what now exists remotely.
//! A file is checked against its destination, hashed where a duplicate is possible,
//! deduplicated against the library, and sent; a URL is imported or fetched and
//! forwarded. What it returns is recorded by the runner together with the job's outcome,
//! in one transaction.
//!
//! Nothing here decides retries (`transfer::retry`), claims jobs (`runner`) or talks a
//! provider's protocol (`providers`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Job, JobId, Queue, SourceKind};
use crate::error::{Code, Error, Result};
use crate::import;
use crate::media;
use crate::providers::{Kind, Provider, RemoteMedia, Upload};
use crate::transfer::{self, Ctx, Phase, Progress, Source};

/// Files up to this size are hashed before sending, for dedupe; larger ones only when a
/// duplicate is possible.
const PREHASH_MAX: u64 = 64 * 1024 * 1024;

/// Uploads in flight by (account, size): each job and its content hash, if known.
pub(crate) type Inflight = HashMap<(String, u64), Vec<(JobId, Option<String>)>>;

/// What a job's work produced: what exists remotely, whether it was already there, and
/// the content hash to record with it. It holds the job's in-flight slot until the
/// outcome is recorded: a second job with the same bytes must find this one in the
/// library, not start sending between the upload and its record.
pub struct Done<'a> {
    pub media: Vec<RemoteMedia>,
    pub deduplicated: bool,
    pub kind: Kind,
    pub hash: Option<String>,
    pub(crate) _slot: Option<InflightSlot<'a>>,
}

/// Check a file against the destination and describe it; no network.
pub fn prepare(provider: &dyn Provider, path: &Path) -> Result<Upload> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::new(
            Code::InputNotFound,
            format!("{}: no such file", path.display()),
        ),
        _ => Error::io(e, path.display()),
    })?;
    if meta.is_dir() {
        return Err(Error::new(
            Code::InputInvalid,
            format!("{} is a folder; pass the files in it", path.display()),
        ));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let size = meta.len();
    let limits = provider.limits();
    if size == 0 && !limits.accepts.is_empty() {
        return Err(Error::new(
            Code::InputEmpty,
            format!(
                "{name} is empty (0 bytes); {} accepts only {}",
                provider.kind().display_name(),
                limits.accepts_human
            ),
        ));
    }
    let mime = media::sniff_path(path)?;
    media::check(provider.kind(), &limits, &name, &mime, size)?;
    Ok(Upload {
        api_name: media::sanitize_filename(&name),
        name,
        mime,
        size,
        source: Source::file(path.to_path_buf(), &meta),
        naming: Default::default(),
    })
}

impl Queue {
    /// Give up a job's remote resume state, if it has one.
    pub(crate) async fn abandon(&self, id: JobId, account: &str, ctx: &Ctx) {
        let Ok(Some(state)) = self.jobs.resume_state(id) else {
            return;
        };
        // The job's own context may be cancelled; abandoning must still reach the server.
        let fresh = Ctx::new(ctx.http.clone());
        match self.accounts.provider(account) {
            Ok(p) => {
                if let Err(e) = p.abandon(&state, &fresh).await {
                    tracing::warn!("job {id}: could not clean up remotely: {}", e.message);
                }
            }
            Err(e) => tracing::warn!("job {id}: {}", e.message),
        }
        let _ = self.jobs.set_resume_state(id, None);
    }

    /// The work of one job.
    pub(crate) async fn process_job(&self, job: &Job, ctx: &Ctx) -> Result<Done<'_>> {
        let provider = self.accounts.provider(&job.account)?;
        ctx.progress.phase(Phase::Preparing);
        let done = match job.source_kind {
            SourceKind::Path => self.process_path(job, provider.as_ref(), ctx).await,
            SourceKind::Url => self.process_url(job, provider.as_ref(), ctx).await,
        };
        // A network failure says which proxy it went through (a wrong proxy is the
        // usual cause when every job fails the same way).
        done.map_err(|e| self.accounts.net().explain(e))
    }

    async fn process_path(
        &self,
        job: &Job,
        provider: &dyn Provider,
        ctx: &Ctx,
    ) -> Result<Done<'_>> {
        let path = PathBuf::from(&job.input);
        let mut upload = prepare(provider, &path)?;
        let fp = upload.source.fingerprint().expect("a file source");
        let same_file = job.src_size == Some(upload.size) && job.src_mtime_ns == fp.mtime_ns();
        // A job never prepared has no remote state: resume state is journaled only after
        // (or with) the source's size and mtime.
        if !same_file && job.src_size.is_some() {
            // What an interrupted attempt sent belongs to other bytes: start over.
            self.abandon(job.id, &job.account, ctx).await;
        }
        self.jobs.set_prepared(
            job.id,
            &upload.name,
            upload.size,
            fp.mtime_ns(),
            &upload.mime,
        );

        // Dedupe. Small files are hashed before sending (it costs little); a large one
        // only when something of its size is already at this account or on its way
        // there — otherwise its hash is computed while its bytes stream out.
        let key = (job.account.clone(), upload.size);
        // A file going to several destinations at once (its jobs side by side) is read
        // once for all of them (`shares`) and hashed once: a hash one of them computed
        // before sending serves the others, and the shared read hashes the bytes it
        // passes on. Both are that addition's only (its first job's id is in the key):
        // a later addition of a file rewritten with the same size and mtime is read and
        // hashed anew.
        let group = (!job.force).then(|| self.fan_out_group(job)).flatten();
        let mut hash = job
            .content_hash
            .clone()
            .filter(|_| same_file)
            .or_else(|| group.and_then(|g| self.hashes.known(&path, &fp, g)));
        // A name template with {hash8} needs it before the first byte, forced or not.
        let needs_hash = provider.name_needs_hash()
            || !job.force
                && (upload.size <= PREHASH_MAX
                    || self.library.has_size(&job.account, upload.size)?
                    || self.inflight_has(&key));
        if needs_hash && hash.is_none() {
            ctx.progress.phase(Phase::Hashing);
            let h = match group {
                Some(g) => self.hashes.get_or_hash(&path, &fp, g, &ctx.cancel).await?,
                None => transfer::hash_file(&path, &ctx.cancel).await?,
            };
            ctx.progress.phase(Phase::Preparing);
            self.jobs.set_hash(job.id, &h);
            hash = Some(h);
        }
        // Two identical files started together: the second waits for the first, then
        // finds it in the library.
        let slot = self.inflight_slot(key, job.id, hash.clone(), ctx).await?;
        if let (false, Some(h)) = (job.force, &hash) {
            if let Some(media) = self.trusted_copy(job, provider, h, ctx).await? {
                return Ok(Done {
                    media: vec![media],
                    deduplicated: true,
                    kind: provider.kind(),
                    hash: Some(h.clone()),
                    _slot: Some(slot),
                });
            }
        }
        upload.naming = crate::providers::Naming {
            hash: hash.clone(),
            rule: job.origin.strip_prefix("watch:").map(str::to_string),
        };
        let fan_out = group.or_else(|| self.fan_out_group(job));
        if let Some(member) = fan_out.and_then(|g| self.shares.join(&path, &fp, g)) {
            upload.source.share_read(member);
        }
        let media = provider.upload(&upload, ctx).await?;
        let known = hash.is_some();
        let hash = match hash.or_else(|| upload.source.tapped_hash()) {
            Some(h) => h,
            None => {
                // The bytes sent did not cover the file (a resumed upload skipped what
                // it had sent before): read it once more.
                tracing::debug!("job {}: hashing the file after sending it", job.id);
                match fan_out {
                    Some(g) => self.hashes.get_or_hash(&path, &fp, g, &ctx.cancel).await?,
                    None => transfer::hash_file(&path, &ctx.cancel).await?,
                }
            }
        };
        if let Some(g) = fan_out {
            self.hashes.remember(&path, &fp, g, &hash);
        }
        if !known {
            self.jobs.set_hash(job.id, &hash);
        }
        Ok(Done {
            media,
            deduplicated: false,
            kind: provider.kind(),
            hash: Some(hash),
            _slot: Some(slot),
        })
    }

    /// The library's copy of these bytes at this account, if it can be trusted: it is
    /// checked to still exist where the destination can tell. A copy that is gone is
    /// marked so and the file is sent again. When the destination cannot tell, the copy
    /// is trusted — unless the job's watch rule will delete or move the original after
    /// upload, which needs certainty: then the file is sent again.
    async fn trusted_copy(
        &self,
        job: &Job,
        provider: &dyn Provider,
        hash: &str,
        ctx: &Ctx,
    ) -> Result<Option<RemoteMedia>> {
        let Some(item) = self.library.find_by_hash(&job.account, hash)? else {
            return Ok(None);
        };
        let media = item.as_media();
        match provider.exists(&media, ctx).await {
            Ok(Some(true)) => Ok(Some(media)),
            Ok(Some(false)) => {
                tracing::info!(
                    "job {}: the earlier copy {} is gone from `{}`; sending again",
                    job.id,
                    item.name,
                    job.account
                );
                self.library
                    .set_status(item.id, crate::library::ItemStatus::Deleted, None)?;
                Ok(None)
            }
            Ok(None) | Err(_) if self.source_at_risk(job) => Ok(None),
            Ok(None) => Ok(Some(media)),
            // Could not ask (offline): the record stands, as it always has.
            Err(e) => {
                tracing::debug!(
                    "job {}: could not check the earlier copy: {}",
                    job.id,
                    e.message
                );
                Ok(Some(media))
            }
        }
    }

    /// Whether an after-upload action will remove the job's original.
    fn source_at_risk(&self, job: &Job) -> bool {
        let Some(rule) = job.origin.strip_prefix("watch:") else {
            return false;
        };
        self.accounts
            .config()
            .watch
            .iter()
            .find(|r| r.id == rule)
            .is_some_and(|r| r.after != crate::watch::After::Keep)
    }

    async fn process_url(&self, job: &Job, provider: &dyn Provider, ctx: &Ctx) -> Result<Done<'_>> {
        let url = import::validate_url(&job.input)?;
        let media = if provider.features().import_url {
            provider.import_url(&url, ctx).await?
        } else {
            let limits = provider.limits();
            let spill = self.accounts.home().data_dir.join("spool");
            // Cancellable: a source that stalls before its first 8 KiB would otherwise
            // hold a pause or cancel until it sent them.
            let (upload, _spilled) = ctx
                .cancellable(import::fetch_with(
                    &self.accounts.http(),
                    &url,
                    &spill,
                    limits.max_bytes,
                    import::SpoolLimits::from_settings(&self.accounts.config().settings),
                ))
                .await?;
            media::check(
                provider.kind(),
                &limits,
                &upload.name,
                &upload.mime,
                upload.size,
            )?;
            self.jobs
                .set_prepared(job.id, &upload.name, upload.size, None, &upload.mime);
            provider.upload(&upload, ctx).await?
        };
        Ok(Done {
            media,
            deduplicated: false,
            kind: provider.kind(),
            hash: None,
            _slot: None,
        })
    }

    fn inflight_has(&self, key: &(String, u64)) -> bool {
        self.inflight
            .lock()
            .expect("inflight lock")
            .get(key)
            .is_some_and(|v| !v.is_empty())
    }

    /// Register an upload in flight. It waits while another upload to the same account
    /// may hold the same bytes: same size, and the same hash or a hash not known yet.
    async fn inflight_slot(
        &self,
        key: (String, u64),
        id: JobId,
        hash: Option<String>,
        ctx: &Ctx,
    ) -> Result<InflightSlot<'_>> {
        loop {
            {
                let mut map = self.inflight.lock().expect("inflight lock");
                let entries = map.entry(key.clone()).or_default();
                let conflict = entries
                    .iter()
                    .any(|(_, h)| h.is_none() || hash.is_none() || *h == hash);
                if !conflict {
                    entries.push((id, hash));
                    return Ok(InflightSlot {
                        queue: self,
                        key,
                        id,
                    });
                }
            }
            tokio::select! {
                _ = ctx.cancel.cancelled() => return Err(Error::cancelled()),
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
    }

    /// A context with no progress, for calls outside a job (cleanup, checks).
    /// When other jobs of the same file from the same addition are still to finish (a
    /// fan-out: its jobs are written side by side, so a few ids around this one tell),
    /// the group's first job id; `None` for a job on its own.
    fn fan_out_group(&self, job: &Job) -> Option<JobId> {
        const NEAR: i64 = 8;
        let siblings = self.jobs.siblings(job, NEAR);
        // Siblings not all finished: sharing the hash still helps one.
        siblings
            .iter()
            .any(|j| !j.status.is_final())
            .then(|| siblings.iter().map(|j| j.id).chain([job.id]).min())
            .flatten()
    }

    pub(crate) fn quiet_ctx(&self) -> Ctx {
        self.accounts.ctx(Progress::none())
    }
}

pub(crate) struct InflightSlot<'a> {
    queue: &'a Queue,
    key: (String, u64),
    id: JobId,
}

impl Drop for InflightSlot<'_> {
    fn drop(&mut self) {
        let mut map = self.queue.inflight.lock().expect("inflight lock");
        if let Some(v) = map.get_mut(&self.key) {
            v.retain(|(id, _)| *id != self.id);
            if v.is_empty() {
                map.remove(&self.key);
            }
        }
    }
}
