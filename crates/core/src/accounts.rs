//! Accounts: the config (read fresh when another process changed it, changed only by
//! read-modify-write under the config lock), the secret store, the HTTP clients of the
//! current proxy setting (rebuilt when it changes), and the providers built from
//! accounts (one client and pool per account, not per job).
//!
//! Everything that needs "the provider for account X" or "the settings now" asks this.
//! It knows nothing of jobs, the library or watch rules beyond their place in the config.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::config::{self, AccountConfig, Config, ConfigStore, Home};
use crate::error::{Code, Error, Result};
use crate::net::{self, Net};
use crate::providers::{self, Kind, Provider};
use crate::secrets::{Secret, SecretStore};
use crate::transfer::{Ctx, Progress};

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

/// A built provider with the account config and the network generation it was built
/// from.
type Built = (AccountConfig, u64, Arc<dyn Provider>);

/// What the clients were built from: the proxy settings (the password is read when
/// building, and a change through [`Accounts::set_proxy_password`] forgets the clients).
#[derive(Clone, PartialEq)]
struct NetKey {
    proxy: net::Proxy,
    user: Option<String>,
    password_env: Option<String>,
}

impl NetKey {
    fn of(s: &config::Settings) -> NetKey {
        NetKey {
            proxy: s.proxy.clone(),
            user: s.proxy_user.clone(),
            password_env: s.proxy_password_env.clone(),
        }
    }
}

/// The clients of the current proxy setting and their generation (providers built
/// with an older one are rebuilt).
struct NetBuilt {
    key: NetKey,
    generation: u64,
    net: Net,
}

pub struct Accounts {
    home: Home,
    secrets: Arc<dyn SecretStore>,
    net: Mutex<Option<NetBuilt>>,
    generation: std::sync::atomic::AtomicU64,
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
            net: Mutex::new(None),
            generation: std::sync::atomic::AtomicU64::new(0),
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

    /// The main HTTP client of the current proxy setting.
    pub fn http(&self) -> reqwest::Client {
        self.net().http
    }

    /// The clients of the proxy setting as it is now: built again when the setting
    /// changed (here or in another process's config write) or the password was set, so
    /// a change applies to the next request without a restart.
    pub fn net(&self) -> Net {
        self.net_built().1
    }

    fn net_built(&self) -> (u64, Net) {
        let key = NetKey::of(&self.config().settings);
        let mut cached = self.net.lock().expect("net lock");
        if let Some(b) = cached.as_ref().filter(|b| b.key == key) {
            return (b.generation, b.net.clone());
        }
        let (password, problem) = match self.proxy_password(&key) {
            Ok(p) => (p, None),
            Err(e) => (None, Some(e.message)),
        };
        let net = Net::build(&net::Choice {
            proxy: key.proxy.clone(),
            user: key.user.clone(),
            password,
            problem,
        });
        let generation = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        *cached = Some(NetBuilt {
            key,
            generation,
            net: net.clone(),
        });
        (generation, net)
    }

    /// The manual proxy's password, if it has a user: from the variable the config
    /// names, else the keychain.
    fn proxy_password(&self, key: &NetKey) -> Result<Option<Secret>> {
        if !matches!(key.proxy, net::Proxy::Manual(_)) || key.user.is_none() {
            return Ok(None);
        }
        match &key.password_env {
            Some(var) => std::env::var(var)
                .map(|v| Some(Secret::new(v)))
                .map_err(|_| {
                    Error::new(
                        Code::AuthMissingSecret,
                        format!("the proxy password is read from ${var}, which is not set"),
                    )
                }),
            None => self.secrets.get(net::PROXY_SECRET),
        }
    }

    /// Keep the manual proxy's password in the keychain (`None` removes it). The next
    /// request uses it.
    pub fn set_proxy_password(&self, password: Option<&Secret>) -> Result<()> {
        match password {
            Some(p) if p.expose().is_empty() => {
                return Err(Error::new(
                    Code::AuthMissingSecret,
                    "the proxy password given is empty",
                ))
            }
            Some(p) => self.secrets.set(net::PROXY_SECRET, p)?,
            None => self.secrets.delete(net::PROXY_SECRET)?,
        }
        *self.net.lock().expect("net lock") = None;
        Ok(())
    }

    /// The proxy settings, with where the password is (never the value).
    pub fn proxy_view(&self) -> net::ProxyView {
        let s = self.config().settings;
        let password = match (&s.proxy_password_env, &s.proxy) {
            (Some(var), _) => format!("env:{var}"),
            // A keychain that cannot be read shows as no password; using the proxy says why.
            (None, net::Proxy::Manual(_))
                if self.secrets.get(net::PROXY_SECRET).ok().flatten().is_some() =>
            {
                "keychain".to_string()
            }
            _ => "none".to_string(),
        };
        net::ProxyView {
            proxy: s.proxy.to_string(),
            user: s.proxy_user.clone(),
            password,
        }
    }

    /// Change the proxy settings: `proxy` is `system`, `none` or a proxy URL without
    /// credentials; the password goes to the keychain (or names a variable), never the
    /// config. Applies to the next request.
    pub fn proxy_set(
        &self,
        proxy: &str,
        user: Option<&str>,
        password: net::PasswordInput,
    ) -> Result<net::ProxyView> {
        let proxy = net::Proxy::parse(proxy)?;
        let user = user.map(str::trim).filter(|u| !u.is_empty());
        if let Some(u) = user {
            net::validate_user(u)?;
            if !matches!(proxy, net::Proxy::Manual(_)) {
                return Err(Error::new(
                    Code::ConfigInvalid,
                    format!("a proxy user goes with a proxy URL, not with `{proxy}`"),
                ));
            }
        }
        let gives_password = matches!(
            password,
            net::PasswordInput::Value(_) | net::PasswordInput::Env(_)
        );
        if gives_password && user.is_none() {
            return Err(Error::new(
                Code::ConfigInvalid,
                "a proxy password needs a proxy user: give the user too (--user NAME)",
            ));
        }
        // Keychain first: if it is unavailable, the config is left as it was.
        match &password {
            net::PasswordInput::Value(p) => self.set_proxy_password(Some(p))?,
            net::PasswordInput::Clear => self.set_proxy_password(None)?,
            net::PasswordInput::Keep | net::PasswordInput::Env(_) => {}
        }
        self.modify(|cfg| {
            let s = &mut cfg.settings;
            s.proxy = proxy;
            s.proxy_user = user.map(str::to_string);
            match &password {
                net::PasswordInput::Keep => {}
                net::PasswordInput::Env(var) => s.proxy_password_env = Some(var.clone()),
                net::PasswordInput::Value(_) | net::PasswordInput::Clear => {
                    s.proxy_password_env = None
                }
            }
            Ok(())
        })?;
        Ok(self.proxy_view())
    }

    /// A fresh context for one transfer.
    pub fn ctx(&self, progress: Progress) -> Ctx {
        Ctx::new(self.http()).with_progress(progress)
    }

    /// Every secret this home's accounts use that can be read now (keychain entries and
    /// environment variables), for the diagnostics archive to remove wherever it appears.
    /// Unreadable ones are skipped: they cannot leak through text Ferry reads either.
    pub fn known_secrets(&self) -> Vec<Secret> {
        let cfg = self.config();
        let proxy = self
            .proxy_password(&NetKey::of(&cfg.settings))
            .ok()
            .flatten();
        cfg.accounts
            .iter()
            .filter_map(|(name, a)| match (&a.secret_env, a.kind.secret_option()) {
                (Some(var), _) => std::env::var(var).ok().map(Secret::new),
                (None, Some(_)) => self.secrets.get(name).ok().flatten(),
                (None, None) => None,
            })
            .chain(proxy)
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
        let (generation, net) = self.net_built();
        if let Some((built_from, built_gen, p)) =
            self.providers.lock().expect("providers lock").get(name)
        {
            if built_from == acct && *built_gen == generation {
                return Ok(p.clone());
            }
        }
        let p = self.build_provider(name, acct, net)?;
        self.providers
            .lock()
            .expect("providers lock")
            .insert(name.to_string(), (acct.clone(), generation, p.clone()));
        Ok(p)
    }

    fn build_provider(
        &self,
        name: &str,
        acct: &AccountConfig,
        net: Net,
    ) -> Result<Arc<dyn Provider>> {
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
                net,
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
