//! An HTTP client for fetches nobody asked for by hand (a thumbnail from an item's link)
//! that reaches only public internet addresses: never loopback, link-local (cloud
//! metadata at 169.254.169.254), private, shared or otherwise reserved ones.
//!
//! A link a provider returned is not the person's choice, so fetching it in the background
//! must not become a way into this machine or its network. Every address a host name
//! resolves to is checked, and the connection is made only to those checked addresses
//! (the resolver hands reqwest nothing else), so a DNS answer that changes between a check
//! and the connect (rebinding) cannot slip past. IP literals skip DNS and are checked by
//! [`check_url`], on the first request and on every redirect.
//!
//! Through a proxy (the `proxy` setting, see `net`) the proxy connects, not Ferry, so the
//! guard moves in front of it: before each request and each redirect hop Ferry resolves
//! the target host itself and goes on only if every address is public (redirects are
//! then followed here, one checked hop at a time). The proxy resolves the name again; a
//! DNS answer that changes in between is the one gap, and the price of honouring a proxy
//! the person set up. The proxy's own address is theirs to choose and is not checked.
//!
//! URLs the person pasted are theirs to fetch and never go through here (see `import`).
//! Not a general HTTP client: providers talk to their configured base URLs directly.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::{Code, Error, Result};

/// Test-only: set to `1` in the environment of a Ferry whose tests serve remote images
/// from 127.0.0.1 fakes (`scripts/screenshots`). Not a setting: nothing in the config or
/// the UI reaches it.
pub const TEST_ANY_ADDRESS_ENV: &str = "FERRY_TEST_BACKGROUND_FETCH_ANY_ADDRESS";

static ANY_ADDRESS: AtomicBool = AtomicBool::new(false);

/// Test-only: let this process's background fetches reach any address, loopback fakes
/// included (the desktop app's in-process tests). Not reachable from config or UI.
#[doc(hidden)]
pub fn allow_any_address_for_tests() {
    ANY_ADDRESS.store(true, Ordering::SeqCst);
}

fn any_address_allowed() -> bool {
    ANY_ADDRESS.load(Ordering::SeqCst)
        || std::env::var_os(TEST_ANY_ADDRESS_ENV).is_some_and(|v| v == "1")
}

/// Whether `ip` is an ordinary public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => is_public_v4(a),
        IpAddr::V6(a) => is_public_v6(a),
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let [o0, o1, o2, _] = a.octets();
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_broadcast()
        || a.is_documentation()
        || a.is_multicast()
        || o0 == 0 // "this network"
        || (o0 == 100 && (64..128).contains(&o1)) // shared address space (CGNAT)
        || (o0 == 192 && o1 == 0 && o2 == 0) // IETF protocol assignments
        || (o0 == 198 && (o1 == 18 || o1 == 19)) // benchmarking
        || o0 >= 240) // reserved
}

fn is_public_v6(a: Ipv6Addr) -> bool {
    if let Some(v4) = a.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = a.segments();
    // NAT64 (64:ff9b::/96) embeds an IPv4 address: judge that one.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return is_public_v4(v4);
    }
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated) and friends
}

fn refused(what: impl std::fmt::Display) -> Error {
    Error::new(
        Code::InputInvalidUrl,
        format!(
            "{what}: Ferry fetches links in the background only from public internet addresses"
        ),
    )
}

/// Refuse a URL that is not http(s) or whose host is an IP literal that is not public.
/// Host names are checked when they are resolved (see the module doc).
pub fn check_url(url: &url::Url) -> Result<()> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused(format!("{} is not an http(s) link", url.scheme())));
    }
    if any_address_allowed() {
        return Ok(());
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(a)) => IpAddr::V4(a),
        Some(url::Host::Ipv6(a)) => IpAddr::V6(a),
        Some(url::Host::Domain(_)) => return Ok(()),
        None => return Err(refused("the link has no host")),
    };
    if is_public(ip) {
        Ok(())
    } else {
        Err(refused(format!("{ip} is not a public address")))
    }
}

/// Resolves with the system resolver and answers only if every address is public.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !any_address_allowed() {
                // Every address, not just the first: the connector may try any of them.
                if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                    let msg = format!(
                        "{host} resolves to {}, which is not a public address",
                        bad.ip()
                    );
                    return Err(msg.into());
                }
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Redirects followed at most by a background fetch.
const MAX_REDIRECTS: usize = 5;

/// The client for background fetches (see the module doc), built by `net` on the
/// builder of the current proxy decision.
#[derive(Clone)]
pub struct Background {
    client: reqwest::Client,
    /// Requests may go through a proxy: check names before each hop (see the module doc).
    proxied: bool,
}

impl Background {
    pub(crate) fn build(builder: reqwest::ClientBuilder, proxied: bool) -> Background {
        let builder = if proxied {
            // The resolver would also see the proxy's own name (a private address, as
            // often as not); names are checked in `get` instead.
            builder.redirect(reqwest::redirect::Policy::none())
        } else {
            let redirects = reqwest::redirect::Policy::custom(|attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    attempt.error("too many redirects")
                } else if let Err(e) = check_url(attempt.url()) {
                    attempt.error(e.message)
                } else {
                    attempt.follow()
                }
            });
            builder
                .dns_resolver(std::sync::Arc::new(PublicOnly))
                .redirect(redirects)
        };
        Background {
            client: builder
                .build()
                .expect("the HTTP client's fixed configuration is valid"),
            proxied,
        }
    }

    /// GET `url` (redirects included) from public addresses only, waiting at most
    /// `timeout` for each answer.
    pub async fn get(&self, url: url::Url, timeout: Duration) -> Result<reqwest::Response> {
        let mut url = url;
        for _ in 0..=MAX_REDIRECTS {
            check_url(&url)?;
            if self.proxied {
                check_resolved(&url).await?;
            }
            let resp =
                crate::providers::http::send(self.client.get(url.clone()).timeout(timeout), false)
                    .await?;
            let next = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|loc| url.join(loc).ok());
            match next {
                Some(next) if self.proxied && resp.status().is_redirection() => url = next,
                _ => return Ok(resp),
            }
        }
        Err(refused("too many redirects"))
    }
}

/// Resolve a host name the way a direct connection would and refuse it unless every
/// address is public (IP literals were checked by [`check_url`]).
async fn check_resolved(url: &url::Url) -> Result<()> {
    if any_address_allowed() {
        return Ok(());
    }
    let Some(url::Host::Domain(host)) = url.host() else {
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| {
            Error::new(
                Code::NetworkConnect,
                format!("could not look up {host} ({e})"),
            )
        })?
        .collect();
    match addrs.iter().find(|a| !is_public(a.ip())) {
        Some(bad) => Err(refused(format!(
            "{host} resolves to {}, which is not a public address",
            bad.ip()
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_private_and_link_local_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn ip_literal_links_to_this_machine_are_refused_before_any_request() {
        let e = check_url(&"http://127.0.0.1:9/x.png".parse().unwrap()).unwrap_err();
        assert_eq!(e.code, Code::InputInvalidUrl);
        assert!(e.message.contains("public"), "{}", e.message);
        assert!(check_url(&"http://[::1]/x.png".parse().unwrap()).is_err());
        assert!(check_url(&"file:///etc/passwd".parse().unwrap()).is_err());
        assert!(check_url(&"https://example.com/x.png".parse().unwrap()).is_ok());
    }
}
