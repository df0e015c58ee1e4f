//! `Engine`: the facade the desktop shell and the CLI hold. It owns the config, the
//! secret store, the HTTP client, the database (job journal + library) and the queue,
//! and turns "this path / this URL to that account" into a checked, durable, deduplicated
//! job. It never prints and never names a UI type: hosts subscribe to [`Event`]s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{broadcast, Notify};

use crate::config::{self, AccountConfig, Config, Home};
use crate::db::Db;
use crate::error::{Code, Error, Result};
use crate::import;
use crate::library::{Filter, ItemStatus, Library, LibraryItem, Provenance};
use crate::media;
use crate::providers::{self, Kind, MediaStatus, Provider, RemoteMedia, Upload};
use crate::queue::journal::JobsTable;
use crate::queue::runner::{self, RunOptions, Running};
use crate::queue::{Aimd, Event, Job, JobId, JobStatus, NewJob, Selector, SourceKind};
use crate::secrets::{Keychain, Secret, SecretStore};
use crate::transfer::{self, Ctx, Phase, Progress, Source};

/// Files up to this size are hashed before sending, for dedupe; larger ones only when a
/// duplicate is possible.
const PREHASH_MAX: u64 = 64 * 1024 * 1024;

/// Uploads in flight by (account, size): each job and its content hash, if known.
type Inflight = HashMap<(String, u64), Vec<(JobId, Option<String>)>>;

/// How an account gets its secret.
#[derive(Debug, Clone)]
pub enum SecretInput {
    None,
    Value(Secret),
    Env(String),
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AccountView {
    pub name: String,
    pub kind: Kind,
    pub options: std::collections::BTreeMap<String, String>,
    /// `keychain`, `env:VAR` or `none` — never the value.
    pub secret: String,
    pub default: bool,
}

pub struct Engine {
    home: Home,
    secrets: Arc<dyn SecretStore>,
    http: reqwest::Client,
    config: Mutex<Config>,
    jobs: JobsTable,
    library: Library,
    events: broadcast::Sender<Event>,
    aimd: Aimd,
    running: Mutex<HashMap<JobId, Running>>,
    notify: Notify,
    /// (account, size) of uploads in flight: a second file of the same size to the same
    /// account waits, so two identical files started together are still sent once.
    inflight: Mutex<Inflight>,
    /// Built providers by account: one HTTP client and connection pool per account, not
    /// per job. Cleared when accounts change.
    providers: Mutex<HashMap<String, Arc<dyn Provider>>>,
    watch_store: crate::watch::store::WatchStore,
    watch_registry: crate::watch::runtime::Registry,
}

impl Engine {
    /// The real engine: secrets in the OS keychain.
    pub fn open(home: Home) -> Result<Engine> {
        Engine::with_secret_store(home, Arc::new(Keychain::new()))
    }

    pub fn with_secret_store(home: Home, secrets: Arc<dyn SecretStore>) -> Result<Engine> {
        let config = Config::load(&home)?;
        let db = Arc::new(Db::open(&home.data_dir.join("ferry.db"))?);
        let (events, _) = broadcast::channel(4096);
        let per_account = config.settings.per_account.max(1);
        Ok(Engine {
            home,
            secrets,
            http: transfer::http_client(),
            config: Mutex::new(config),
            jobs: JobsTable::new(db.clone()),
            library: Library::new(db.clone()),
            watch_store: crate::watch::store::WatchStore::new(db),
            watch_registry: Default::default(),
            events,
            aimd: Aimd::new(per_account),
            running: Mutex::new(HashMap::new()),
            notify: Notify::new(),
            inflight: Mutex::new(HashMap::new()),
            providers: Mutex::new(HashMap::new()),
        })
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    pub fn config(&self) -> Config {
        self.config.lock().expect("config lock").clone()
    }

    /// Change settings and save them.
    pub fn update_settings(&self, f: impl FnOnce(&mut config::Settings)) -> Result<()> {
        let mut cfg = self.config();
        f(&mut cfg.settings);
        cfg.save(&self.home)?;
        *self.config.lock().expect("config lock") = cfg;
        Ok(())
    }

    pub fn default_account(&self) -> String {
        self.config().settings.default_account
    }

    /// Everything the engine reports, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub(crate) fn emit(&self, ev: Event) {
        let _ = self.events.send(ev);
    }

    pub(crate) fn watch_store(&self) -> &crate::watch::store::WatchStore {
        &self.watch_store
    }

    pub(crate) fn watch_registry(&self) -> &crate::watch::runtime::Registry {
        &self.watch_registry
    }

    /// Save a changed config and make it current.
    pub(crate) fn save_config(&self, cfg: Config) -> Result<()> {
        cfg.save(&self.home)?;
        *self.config.lock().expect("config lock") = cfg;
        Ok(())
    }

    pub(crate) fn jobs_table(&self) -> &JobsTable {
        &self.jobs
    }

    pub(crate) fn aimd(&self) -> &Aimd {
        &self.aimd
    }

    pub(crate) fn running(&self) -> &Mutex<HashMap<JobId, Running>> {
        &self.running
    }

    pub(crate) fn notify(&self) -> &Notify {
        &self.notify
    }

    /// An account's current concurrency limit (lowered after 429/503, raised after
    /// successes).
    pub fn account_concurrency(&self, account: &str) -> usize {
        self.aimd.limit(account)
    }

    /// A fresh context for one transfer.
    pub fn ctx(&self, progress: Progress) -> Ctx {
        Ctx::new(self.http.clone()).with_progress(progress)
    }

    // ----- accounts -------------------------------------------------------------------

    pub fn accounts(&self) -> Vec<AccountView> {
        let cfg = self.config();
        cfg.accounts
            .iter()
            .map(|(name, a)| AccountView {
                name: name.clone(),
                kind: a.kind,
                options: a.options.clone(),
                secret: match (&a.secret_env, a.kind.secret_option()) {
                    (Some(var), _) => format!("env:{var}"),
                    (None, Some(_)) => "keychain".to_string(),
                    (None, None) => "none".to_string(),
                },
                default: *name == cfg.settings.default_account,
            })
            .collect()
    }

    pub fn account_add(
        &self,
        name: &str,
        kind: Kind,
        options: &[(String, String)],
        secret: SecretInput,
    ) -> Result<()> {
        config::validate_name(name)?;
        let options = config::validate_options(kind, options)?;
        let mut cfg = self.config();
        if cfg.accounts.contains_key(name) {
            return Err(Error::new(
                Code::ConfigAccountExists,
                format!("an account named `{name}` exists; remove it first (ferry account remove {name})"),
            ));
        }
        let secret_env = match (&secret, kind.secret_option()) {
            (SecretInput::None, Some(opt)) => {
                return Err(Error::new(
                    Code::AuthMissingSecret,
                    format!(
                        "{kind} needs its {} ({}): pass --secret-stdin to store it in the OS keychain, or --secret-env VAR",
                        opt.name, opt.help
                    ),
                ))
            }
            (SecretInput::None, None) => None,
            (_, None) => {
                return Err(Error::new(Code::ConfigInvalid, format!("{kind} accounts take no secret")))
            }
            (SecretInput::Value(v), Some(_)) => {
                if v.expose().trim().is_empty() {
                    return Err(Error::new(Code::AuthMissingSecret, "the secret given is empty"));
                }
                // Keychain first: if it is unavailable, nothing is written at all.
                self.secrets.set(name, v)?;
                None
            }
            (SecretInput::Env(var), Some(_)) => Some(var.clone()),
        };
        cfg.accounts.insert(
            name.to_string(),
            AccountConfig {
                kind,
                options,
                secret_env,
            },
        );
        cfg.save(&self.home)?;
        *self.config.lock().expect("config lock") = cfg;
        self.providers.lock().expect("providers lock").remove(name);
        Ok(())
    }

    pub fn account_remove(&self, name: &str) -> Result<()> {
        let mut cfg = self.config();
        let acct = cfg.account(name)?.clone();
        if name == config::DEFAULT_ACCOUNT && acct.kind == Kind::Local && acct.options.is_empty() {
            return Err(Error::new(
                Code::ConfigInvalid,
                "the built-in `library` account cannot be removed",
            ));
        }
        if acct.kind.secret_option().is_some() && acct.secret_env.is_none() {
            self.secrets.delete(name)?;
        }
        cfg.accounts.remove(name);
        if cfg.settings.default_account == name {
            cfg.settings.default_account = config::DEFAULT_ACCOUNT.to_string();
        }
        cfg.save(&self.home)?;
        *self.config.lock().expect("config lock") = Config::load(&self.home)?;
        self.providers.lock().expect("providers lock").remove(name);
        Ok(())
    }

    /// The provider for an account (built once, its secret fetched then).
    pub fn provider(&self, name: &str) -> Result<Arc<dyn Provider>> {
        if let Some(p) = self.providers.lock().expect("providers lock").get(name) {
            return Ok(p.clone());
        }
        let p = self.build_provider(name)?;
        self.providers
            .lock()
            .expect("providers lock")
            .insert(name.to_string(), p.clone());
        Ok(p)
    }

    fn build_provider(&self, name: &str) -> Result<Arc<dyn Provider>> {
        let cfg = self.config();
        let acct = cfg.account(name)?;
        let secret = match (&acct.secret_env, acct.kind.secret_option()) {
            (_, None) => None,
            (Some(var), Some(_)) => Some(Secret::new(std::env::var(var).map_err(|_| {
                Error::new(
                    Code::AuthMissingSecret,
                    format!("account `{name}` reads its secret from ${var}, which is not set"),
                )
            })?)),
            (None, Some(_)) => Some(self.secrets.get(name)?.ok_or_else(|| {
                Error::new(
                    Code::AuthMissingSecret,
                    format!(
                        "the OS keychain has no secret for `{name}`; add the account again with --secret-stdin"
                    ),
                )
            })?),
        };
        providers::build(
            acct.kind,
            providers::Settings {
                account: name.to_string(),
                options: acct.options.clone(),
                secret,
                home: self.home.data_dir.clone(),
            },
        )
    }

    pub async fn account_test(&self, name: &str) -> Result<()> {
        let p = self.provider(name)?;
        p.test(&self.ctx(Progress::none())).await
    }

    /// Abort what Ferry started at this destination and no job owns any more (S3
    /// multipart uploads). Returns what was cleaned up.
    pub async fn account_cleanup(&self, name: &str) -> Result<Vec<String>> {
        let p = self.provider(name)?;
        let keep: Vec<serde_json::Value> = self
            .jobs
            .list(true)?
            .into_iter()
            .filter(|j| j.account == name)
            .filter_map(|j| self.jobs.resume_state(j.id).ok().flatten())
            .collect();
        p.cleanup(&keep, &self.ctx(Progress::none())).await
    }

    // ----- checking a file --------------------------------------------------------------

    /// Check a file against the destination and describe it; no network.
    pub fn prepare(&self, provider: &dyn Provider, path: &Path) -> Result<Upload> {
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
        })
    }

    // ----- the queue ----------------------------------------------------------------------

    /// Add files as jobs (written to the journal before anything else happens).
    pub fn enqueue_paths(
        &self,
        paths: &[PathBuf],
        account: &str,
        origin: &str,
        force: bool,
    ) -> Result<Vec<JobId>> {
        self.config().account(account)?;
        let jobs: Vec<NewJob> = paths
            .iter()
            .map(|p| {
                let abs = std::path::absolute(p).unwrap_or_else(|_| p.clone());
                NewJob {
                    account: account.to_string(),
                    source_kind: SourceKind::Path,
                    name: abs
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| abs.display().to_string()),
                    input: abs.display().to_string(),
                    origin: origin.to_string(),
                    force,
                }
            })
            .collect();
        self.add_jobs(&jobs)
    }

    /// Add URL imports as jobs. Each URL is checked first; a bad one gets its error in
    /// its place and no job.
    pub fn enqueue_urls(
        &self,
        urls: &[String],
        account: &str,
        origin: &str,
    ) -> Result<Vec<Result<JobId>>> {
        self.config().account(account)?;
        let mut out = Vec::with_capacity(urls.len());
        for u in urls {
            out.push(import::validate_url(u).and_then(|url| {
                let name = import::name_for(None, &url);
                self.add_jobs(&[NewJob {
                    account: account.to_string(),
                    source_kind: SourceKind::Url,
                    input: url.to_string(),
                    name,
                    origin: origin.to_string(),
                    force: false,
                }])
                .map(|ids| ids[0])
            }));
        }
        Ok(out)
    }

    fn add_jobs(&self, jobs: &[NewJob]) -> Result<Vec<JobId>> {
        let ids = self.jobs.insert(jobs)?;
        for id in &ids {
            if let Ok(job) = self.jobs.get(*id) {
                self.emit(Event::JobAdded { job });
            }
        }
        self.notify.notify_waiters();
        Ok(ids)
    }

    /// Run jobs until the run's end condition (see [`RunOptions`]).
    pub async fn run(self: &Arc<Self>, opts: RunOptions) -> Result<()> {
        runner::run(self, opts).await
    }

    /// Resume every unfinished job (after a crash, at start): jobs left mid-flight by a
    /// process that is gone go back to the queue with their resume state.
    pub fn reclaim(&self) -> Result<usize> {
        self.jobs.reclaim_orphans()
    }

    pub fn jobs(&self, active_only: bool) -> Result<Vec<Job>> {
        self.jobs.list(active_only)
    }

    pub fn job(&self, id: JobId) -> Result<Job> {
        self.jobs.get(id)
    }

    fn select(&self, sel: Selector) -> Result<Vec<Job>> {
        match sel {
            Selector::One(id) => Ok(vec![self.jobs.get(id)?]),
            Selector::All => self.jobs.list(true),
        }
    }

    fn changed(&self, id: JobId) {
        if let Ok(job) = self.jobs.get(id) {
            self.emit(Event::JobChanged { job });
        }
    }

    /// Stop a job where it is, keeping what was sent for a later resume.
    pub fn pause(&self, sel: Selector) -> Result<usize> {
        let mut n = 0;
        for job in self.select(sel)? {
            if self.stop_running(job.id, "pause") {
                n += 1;
            } else if job.status.is_running() {
                self.jobs.request(job.id, "pause")?;
                n += 1;
            } else if self.jobs.transition(
                job.id,
                &[JobStatus::Queued, JobStatus::WaitingRetry],
                JobStatus::Paused,
            )? {
                self.changed(job.id);
                n += 1;
            }
        }
        Ok(n)
    }

    pub fn resume(&self, sel: Selector) -> Result<usize> {
        let mut n = 0;
        for job in self.select(sel)? {
            if self
                .jobs
                .transition(job.id, &[JobStatus::Paused], JobStatus::Queued)?
            {
                self.changed(job.id);
                n += 1;
            }
        }
        self.notify.notify_waiters();
        Ok(n)
    }

    /// Send failed or cancelled jobs again.
    pub fn retry(&self, sel: Selector) -> Result<usize> {
        let jobs = match sel {
            Selector::One(id) => vec![self.jobs.get(id)?],
            Selector::All => self.jobs.list(false)?,
        };
        let mut n = 0;
        for job in jobs {
            if self.jobs.transition(
                job.id,
                &[JobStatus::Failed, JobStatus::Cancelled],
                JobStatus::Queued,
            )? {
                self.changed(job.id);
                n += 1;
            }
        }
        self.notify.notify_waiters();
        Ok(n)
    }

    /// Cancel: a running job stops at once; anything it started remotely is abandoned
    /// (S3 multipart aborted, FastPix session cancelled).
    pub async fn cancel(&self, sel: Selector) -> Result<usize> {
        let mut n = 0;
        for job in self.select(sel)? {
            if self.stop_running(job.id, "cancel") {
                n += 1;
            } else if job.status.is_running() {
                self.jobs.request(job.id, "cancel")?;
                n += 1;
            } else if self.jobs.transition(
                job.id,
                &[
                    JobStatus::Queued,
                    JobStatus::WaitingRetry,
                    JobStatus::Paused,
                    JobStatus::Failed,
                ],
                JobStatus::Cancelled,
            )? {
                self.abandon(job.id, &job.account, &self.ctx(Progress::none()))
                    .await;
                if let Ok(job) = self.jobs.get(job.id) {
                    self.emit(Event::JobCancelled { job });
                }
                n += 1;
            }
        }
        Ok(n)
    }

    fn stop_running(&self, id: JobId, why: &str) -> bool {
        let running = self.running.lock().expect("running lock");
        match running.get(&id) {
            Some(r) => {
                *r.stop.lock().expect("stop lock") = Some(why.to_string());
                r.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Give up a job's remote resume state, if it has one.
    pub(crate) async fn abandon(&self, id: JobId, account: &str, ctx: &Ctx) {
        let Ok(Some(state)) = self.jobs.resume_state(id) else {
            return;
        };
        // The job's own context may be cancelled; abandoning must still reach the server.
        let fresh = Ctx::new(ctx.http.clone());
        match self.provider(account) {
            Ok(p) => {
                if let Err(e) = p.abandon(&state, &fresh).await {
                    tracing::warn!("job {id}: could not clean up remotely: {}", e.message);
                }
            }
            Err(e) => tracing::warn!("job {id}: {}", e.message),
        }
        let _ = self.jobs.set_resume_state(id, None);
    }

    /// The work of one job. Returns what now exists remotely and whether it was already
    /// there (dedupe).
    pub(crate) async fn process_job(
        &self,
        job: &Job,
        ctx: &Ctx,
    ) -> Result<(Vec<RemoteMedia>, bool)> {
        let provider = self.provider(&job.account)?;
        ctx.progress.phase(Phase::Preparing);
        match job.source_kind {
            SourceKind::Path => self.process_path(job, provider.as_ref(), ctx).await,
            SourceKind::Url => self.process_url(job, provider.as_ref(), ctx).await,
        }
    }

    async fn process_path(
        &self,
        job: &Job,
        provider: &dyn Provider,
        ctx: &Ctx,
    ) -> Result<(Vec<RemoteMedia>, bool)> {
        let path = PathBuf::from(&job.input);
        let upload = self.prepare(provider, &path)?;
        let fp = upload.source.fingerprint().expect("a file source");
        let same_file = job.src_size == Some(upload.size) && job.src_mtime_ns == fp.mtime_ns();
        if !same_file {
            // What an interrupted attempt sent belongs to other bytes: start over.
            self.abandon(job.id, &job.account, ctx).await;
        }
        self.jobs.set_prepared(
            job.id,
            &upload.name,
            upload.size,
            fp.mtime_ns(),
            &upload.mime,
        )?;

        // Dedupe. Small files are hashed before sending (it costs little); a large one
        // only when something of its size is already at this account or on its way
        // there — otherwise its hash is computed while its bytes stream out.
        let key = (job.account.clone(), upload.size);
        let mut hash = job.content_hash.clone().filter(|_| same_file);
        let needs_hash = !job.force
            && (upload.size <= PREHASH_MAX
                || self.library.has_size(&job.account, upload.size)?
                || self.inflight_has(&key));
        if needs_hash && hash.is_none() {
            ctx.progress.phase(Phase::Hashing);
            let h = transfer::hash_file(&path, &ctx.cancel).await?;
            ctx.progress.phase(Phase::Preparing);
            self.jobs.set_hash(job.id, &h)?;
            hash = Some(h);
        }
        // Two identical files started together: the second waits for the first, then
        // finds it in the library.
        let _slot = self.inflight_slot(key, job.id, hash.clone(), ctx).await?;
        if let (false, Some(h)) = (job.force, &hash) {
            if let Some(item) = self.library.find_by_hash(&job.account, h)? {
                return Ok((vec![item.as_media()], true));
            }
        }
        let media = provider.upload(&upload, ctx).await?;
        let hash = match hash.or_else(|| upload.source.tapped_hash()) {
            Some(h) => h,
            None => transfer::hash_file(&path, &ctx.cancel).await?,
        };
        self.jobs.set_hash(job.id, &hash)?;
        self.record(job, provider.kind(), Some(&hash), &media)?;
        Ok((media, false))
    }

    async fn process_url(
        &self,
        job: &Job,
        provider: &dyn Provider,
        ctx: &Ctx,
    ) -> Result<(Vec<RemoteMedia>, bool)> {
        let url = import::validate_url(&job.input)?;
        let media = if provider.features().import_url {
            provider.import_url(&url, ctx).await?
        } else {
            let limits = provider.limits();
            let spill = self.home.data_dir.join("spool");
            // Cancellable: a source that stalls before its first 8 KiB would otherwise
            // hold a pause or cancel until it sent them.
            let (upload, _spilled) = ctx
                .cancellable(import::fetch(&self.http, &url, &spill, limits.max_bytes))
                .await?;
            media::check(
                provider.kind(),
                &limits,
                &upload.name,
                &upload.mime,
                upload.size,
            )?;
            self.jobs
                .set_prepared(job.id, &upload.name, upload.size, None, &upload.mime)?;
            provider.upload(&upload, ctx).await?
        };
        self.record(job, provider.kind(), None, &media)?;
        Ok((media, false))
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
                        engine: self,
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

    fn record(
        &self,
        job: &Job,
        kind: Kind,
        hash: Option<&str>,
        media: &[RemoteMedia],
    ) -> Result<()> {
        for m in media {
            self.library.record(
                m,
                &Provenance {
                    account: &job.account,
                    kind,
                    content_hash: hash,
                    job_id: Some(job.id),
                    source: Some(&job.input),
                },
            )?;
        }
        Ok(())
    }

    // ----- the library --------------------------------------------------------------------

    pub fn library(&self, filter: &Filter) -> Result<Vec<LibraryItem>> {
        if let Some(a) = &filter.account {
            self.config().account(a)?;
        }
        self.library.list(filter)
    }

    pub fn library_item(&self, id: i64) -> Result<LibraryItem> {
        self.library.get(id)?.ok_or_else(|| {
            Error::new(
                Code::InputInvalid,
                format!("there is no library item {id}; `ferry library` lists them"),
            )
        })
    }

    pub fn library_handle(&self) -> &Library {
        &self.library
    }

    /// Poll items still processing until each is ready or failed, or `timeout` passes;
    /// the library records each new status.
    pub async fn wait(
        &self,
        account: &str,
        media: Vec<RemoteMedia>,
        ctx: &Ctx,
        timeout: Duration,
    ) -> Result<Vec<RemoteMedia>> {
        let provider = self.provider(account)?;
        if !provider.features().refresh_status {
            return Ok(media);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut out = Vec::with_capacity(media.len());
        for m in media {
            let mut cur = m;
            let mut delay = Duration::from_millis(250);
            while cur.status == MediaStatus::Processing {
                if tokio::time::Instant::now() + delay > deadline {
                    return Err(Error::new(
                        Code::NetworkTimeout,
                        format!(
                            "{} was still processing after {}s",
                            cur.name,
                            timeout.as_secs()
                        ),
                    ));
                }
                tokio::select! {
                    _ = ctx.cancel.cancelled() => return Err(Error::cancelled()),
                    _ = tokio::time::sleep(delay) => {}
                }
                cur = provider.refresh(&cur, ctx).await?;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            self.update_item(account, provider.kind(), &cur)?;
            out.push(cur);
        }
        self.emit(Event::LibraryChanged);
        Ok(out)
    }

    fn update_item(&self, account: &str, kind: Kind, media: &RemoteMedia) -> Result<()> {
        self.library.record(
            media,
            &Provenance {
                account,
                kind,
                content_hash: None,
                job_id: None,
                source: None,
            },
        )?;
        Ok(())
    }

    /// Poll items still processing (FastPix, PostSyncer videos) and mark expired ones.
    /// Returns how many items changed. An account that fails does not stop the others'
    /// items; its error is returned after every item was tried.
    pub async fn library_refresh(&self, account: Option<&str>) -> Result<usize> {
        let mut changed = self.library.mark_expired()?;
        let items = self.library.list(&Filter {
            account: account.map(str::to_string),
            status: Some(ItemStatus::Processing),
            ..Filter::default()
        })?;
        let ctx = self.ctx(Progress::none());
        // One account that cannot answer (offline, key revoked) must not keep the others'
        // items from updating: carry on, and report its error once all were tried.
        let mut first_err = None;
        for item in items {
            let fresh = match self.provider(&item.account) {
                Ok(p) if !p.features().refresh_status => continue,
                Ok(p) => p.refresh(&item.as_media(), &ctx).await,
                Err(e) => Err(e),
            };
            match fresh {
                Ok(fresh) => {
                    if fresh.status != MediaStatus::Processing {
                        changed += 1;
                    }
                    self.update_item(&item.account, item.provider, &fresh)?;
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        // Hosts poll this while items process: a quiet pass must not make screens reload.
        if changed > 0 {
            self.emit(Event::LibraryChanged);
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(changed),
        }
    }

    /// Delete an item at its destination (where the API allows) and record that.
    pub async fn library_delete(&self, id: i64) -> Result<LibraryItem> {
        let item = self.library_item(id)?;
        let provider = self.provider(&item.account)?;
        if !provider.features().delete_remote {
            return Err(provider.unsupported("deleting remote media"));
        }
        provider
            .delete(&item.remote_id, &self.ctx(Progress::none()))
            .await?;
        self.library.set_status(id, ItemStatus::Deleted, None)?;
        self.emit(Event::LibraryChanged);
        self.library_item(id)
    }

    pub async fn list_remote(&self, account: &str) -> Result<Vec<RemoteMedia>> {
        let provider = self.provider(account)?;
        provider.list_remote(&self.ctx(Progress::none())).await
    }
}

struct InflightSlot<'a> {
    engine: &'a Engine,
    key: (String, u64),
    id: JobId,
}

impl Drop for InflightSlot<'_> {
    fn drop(&mut self) {
        let mut map = self.engine.inflight.lock().expect("inflight lock");
        if let Some(v) = map.get_mut(&self.key) {
            v.retain(|(id, _)| *id != self.id);
            if v.is_empty() {
                map.remove(&self.key);
            }
        }
    }
}

/// Expand inputs: folders become their files (recursively, sorted, hidden files
/// skipped); files stay as given.
pub fn expand_paths(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut found = Vec::new();
            let mut stack = vec![p.clone()];
            while let Some(dir) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for e in entries.flatten() {
                    if e.file_name().to_string_lossy().starts_with('.') {
                        continue;
                    }
                    match e.file_type() {
                        Ok(t) if t.is_dir() => stack.push(e.path()),
                        Ok(t) if t.is_file() => found.push(e.path()),
                        _ => {}
                    }
                }
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    out
}
