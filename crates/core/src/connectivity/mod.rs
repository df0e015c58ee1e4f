//! Whether Ferry is offline: the rule that turns a failed connection into "waiting for
//! the network" rather than a failed attempt, and the probe that notices the network is
//! back.
//!
//! The rule: a job is offline when its host could not be connected to at all
//! (`network.connect`: the name did not resolve, the connection was refused, or there
//! was no route — not a timeout, not a reset mid-request, not an HTTP error) AND the
//! machine itself says it has no network. On Linux with NetworkManager that is NM's
//! `State` below CONNECTED_GLOBAL (70); without NetworkManager, and on macOS and
//! Windows, it is "no route to the internet": a UDP socket cannot even be pointed at a
//! public address (that sends nothing). A server that is down while the machine is
//! online is not "offline": its jobs go through the retry policy and fail as before.
//!
//! Back online: a TCP connect to one of the hosts that could not be reached succeeds
//! (the runner probes every few seconds, backing off; see `queue::hold`); with no host
//! known, the machine saying it is online again.
//!
//! Nothing here touches the journal or decides retries.

#[cfg(target_os = "macos")]
mod macos;
#[cfg(windows)]
mod windows;

use std::net::UdpSocket;
use std::time::Duration;

use crate::sysbus::SystemBus;

/// How long one probe connect may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// What the machine says about its network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connectivity {
    Online,
    Offline,
}

/// NetworkManager's NM_STATE_CONNECTED_GLOBAL.
#[cfg(target_os = "linux")]
const NM_CONNECTED_GLOBAL: u64 = 70;

/// The cheap check: what the machine says, without sending anything. Blocking (a
/// D-Bus question on Linux): call it from a blocking thread.
pub fn machine_connectivity(bus: &SystemBus) -> Connectivity {
    #[cfg(target_os = "linux")]
    {
        // 0 is NM_STATE_UNKNOWN: NetworkManager does not know either.
        if let Some(state) = crate::sysbus::nm_state(bus).filter(|s| *s > 0) {
            return if state >= NM_CONNECTED_GLOBAL {
                Connectivity::Online
            } else {
                Connectivity::Offline
            };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = bus;
    if has_route() {
        Connectivity::Online
    } else {
        Connectivity::Offline
    }
}

/// Whether the system has a route to the internet (IPv4 or IPv6). "Connecting" a UDP
/// socket only picks a route: no packet leaves the machine.
fn has_route() -> bool {
    [
        ("0.0.0.0:0", "1.1.1.1:53"),
        ("[::]:0", "[2606:4700:4700::1111]:53"),
    ]
    .iter()
    .any(|(local, remote)| {
        UdpSocket::bind(local)
            .and_then(|s| s.connect(remote))
            .is_ok()
    })
}

/// Whether any of `targets` (`host:port`) accepts a TCP connection now.
pub async fn reachable(targets: &[String]) -> bool {
    for t in targets {
        if let Ok(Ok(_)) =
            tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(t.as_str())).await
        {
            return true;
        }
    }
    false
}

/// Whether the connection is metered (a phone's hotspot, a capped plan), `None` when the
/// system does not say. Linux: NetworkManager's `Metered` (1 yes and 3 guessed yes are
/// metered). Windows: the Network List Manager's cost of the connection (`windows`).
/// macOS: Network.framework's expensive or constrained path (`macos`). Blocking: call
/// it from a blocking thread.
pub fn metered(bus: &SystemBus) -> Option<bool> {
    #[cfg(target_os = "linux")]
    {
        crate::sysbus::nm_property(bus, "Metered")
            .filter(|v| *v != 0)
            .map(|v| v == 1 || v == 3)
    }
    #[cfg(not(target_os = "linux"))]
    let _ = bus;
    #[cfg(windows)]
    {
        windows::metered()
    }
    #[cfg(target_os = "macos")]
    {
        macos::metered()
    }
    #[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
    {
        None
    }
}

/// `host:port` of a base URL (an account's option), for probing.
pub fn target_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_listening_port_is_reachable_and_a_closed_one_is_not() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(reachable(&[format!("127.0.0.1:{port}")]).await);
        drop(l);
        assert!(!reachable(&[format!("127.0.0.1:{port}")]).await);
    }

    #[test]
    fn a_target_is_the_host_and_port_of_a_base_url() {
        assert_eq!(
            target_of("https://api.example.com/v1?key=x").as_deref(),
            Some("api.example.com:443")
        );
        assert_eq!(
            target_of("http://[::1]:9000/").as_deref(),
            Some("[::1]:9000")
        );
        assert_eq!(target_of("/srv/library"), None);
    }
}
