//! Accounts: the config (read fresh when another process changed it, changed only by
//! read-modify-write under the config lock), the secret store, the one HTTP client, and
//! the providers built from accounts (one client and pool per account, not per job).
//!
//! Everything that needs "the provider for account X" or "the settings now" asks this.
//! It knows nothing of jobs, the library or watch rules beyond their place in the config.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::config::{self, AccountConfig, Config, ConfigStore, Home};
use crate::error::{Code, Error, Result};
use crate::providers::{self, Kind, Provider};
use crate::secrets::{Secret, SecretStore};
use crate::transfer::{self, Ctx, Progress};

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
    pub options: BTreeMap<String, String>,
    /// `keychain`, `env:VAR` or `none` — never the value.
    pub secret: String,
    pub default: bool,
}

/// A built provider with the account config it was built from.
type Built = (AccountConfig, Arc<dyn Provider>);

pub struct Accounts {
    home: Home,
    secrets: Arc<dyn SecretStore>,
    http: reqwest::Client,
    config: ConfigStore,
    /// Built providers by account, with the account config they were built from: a
    /// change made by another process rebuilds them.
    providers: Mutex<HashMap<String, Built>>,
}

impl Accounts {
    pub fn open(home: Home, secrets: Arc<dyn SecretStore>) -> Result<Accounts> {
        let config = ConfigStore::open(&home)?;
        Ok(Accounts {
            home,
            secrets,
            http: transfer::http_client(),
            config,
            providers: Mutex::new(HashMap::new()),
        })
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The config as it is on disk now (re-read when another process changed it).
    pub fn config(&self) -> Config {
        self.config.current()
    }

    /// Change the config: read it fresh under the lock, apply `f`, write it back. A
    /// change another process made meanwhile is kept, never reverted.
    pub fn modify<T>(&self, f: impl FnOnce(&mut Config) -> Result<T>) -> Result<T> {
        self.config.modify(f)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A fresh context for one transfer.
    pub fn ctx(&self, progress: Progress) -> Ctx {
        Ctx::new(self.http.clone()).with_progress(progress)
    }

    /// Every secret this home's accounts use that can be read now (keychain entries and
    /// environment variables), for the diagnostics archive to remove wherever it appears.
    /// Unreadable ones are skipped: they cannot leak through text Ferry reads either.
    pub fn known_secrets(&self) -> Vec<Secret> {
        let cfg = self.config();
        cfg.accounts
            .iter()
            .filter_map(|(name, a)| match (&a.secret_env, a.kind.secret_option()) {
                (Some(var), _) => std::env::var(var).ok().map(Secret::new),
                (None, Some(_)) => self.secrets.get(name).ok().flatten(),
                (None, None) => None,
            })
            .collect()
    }

    /// Whether the secret store answers (a read of an entry no account has).
    pub fn secrets_check(&self) -> Result<()> {
        self.secrets.get("ferry-diagnostics-probe").map(|_| ())
    }

    pub fn list(&self) -> Vec<AccountView> {
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

    pub fn add(
        &self,
        name: &str,
        kind: Kind,
        options: &[(String, String)],
        secret: SecretInput,
    ) -> Result<()> {
        config::validate_name(name)?;
        let options = config::validate_options(kind, options)?;
        if self.config().accounts.contains_key(name) {
            return Err(exists(name));
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
        self.modify(|cfg| {
            if cfg.accounts.contains_key(name) {
                return Err(exists(name));
            }
            cfg.accounts.insert(
                name.to_string(),
                AccountConfig {
                    kind,
                    options,
                    secret_env,
                },
            );
            Ok(())
        })?;
        self.forget_provider(name);
        Ok(())
    }

    pub fn remove(&self, name: &str) -> Result<()> {
        let acct = self.config().account(name)?.clone();
        if name == config::DEFAULT_ACCOUNT && acct.kind == Kind::Local {
            return Err(Error::new(
                Code::ConfigInvalid,
                "the built-in `library` account cannot be removed",
            ));
        }
        if acct.kind.secret_option().is_some() && acct.secret_env.is_none() {
            self.secrets.delete(name)?;
        }
        self.modify(|cfg| {
            cfg.accounts.remove(name);
            if cfg.settings.default_account == name {
                cfg.settings.default_account = config::DEFAULT_ACCOUNT.to_string();
            }
            Ok(())
        })?;
        self.forget_provider(name);
        Ok(())
    }

    fn forget_provider(&self, name: &str) {
        self.providers.lock().expect("providers lock").remove(name);
    }

    /// The provider for an account (built once per account config, its secret fetched
    /// then).
    pub fn provider(&self, name: &str) -> Result<Arc<dyn Provider>> {
        let cfg = self.config();
        let acct = cfg.account(name)?;
        if let Some((built_from, p)) = self.providers.lock().expect("providers lock").get(name) {
            if built_from == acct {
                return Ok(p.clone());
            }
        }
        let p = self.build_provider(name, acct)?;
        self.providers
            .lock()
            .expect("providers lock")
            .insert(name.to_string(), (acct.clone(), p.clone()));
        Ok(p)
    }

    fn build_provider(&self, name: &str, acct: &AccountConfig) -> Result<Arc<dyn Provider>> {
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
}

fn exists(name: &str) -> Error {
    Error::new(
        Code::ConfigAccountExists,
        format!("an account named `{name}` exists; remove it first (ferry account remove {name})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_changed_here_is_what_the_next_read_sees() {
        let dir = tempfile::tempdir().unwrap();
        let a = Accounts::open(
            Home::at(dir.path()),
            Arc::new(crate::secrets::MemoryStore::default()),
        )
        .unwrap();
        assert!(a.config().settings.copy_after_upload);
        a.modify(|c| {
            c.settings.copy_after_upload = false;
            Ok(())
        })
        .unwrap();
        assert!(!a.config().settings.copy_after_upload);
        // Another process's view of the same home.
        let b = Accounts::open(
            Home::at(dir.path()),
            Arc::new(crate::secrets::MemoryStore::default()),
        )
        .unwrap();
        assert!(!b.config().settings.copy_after_upload);
        b.modify(|c| {
            c.settings.concurrency = 3;
            Ok(())
        })
        .unwrap();
        assert_eq!(
            a.config().settings.concurrency,
            3,
            "a change elsewhere is seen"
        );
        assert!(!a.config().settings.copy_after_upload);
    }
}
