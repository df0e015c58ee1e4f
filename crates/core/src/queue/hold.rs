//! Why the runner holds sending although jobs wait: the machine is offline (`net`), or
//! a person asked not to send on a metered connection or on battery (`pause_on_metered`,
//! `pause_on_battery`) and the machine is on one. The state lives in the runner's
//! memory — the journal only marks each offline job (`waiting_retry` with
//! `network.offline`, its attempt given back); jobs paused for metered or battery go
//! back to `queued` — and is published in the home's runner note, so the CLI and the
//! app beside the runner show the reason.
//!
//! The probe's timing is here; what "offline" means is `net`, and the runner loop
//! (`runner`) asks [`Holds::probe_due`] and acts on the answer.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The first wait between offline probes; it doubles up to [`PROBE_MAX`].
const PROBE_FIRST: Duration = Duration::from_secs(1);
/// The longest wait between offline probes: the network's return is noticed within this.
const PROBE_MAX: Duration = Duration::from_secs(15);
/// Most hosts probed at once (one per distinct destination that could not be reached).
const MAX_TARGETS: usize = 8;

/// Why sending is held, as the queue header shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// No network: jobs wait as offline and resume when it is back.
    Offline,
    /// On a metered connection with `pause_on_metered`: nothing that needs the network
    /// is sent until the connection is not metered.
    Metered,
    /// On battery with `pause_on_battery`: nothing is sent until the machine is on mains
    /// power again.
    Battery,
}

impl HoldReason {
    pub fn message(self) -> &'static str {
        match self {
            HoldReason::Offline => OFFLINE_MESSAGE,
            HoldReason::Metered => {
                "Paused on a metered connection — sending resumes on an unmetered one"
            }
            HoldReason::Battery => "Paused on battery power — sending resumes when plugged in",
        }
    }

    /// Whether jobs to a local library folder wait too (they need no network).
    pub fn holds_local(self) -> bool {
        self == HoldReason::Battery
    }
}

/// A hold on sending, with the words the queue header shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    pub reason: HoldReason,
    /// "Offline — waiting for the network".
    pub message: String,
    pub since: DateTime<Utc>,
}

pub const OFFLINE_MESSAGE: &str = "Offline — waiting for the network";

struct Offline {
    since: DateTime<Utc>,
    /// `host:port` of what could not be reached.
    targets: Vec<String>,
    next_probe: Instant,
    wait: Duration,
}

/// The runner's holds.
#[derive(Default)]
pub(crate) struct Holds {
    offline: Mutex<Option<Offline>>,
    /// Metered or battery, with when it began.
    power: Mutex<Option<(HoldReason, DateTime<Utc>)>>,
}

impl Holds {
    /// The machine went offline (or still is) while reaching `target`. True when this
    /// starts the hold.
    pub fn go_offline(&self, target: Option<String>) -> bool {
        let mut o = self.offline.lock().expect("hold lock");
        let started = o.is_none();
        let off = o.get_or_insert_with(|| Offline {
            since: Utc::now(),
            targets: Vec::new(),
            next_probe: Instant::now() + PROBE_FIRST,
            wait: PROBE_FIRST,
        });
        if let Some(t) = target {
            if !off.targets.contains(&t) && off.targets.len() < MAX_TARGETS {
                off.targets.push(t);
            }
        }
        started
    }

    pub fn is_offline(&self) -> bool {
        self.offline.lock().expect("hold lock").is_some()
    }

    /// When offline and a probe is due: the hosts to try (possibly none known), and
    /// the next probe is pushed back (doubling, capped).
    pub fn probe_due(&self) -> Option<Vec<String>> {
        let mut o = self.offline.lock().expect("hold lock");
        let off = o.as_mut()?;
        let now = Instant::now();
        if now < off.next_probe {
            return None;
        }
        off.wait = (off.wait * 2).min(PROBE_MAX);
        off.next_probe = now + off.wait;
        Some(off.targets.clone())
    }

    /// The network is back.
    pub fn back_online(&self) {
        self.offline.lock().expect("hold lock").take();
    }

    /// Metered or battery began (`Some`) or ended (`None`). True when it changed.
    pub fn set_power(&self, reason: Option<HoldReason>) -> bool {
        let mut p = self.power.lock().expect("hold lock");
        if p.map(|(r, _)| r) == reason {
            return false;
        }
        *p = reason.map(|r| (r, Utc::now()));
        true
    }

    /// The metered or battery hold, if any.
    pub fn power(&self) -> Option<HoldReason> {
        self.power.lock().expect("hold lock").map(|(r, _)| r)
    }

    /// What the queue header shows now: a metered or battery pause first (it goes on
    /// holding after the network returns), else offline.
    pub fn current(&self) -> Option<Hold> {
        if let Some((reason, since)) = *self.power.lock().expect("hold lock") {
            return Some(Hold {
                reason,
                message: reason.message().to_string(),
                since,
            });
        }
        self.offline
            .lock()
            .expect("hold lock")
            .as_ref()
            .map(|o| Hold {
                reason: HoldReason::Offline,
                message: OFFLINE_MESSAGE.to_string(),
                since: o.since,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_back_off_and_coming_back_ends_the_hold() {
        let h = Holds::default();
        assert!(h.probe_due().is_none(), "not offline: nothing to probe");
        assert!(h.go_offline(Some("a:1".into())));
        assert!(!h.go_offline(Some("a:1".into())), "one hold");
        h.go_offline(Some("b:2".into()));
        assert_eq!(h.current().unwrap().reason, HoldReason::Offline);
        // Not due before the first wait.
        assert!(h.probe_due().is_none());
        h.offline.lock().unwrap().as_mut().unwrap().next_probe = Instant::now();
        assert_eq!(h.probe_due().unwrap(), vec!["a:1", "b:2"]);
        assert!(h.probe_due().is_none(), "pushed back");
        assert_eq!(
            h.offline.lock().unwrap().as_ref().unwrap().wait,
            PROBE_FIRST * 2
        );
        h.back_online();
        assert!(!h.is_offline() && h.current().is_none());
    }

    #[test]
    fn a_battery_or_metered_pause_is_shown_before_offline() {
        let h = Holds::default();
        h.go_offline(None);
        assert!(h.set_power(Some(HoldReason::Battery)));
        assert!(!h.set_power(Some(HoldReason::Battery)), "no change");
        assert_eq!(h.current().unwrap().reason, HoldReason::Battery);
        assert!(h.current().unwrap().message.contains("battery"));
        assert!(h.set_power(None));
        assert_eq!(h.current().unwrap().reason, HoldReason::Offline);
    }
}
