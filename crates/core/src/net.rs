//! The one proxy decision: what the `proxy` setting means, and the HTTP clients built
//! from it. Every request Ferry makes — provider APIs, S3 (through [`crate::providers::s3_http`]),
//! URL imports and background thumbnail fetches — goes through a client made here, so they
//! all take the same route.
//!
//! Modes: `system` (the default: the platform's proxy — `HTTPS_PROXY`/`HTTP_PROXY`/
//! `ALL_PROXY`/`NO_PROXY` on every OS, plus System Configuration on macOS and the
//! Internet Settings registry key on Windows, read by reqwest's `system-proxy` feature),
//! `none` (direct), or one proxy URL (`http://`, `https://`, `socks5://`, `socks5h://`)
//! that carries every request. A manual proxy's user lives in the config; its password
//! only in the OS keychain (entry [`PROXY_SECRET`]) or an environment variable named by
//! `proxy_password_env` — never in the URL, the config, a log or an error.
//!
//! Not here: which requests to make, retries, or the public-address guard of background
//! fetches (`public_net`), which this module only hands the right client builder.

use std::fmt;
use std::time::Duration;

use crate::error::{Code, Error, Result};
use crate::secrets::Secret;

/// The keychain entry of the proxy password. Account names cannot contain `@`, so no
/// account's secret can take its place.
pub const PROXY_SECRET: &str = "@proxy";

/// The `proxy` setting.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Proxy {
    /// The platform's proxy settings (environment variables; macOS System Configuration;
    /// the Windows registry).
    #[default]
    System,
    /// Direct connections, whatever the environment says.
    None,
    /// This proxy for every request. Never carries userinfo.
    Manual(url::Url),
}

const SCHEMES: &str = "http://, https://, socks5:// or socks5h://";

impl Proxy {
    /// Read the setting: `system`, `none`, or a proxy URL without credentials.
    pub fn parse(text: &str) -> Result<Proxy> {
        let text = text.trim();
        match text {
            "" | "system" => return Ok(Proxy::System),
            "none" | "direct" => return Ok(Proxy::None),
            _ => {}
        }
        let bad = |why: &str| {
            Error::new(
                Code::ConfigInvalid,
                format!("proxy `{text}` {why}; use `system`, `none` or {SCHEMES}host:port"),
            )
        };
        let url = url::Url::parse(text).map_err(|_| bad("is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
            return Err(bad("has a scheme Ferry cannot use"));
        }
        if !url.password().unwrap_or("").is_empty() {
            // Said without the URL: it holds the password (Error::new would redact it,
            // but the message must not even suggest it was kept).
            return Err(Error::new(
                Code::ConfigInvalid,
                "the proxy URL has a password in it; a proxy password goes in the OS keychain, \
                 never in the config: give the URL without it, the user as `proxy_user` \
                 (`--user`), and the password with `ferry settings set proxy URL --user NAME \
                 --password-stdin` or in Settings → Proxy",
            ));
        }
        if !url.username().is_empty() {
            return Err(Error::new(
                Code::ConfigInvalid,
                "the proxy URL has a user in it; give the URL without it and the user as \
                 `proxy_user` (`ferry settings set proxy URL --user NAME`)",
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("has no host"));
        }
        if url.path() != "/" && !url.path().is_empty() || url.query().is_some() {
            return Err(bad(
                "has a path or query, which a proxy address does not take",
            ));
        }
        Ok(Proxy::Manual(url))
    }

    /// Whether requests may go through a proxy: a manual one; the system's when the
    /// environment names one, and always on macOS and Windows, whose settings reqwest
    /// reads and this cannot see cheaply.
    pub fn may_proxy(&self) -> bool {
        match self {
            Proxy::None => false,
            Proxy::Manual(_) => true,
            Proxy::System => cfg!(any(target_os = "macos", windows)) || env_proxy_set(),
        }
    }
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proxy::System => f.write_str("system"),
            Proxy::None => f.write_str("none"),
            // `Url` adds a trailing `/` to `http://h:1`; the setting is written without.
            Proxy::Manual(u) => f.write_str(u.as_str().trim_end_matches('/')),
        }
    }
}

impl serde::Serialize for Proxy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Proxy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Proxy::parse(&text).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// The proxy settings as a person sees them: never the password, only where it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProxyView {
    /// `system`, `none` or the proxy URL.
    pub proxy: String,
    pub user: Option<String>,
    /// `keychain`, `env:VAR` or `none`.
    pub password: String,
}

/// What to do with the proxy password when the proxy settings change.
#[derive(Debug, Clone)]
pub enum PasswordInput {
    /// Leave it as it is (in the keychain, or the variable the config names).
    Keep,
    /// Remove it from the keychain and forget the variable.
    Clear,
    /// Keep this one in the keychain.
    Value(Secret),
    /// Read it from this environment variable at use time.
    Env(String),
}

/// Check a proxy user name: Basic auth and SOCKS5 cannot carry every character.
pub fn validate_user(user: &str) -> Result<()> {
    if user.len() > 255 || user.contains(':') || user.chars().any(char::is_control) {
        return Err(Error::new(
            Code::ConfigInvalid,
            "the proxy user must be at most 255 characters, without `:` or control characters",
        ));
    }
    Ok(())
}

/// Everything the clients are built from: the setting, the user and the password (read
/// from the keychain or the environment by the caller).
#[derive(Clone, Default)]
pub struct Choice {
    pub proxy: Proxy,
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// Why the password could not be read, told with a proxy error.
    pub problem: Option<String>,
}

/// The clients of one proxy decision. Cheap to clone (reqwest clients are handles).
#[derive(Clone)]
pub struct Net {
    /// Provider APIs, uploads, S3, URL imports.
    pub http: reqwest::Client,
    /// Requests with a secret in an API's own header (see `transfer::same_origin_client`).
    pub same_origin: reqwest::Client,
    /// Background fetches of links nobody pasted (see `public_net`).
    pub background: crate::public_net::Background,
    /// What errors name: `the proxy socks5://127.0.0.1:1080`, `the system proxy`.
    via: Option<String>,
    problem: Option<String>,
}

impl Net {
    /// Direct clients with no proxy at all (tests and embedders that want no routing).
    pub fn direct() -> Net {
        Net::build(&Choice {
            proxy: Proxy::None,
            ..Choice::default()
        })
    }

    pub fn build(choice: &Choice) -> Net {
        // No overall timeout (a 4 GiB body takes as long as it takes), but bounded
        // connect and read waits.
        let base = || {
            let b = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(15))
                .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")));
            route(b, choice)
        };
        let http = base()
            .read_timeout(Duration::from_secs(300))
            .build()
            .expect("the HTTP client's fixed configuration is valid");
        let same_origin = base()
            .read_timeout(Duration::from_secs(300))
            .redirect(crate::transfer::same_origin_policy())
            .build()
            .expect("the HTTP client's fixed configuration is valid");
        let background = crate::public_net::Background::build(base(), choice.proxy.may_proxy());
        let via = match &choice.proxy {
            // Named only when the environment sets one: on macOS and Windows the
            // settings app may set one Ferry cannot see cheaply, and an error must not
            // blame a proxy that may not exist.
            Proxy::System if env_proxy_set() => Some("the system proxy".to_string()),
            Proxy::System => None,
            Proxy::None => None,
            Proxy::Manual(u) => Some(format!(
                "the proxy {}",
                crate::redact::url(u.as_str().trim_end_matches('/'))
            )),
        };
        Net {
            http,
            same_origin,
            background,
            via,
            problem: choice.problem.clone(),
        }
    }

    /// Add the route to a network error, so a wrong proxy is named where the failure is
    /// shown (the job's error, `account test`). Other errors pass unchanged.
    pub fn explain(&self, err: Error) -> Error {
        let network = matches!(
            err.code,
            Code::NetworkConnect | Code::NetworkReset | Code::NetworkTimeout
        );
        match (&self.via, network) {
            (Some(via), true) => {
                let mut msg = format!("{} — connecting through {via}", err.message);
                if via.starts_with("the proxy ") {
                    msg.push_str(" (check the proxy in Settings, or `ferry settings set proxy`)");
                }
                if let Some(p) = &self.problem {
                    msg.push_str(&format!("; {p}"));
                }
                Error {
                    message: msg,
                    ..err
                }
            }
            _ => err,
        }
    }
}

/// Whether a proxy variable reqwest reads is set in this process's environment.
fn env_proxy_set() -> bool {
    [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

/// Apply the decision to one client builder.
fn route(b: reqwest::ClientBuilder, choice: &Choice) -> reqwest::ClientBuilder {
    match &choice.proxy {
        // reqwest's default: the environment, and with `system-proxy` the macOS and
        // Windows settings.
        Proxy::System => b,
        Proxy::None => b.no_proxy(),
        Proxy::Manual(url) => {
            let mut url = url.clone();
            let user = choice.user.as_deref().filter(|u| !u.is_empty());
            let pass = choice.password.as_ref().map(Secret::expose).unwrap_or("");
            let socks = url.scheme().starts_with("socks");
            if socks {
                // reqwest takes SOCKS credentials from the URL only. This URL lives in
                // memory, inside the client; it is never printed.
                if let Some(user) = user {
                    let _ = url.set_username(user);
                    let _ = url.set_password(Some(pass));
                }
            }
            let mut p = reqwest::Proxy::all(url.as_str())
                .expect("a proxy URL Proxy::parse took is one reqwest takes");
            if !socks {
                if let Some(user) = user {
                    p = p.basic_auth(user, pass);
                }
            }
            b.proxy(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_reads_modes_and_proxy_urls() {
        assert_eq!(Proxy::parse("system").unwrap(), Proxy::System);
        assert_eq!(Proxy::parse("").unwrap(), Proxy::System);
        assert_eq!(Proxy::parse("none").unwrap(), Proxy::None);
        for u in [
            "http://127.0.0.1:3128",
            "https://proxy.example:8443",
            "socks5://127.0.0.1:1080",
            "socks5h://proxy.example:1080",
        ] {
            let p = Proxy::parse(u).unwrap();
            assert_eq!(p.to_string(), u);
            // Every URL the setting takes, reqwest takes, with and without credentials.
            for user in [None, Some("alice".to_string())] {
                Net::build(&Choice {
                    proxy: p.clone(),
                    user,
                    password: Some(Secret::new("pw")),
                    problem: None,
                });
            }
        }
    }

    #[test]
    fn a_proxy_url_with_a_password_is_refused_saying_where_the_password_goes() {
        let e = Proxy::parse("socks5://alice:hunter2@127.0.0.1:1080").unwrap_err();
        assert_eq!(e.code, Code::ConfigInvalid);
        assert!(e.message.contains("keychain"), "{}", e.message);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        let e = Proxy::parse("http://alice@127.0.0.1:3128").unwrap_err();
        assert!(e.message.contains("proxy_user"), "{}", e.message);
        for bad in ["ftp://h:1", "127.0.0.1:1080", "http://h:1/path", "http://"] {
            let e = Proxy::parse(bad).unwrap_err();
            assert!(e.message.contains("socks5://"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn network_errors_name_the_proxy_and_others_pass_unchanged() {
        let net = Net::build(&Choice {
            proxy: Proxy::parse("socks5://127.0.0.1:9").unwrap(),
            ..Choice::default()
        });
        let e = net.explain(Error::new(Code::NetworkConnect, "could not connect"));
        assert!(e.message.contains("socks5://127.0.0.1:9"), "{}", e.message);
        let e = net.explain(Error::new(Code::AuthInvalid, "bad key"));
        assert_eq!(e.message, "bad key");
        let e = Net::direct().explain(Error::new(Code::NetworkConnect, "could not connect"));
        assert_eq!(e.message, "could not connect");
    }
}
