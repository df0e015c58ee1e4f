//! `Engine`: the facade the desktop shell and the CLI hold — a thin layer over the
//! accounts (config, keychain, providers), the queue (jobs, their execution, the home
//! lock), the library and the watch rules. It never prints and never names a UI type:
//! hosts subscribe to [`Event`]s.
//!
//! No module of the engine uses this one: they hold the part they need (`Accounts`,
//! `Queue`, `Watch`). What lives here is only what spans parts: the library calls that
//! ask a provider (refresh, delete, wait).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::accounts::Accounts;
pub use crate::accounts::{AccountView, SecretInput};
use crate::config::{self, Config, Home};
use crate::db::Db;
use crate::error::{Code, Error, Result};
use crate::library::{Filter, ItemStatus, Library, LibraryItem, Provenance};
use crate::providers::{Kind, MediaStatus, Provider, RemoteMedia, Upload};
use crate::queue::lock::Holder;
use crate::queue::owner::Taken;
use crate::queue::runner::{self, RunOptions};
use crate::queue::{Event, Job, JobId, Queue, Selector};
use crate::secrets::{Keychain, SecretStore};
use crate::transfer::{Ctx, Progress};
use crate::watch::Watch;

pub struct Engine {
    accounts: Arc<Accounts>,
    queue: Arc<Queue>,
    library: Library,
    watch: Arc<Watch>,
    db: Arc<Db>,
}

impl Engine {
    /// The real engine: secrets in the OS keychain.
    pub fn open(home: Home) -> Result<Engine> {
        Engine::with_secret_store(home, Arc::new(Keychain::new()))
    }

    pub fn with_secret_store(home: Home, secrets: Arc<dyn SecretStore>) -> Result<Engine> {
        let db = Arc::new(Db::open(&home.data_dir.join("ferry.db"))?);
        let accounts = Arc::new(Accounts::open(home, secrets)?);
        let queue = Arc::new(Queue::new(accounts.clone(), db.clone()));
        let watch = Arc::new(Watch::new(queue.clone(), db.clone()));
        Ok(Engine {
            library: Library::new(db.clone()),
            db,
            accounts,
            queue,
            watch,
        })
    }

    /// Write the diagnostics archive (see [`crate::diagnostics`]) to `out`.
    pub fn diagnostics(&self, out: &Path) -> Result<crate::diagnostics::Report> {
        crate::diagnostics::write(self, out)
    }

    /// See [`Accounts::known_secrets`].
    pub fn known_secrets(&self) -> Vec<crate::secrets::Secret> {
        self.accounts.known_secrets()
    }

    /// Whether the keychain (or the secret store in use) answers.
    pub fn keychain_check(&self) -> Result<()> {
        self.accounts.secrets_check()
    }

    /// SQLite's `PRAGMA quick_check` of the records: `ok`, or what is damaged.
    pub fn db_check(&self) -> Result<String> {
        self.db.quick_check()
    }

    pub fn home(&self) -> &Home {
        self.accounts.home()
    }

    /// How long database statements wait for another process's lock (tests, diagnostics).
    #[doc(hidden)]
    pub fn set_db_busy_timeout(&self, t: Duration) -> Result<()> {
        self.db.set_busy_timeout(t)
    }

    /// Write transactions this process committed to the database so far (tests and
    /// benchmarks: the journal's cost per job).
    #[doc(hidden)]
    pub fn db_commits(&self) -> u64 {
        self.db.commits()
    }

    /// The config as it is now (another process's changes included).
    pub fn config(&self) -> Config {
        self.accounts.config()
    }

    /// Change settings and save them (read-modify-write: nothing another process
    /// changed meanwhile is lost).
    pub fn update_settings(&self, f: impl FnOnce(&mut config::Settings)) -> Result<()> {
        self.accounts.modify(|cfg| {
            f(&mut cfg.settings);
            cfg.settings.check()
        })?;
        // A new limit holds now, not at the runner's next turn.
        self.queue.bandwidth.refresh(&self.config());
        Ok(())
    }

    /// Hold all of Ferry to this limit in this process, whatever the settings say
    /// (`--bwlimit` on `ferry upload`, `import`, `queue run`, `watch run`).
    pub fn force_bwlimit(&self, text: &str) -> Result<()> {
        let schedule = crate::transfer::bwlimit::Schedule::parse("--bwlimit", text)?;
        self.queue.bandwidth.force(Some(schedule));
        self.queue.bandwidth.refresh(&self.config());
        Ok(())
    }

    /// All of Ferry's bandwidth limit now: the rate, and whether and until when the
    /// queue waits for it.
    pub fn bandwidth(&self) -> crate::queue::bandwidth::BandwidthNow {
        self.queue.bandwidth.now(&self.config())
    }

    /// The proxy settings (see [`crate::net`]): never the password, only where it is.
    pub fn proxy(&self) -> crate::net::ProxyView {
        self.accounts.proxy_view()
    }

    /// Change the proxy settings; the next request uses them (see [`Accounts::proxy_set`]).
    pub fn proxy_set(
        &self,
        proxy: &str,
        user: Option<&str>,
        password: crate::net::PasswordInput,
    ) -> Result<crate::net::ProxyView> {
        self.accounts.proxy_set(proxy, user, password)
    }

    pub fn default_account(&self) -> String {
        self.config().settings.default_account
    }

    /// Everything the engine reports, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.queue.subscribe()
    }

    /// An account's current concurrency limit (lowered after 429/503, raised after
    /// successes).
    pub fn account_concurrency(&self, account: &str) -> usize {
        self.queue.aimd.limit(account)
    }

    /// A fresh context for one transfer.
    pub fn ctx(&self, progress: Progress) -> Ctx {
        self.accounts.ctx(progress)
    }

    // ----- accounts -------------------------------------------------------------------

    pub fn accounts(&self) -> Vec<AccountView> {
        self.accounts.list()
    }

    pub fn account_add(
        &self,
        name: &str,
        kind: Kind,
        options: &[(String, String)],
        secret: SecretInput,
    ) -> Result<()> {
        self.accounts.add(name, kind, options, secret)
    }

    /// What a `name_template` makes of a sample file for an account of `kind` named
    /// `account` (the account form's preview), or why the template is refused.
    pub fn name_preview(&self, kind: Kind, template: &str, account: &str) -> Result<String> {
        crate::naming::preview(template, kind, account)
    }

    pub fn account_remove(&self, name: &str) -> Result<()> {
        self.accounts.remove(name)
    }

    /// The provider for an account (built once, its secret fetched then).
    pub fn provider(&self, name: &str) -> Result<Arc<dyn Provider>> {
        self.accounts.provider(name)
    }

    pub async fn account_test(&self, name: &str) -> Result<()> {
        let p = self.provider(name)?;
        p.test(&self.ctx(Progress::none()))
            .await
            .map_err(|e| self.accounts.net().explain(e))
    }

    /// Abort what Ferry started at this destination and no job owns any more (S3
    /// multipart uploads). Returns what was cleaned up.
    pub async fn account_cleanup(&self, name: &str) -> Result<Vec<String>> {
        let p = self.provider(name)?;
        let keep: Vec<serde_json::Value> = self
            .queue
            .jobs(true)?
            .into_iter()
            .filter(|j| j.account == name)
            .filter_map(|j| self.queue.jobs.resume_state(j.id).ok().flatten())
            .collect();
        p.cleanup(&keep, &self.ctx(Progress::none())).await
    }

    /// Check a file against the destination and describe it; no network.
    pub fn prepare(&self, provider: &dyn Provider, path: &Path) -> Result<Upload> {
        crate::queue::exec::prepare(provider, path)
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
        self.queue.enqueue_paths(paths, account, origin, force)
    }

    /// Files to several destinations at once: one job per file and destination
    /// (`Queue::enqueue_paths_to`), ids file by file, destination by destination.
    pub fn enqueue_paths_to(
        &self,
        paths: &[PathBuf],
        accounts: &[String],
        origin: &str,
        force: bool,
    ) -> Result<Vec<JobId>> {
        self.queue.enqueue_paths_to(paths, accounts, origin, force)
    }

    /// Add a drop or pick that may be huge: folders walked as a stream for their media
    /// files, jobs written in batches, at most `cap`, until [`Engine::stop_adding`] (see
    /// `queue::expand`).
    pub fn enqueue_tree(
        &self,
        inputs: &[PathBuf],
        account: &str,
        origin: &str,
        cap: usize,
    ) -> Result<(Vec<JobId>, crate::queue::expand::Added)> {
        self.queue
            .enqueue_tree(inputs, &[account.to_string()], origin, false, cap)
    }

    /// Like [`Engine::enqueue_tree`], to several destinations: a job per file and
    /// destination, a file's jobs side by side; the cap counts files.
    pub fn enqueue_tree_to(
        &self,
        inputs: &[PathBuf],
        accounts: &[String],
        origin: &str,
        cap: usize,
    ) -> Result<(Vec<JobId>, crate::queue::expand::Added)> {
        self.queue
            .enqueue_tree(inputs, accounts, origin, false, cap)
    }

    /// Stop every addition in progress; what they queued stays queued.
    pub fn stop_adding(&self) {
        self.queue.stop_adding()
    }

    /// Add URL imports as jobs. Each URL is checked first; a bad one gets its error in
    /// its place and no job.
    pub fn enqueue_urls(
        &self,
        urls: &[String],
        account: &str,
        origin: &str,
    ) -> Result<Vec<Result<JobId>>> {
        self.queue.enqueue_urls(urls, account, origin)
    }

    /// Become the one process that runs this home's queue and watch rules, unless
    /// another process does (see [`Taken`]). Jobs a dead owner left mid-flight are put
    /// back to run again.
    pub fn take_home(&self, program: &str) -> Result<Taken> {
        self.queue.take_home(program)
    }

    /// Stop being the home's runner (nothing may be running here).
    pub fn release_home(&self) {
        self.queue.release_home()
    }

    pub fn owns_home(&self) -> bool {
        self.queue.owns_home()
    }

    /// Who runs this home's queue now (this process included), if anyone.
    pub fn runner(&self) -> Option<Holder> {
        self.queue.runner()
    }

    /// Ask the D-Bus system bus at `address` (NetworkManager, UPower, logind) instead of
    /// the machine's; `None` goes back to it. Linux only; elsewhere nothing asks D-Bus.
    /// For tests and sandboxes with stand-in services on a private bus.
    pub fn use_system_bus(&self, address: Option<String>) {
        self.queue.bus.use_address(address)
    }

    /// Run jobs until the run's end condition (see [`RunOptions`]). Only the home's
    /// owner runs jobs: take the home first.
    pub async fn run(&self, opts: RunOptions) -> Result<()> {
        runner::run(&self.queue, opts).await
    }

    pub fn jobs(&self, active_only: bool) -> Result<Vec<Job>> {
        self.queue.jobs(active_only)
    }

    /// Whether any job is queued, being sent or waiting for a retry. Cheap at any queue
    /// size (the desktop asks twice a second while a batch is open).
    pub fn queue_busy(&self) -> Result<bool> {
        self.queue.any_sending()
    }

    /// One page of the queue (open jobs, then finished ones, newest first) with the
    /// counts of all of it; `limit` 0 gives the counts alone.
    pub fn jobs_page(
        &self,
        limit: usize,
        cursor: Option<crate::queue::JobCursor>,
    ) -> Result<crate::queue::JobPage> {
        self.queue.page(limit, cursor)
    }

    pub fn job(&self, id: JobId) -> Result<Job> {
        self.queue.job(id)
    }

    /// A watch job's after-upload action: `pending`, `done: …` or `kept: <why>`; `None`
    /// for jobs without one.
    pub fn after_state(&self, id: JobId) -> Result<Option<String>> {
        self.queue.jobs.after_state(id)
    }

    /// Stop a job where it is, keeping what was sent for a later resume.
    pub fn pause(&self, sel: Selector) -> Result<usize> {
        self.queue.pause(sel)
    }

    pub fn resume(&self, sel: Selector) -> Result<usize> {
        self.queue.resume(sel)
    }

    /// Send failed or cancelled jobs again.
    pub fn retry(&self, sel: Selector) -> Result<usize> {
        self.queue.retry(sel)
    }

    /// Make these jobs the next to start, the first given first (see
    /// [`crate::queue::Queue::move_to_top`]).
    pub fn move_to_top(&self, ids: &[JobId]) -> Result<usize> {
        self.queue.move_to_top(ids)
    }

    /// The order waiting jobs start in (the `queue_order` setting).
    pub fn queue_order(&self) -> crate::queue::QueueOrder {
        self.config().settings.queue_order
    }

    /// Change the order waiting jobs start in; a running queue (here or in the process
    /// that runs this home) picks its next job by it.
    pub fn set_queue_order(&self, order: crate::queue::QueueOrder) -> Result<()> {
        self.update_settings(|s| s.queue_order = order)?;
        self.queue.notify.notify_waiters();
        Ok(())
    }

    /// Cancel: a running job stops at once; anything it started remotely is abandoned
    /// (S3 multipart aborted, FastPix session cancelled).
    pub async fn cancel(&self, sel: Selector) -> Result<usize> {
        self.queue.cancel(sel).await
    }

    // ----- watch rules ----------------------------------------------------------------------

    /// Add a rule (see [`Watch::add`]).
    pub fn watch_add(&self, new: crate::watch::NewRule) -> Result<crate::watch::Rule> {
        self.watch.add(new)
    }

    pub fn watch_rules(&self) -> Vec<crate::watch::Rule> {
        self.watch.rules()
    }

    pub fn watch_list(&self) -> Result<Vec<crate::watch::RuleView>> {
        self.watch.list()
    }

    pub fn watch_pause(&self, id: &str) -> Result<crate::watch::Rule> {
        self.watch.pause(id)
    }

    pub fn watch_resume(&self, id: &str) -> Result<crate::watch::Rule> {
        self.watch.resume(id)
    }

    pub fn watch_remove(&self, id: &str) -> Result<()> {
        self.watch.remove(id)
    }

    /// Run every active watch rule, their after-upload actions and the queue until
    /// `stop` (this process must own the home).
    pub async fn watch_run(&self, stop: tokio_util::sync::CancellationToken) -> Result<()> {
        self.watch.run(stop).await
    }

    #[doc(hidden)]
    pub fn watch_drop_events(&self, id: &str, drop: bool) {
        self.watch.drop_events(id, drop)
    }

    #[doc(hidden)]
    pub fn watch_force_polling(&self, on: bool) {
        self.watch.force_polling(on)
    }

    pub fn watch_inject(&self, id: &str, res: notify::Result<notify::Event>) -> bool {
        self.watch.inject(id, res)
    }

    // ----- the library --------------------------------------------------------------------

    pub fn library(&self, filter: &Filter) -> Result<Vec<LibraryItem>> {
        if let Some(a) = &filter.account {
            self.config().account(a)?;
        }
        self.library.list(filter)
    }

    /// One page of the library (see [`Library::page`]).
    pub fn library_page(&self, filter: &Filter) -> Result<crate::library::LibraryPage> {
        if let Some(a) = &filter.account {
            self.config().account(a)?;
        }
        self.library.page(filter)
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

    /// A thumbnail for an item with no file here, fetched once from its public link
    /// ([`crate::thumbs::fetch_remote`]).
    pub async fn fetch_thumbnail(&self, item: &LibraryItem, cache: &Path) -> Result<PathBuf> {
        let net = self.accounts.net();
        crate::thumbs::fetch_remote(&self.library, item, cache, &net.background)
            .await
            .map_err(|e| net.explain(e))
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
        self.queue.emit(Event::LibraryChanged);
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
            self.queue.emit(Event::LibraryChanged);
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
        self.queue.emit(Event::LibraryChanged);
        self.library_item(id)
    }

    pub async fn list_remote(&self, account: &str) -> Result<Vec<RemoteMedia>> {
        let provider = self.provider(account)?;
        provider.list_remote(&self.ctx(Progress::none())).await
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
