//! `Engine`: the facade the desktop shell and the CLI hold. It owns the config, the
//! secret store, the HTTP client and the records, and turns "this path / this URL to that
//! account" into a checked upload. It never prints and never names a UI type.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::config::{self, AccountConfig, Config, Home};
use crate::error::{Code, Error, Result};
use crate::import;
use crate::media;
use crate::providers::{self, Kind, MediaStatus, Provider, RemoteMedia, Upload};
use crate::records::{Record, Records};
use crate::secrets::{Keychain, Secret, SecretStore};
use crate::transfer::{self, Ctx, Phase, Progress, Source};

/// How an account gets its secret.
#[derive(Debug, Clone)]
pub enum SecretInput {
    None,
    Value(Secret),
    Env(String),
}

#[derive(Debug, Clone, Serialize)]
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
    records: Records,
}

impl Engine {
    /// The real engine: secrets in the OS keychain.
    pub fn open(home: Home) -> Result<Engine> {
        Engine::with_secret_store(home, Arc::new(Keychain::new()))
    }

    pub fn with_secret_store(home: Home, secrets: Arc<dyn SecretStore>) -> Result<Engine> {
        let config = Config::load(&home)?;
        let records = Records::new(home.data_dir.join("records.jsonl"));
        Ok(Engine {
            home,
            secrets,
            http: transfer::http_client(),
            config: Mutex::new(config),
            records,
        })
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    pub fn config(&self) -> Config {
        self.config.lock().expect("config lock").clone()
    }

    pub fn default_account(&self) -> String {
        self.config().settings.default_account
    }

    /// A fresh context for one transfer.
    pub fn ctx(&self, progress: Progress) -> Ctx {
        Ctx::new(self.http.clone()).with_progress(progress)
    }

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
        let needs_secret = kind.secret_option();
        let secret_env = match (&secret, needs_secret) {
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
                return Err(Error::new(
                    Code::ConfigInvalid,
                    format!("{kind} accounts take no secret"),
                ))
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
        Ok(())
    }

    /// Build the provider for an account, its secret fetched now.
    pub fn provider(&self, name: &str) -> Result<Arc<dyn Provider>> {
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

    /// Send one file to an account and record the result.
    pub async fn upload(&self, path: &Path, account: &str, ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        let provider = self.provider(account)?;
        ctx.progress.phase(Phase::Preparing);
        let upload = self.prepare(provider.as_ref(), path)?;
        let media = provider.upload(&upload, ctx).await?;
        let input = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        self.record(
            account,
            provider.kind(),
            &input.display().to_string(),
            &media,
        )?;
        Ok(media)
    }

    /// Import one URL: handed to the API where it has an import call, else fetched and
    /// forwarded.
    pub async fn import(&self, url: &str, account: &str, ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        let parsed = import::validate_url(url)?;
        let provider = self.provider(account)?;
        ctx.progress.phase(Phase::Preparing);
        let media = if provider.features().import_url {
            provider.import_url(&parsed, ctx).await?
        } else {
            let limits = provider.limits();
            let spill = self.home.data_dir.join("spool");
            let (upload, _spilled) =
                import::fetch(&self.http, &parsed, &spill, limits.max_bytes).await?;
            media::check(
                provider.kind(),
                &limits,
                &upload.name,
                &upload.mime,
                upload.size,
            )?;
            provider.upload(&upload, ctx).await?
        };
        self.record(account, provider.kind(), parsed.as_str(), &media)?;
        Ok(media)
    }

    /// Poll items still processing until each is ready or failed, or `timeout` passes.
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
            out.push(cur);
        }
        self.record(account, provider.kind(), "(status refresh)", &out)?;
        Ok(out)
    }

    pub async fn list_remote(&self, account: &str) -> Result<Vec<RemoteMedia>> {
        let provider = self.provider(account)?;
        provider.list_remote(&self.ctx(Progress::none())).await
    }

    /// What Ferry has sent, newest first; the latest status of each item wins.
    pub fn library(&self, account: Option<&str>) -> Result<Vec<Record>> {
        if let Some(a) = account {
            self.config().account(a)?;
        }
        let mut latest: Vec<Record> = Vec::new();
        for r in self.records.all()? {
            if account.is_some_and(|a| a != r.account) {
                continue;
            }
            match latest
                .iter_mut()
                .find(|x| x.account == r.account && x.media.id == r.media.id)
            {
                Some(x) => {
                    x.media.status = r.media.status;
                    if r.media.url.is_some() {
                        x.media.url = r.media.url.clone();
                    }
                }
                None => latest.push(r),
            }
        }
        latest.reverse();
        Ok(latest)
    }

    fn record(&self, account: &str, kind: Kind, input: &str, media: &[RemoteMedia]) -> Result<()> {
        let now = chrono::Utc::now();
        let recs: Vec<Record> = media
            .iter()
            .map(|m| Record {
                account: account.to_string(),
                kind,
                input: input.to_string(),
                media: m.clone(),
                sent_at: now,
            })
            .collect();
        self.records.append(&recs)
    }
}

/// Expand inputs: folders become their files (recursively, sorted, hidden files and
/// Ferry's own temp files skipped); files stay as given.
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
                    let name = e.file_name();
                    if name.to_string_lossy().starts_with('.') {
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
