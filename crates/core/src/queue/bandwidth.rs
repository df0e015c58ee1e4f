//! Which bandwidth limits hold for whom: all of Ferry (the `bwlimit` setting, or
//! `slow_bwlimit` while "Slow down" is on, or a run's `--bwlimit`) and each account (its
//! `bwlimit` option). Follows the config as it changes — the runner refreshes it on every
//! turn, so a limit changed in Settings, the tray or config.toml (by any process) holds
//! within a turn (≤ 250 ms).
//!
//! The limits cover what goes over the network; the local library is a copy on this
//! machine and is not held back. The byte-level work is `transfer::throttle`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::config::Config;
use crate::providers::Kind;
use crate::transfer::bwlimit::{Rate, Schedule};
use crate::transfer::throttle::{Limiter, Throttle};

/// The account option holding an account's own limit.
pub const ACCOUNT_OPTION: &str = "bwlimit";

pub struct Bandwidth {
    global: Arc<Limiter>,
    accounts: Mutex<HashMap<String, Arc<Limiter>>>,
    /// This process's `--bwlimit`: wins over the settings for all of Ferry.
    forced: Mutex<Option<Schedule>>,
}

/// What holds now, for the queue header and `ferry queue list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BandwidthNow {
    /// The limit's text (`off`, `4M`, a timetable).
    pub limit: String,
    /// The rate in force now, rclone-style (`off`, `0`, `4M`).
    pub rate: String,
    /// Bytes a second now; `None` without a limit, `0` when sending waits.
    pub bytes_per_sec: Option<u64>,
    /// "Slow down" is on.
    pub slowed: bool,
    /// Nothing is sent now (a rate of 0); the queue waits.
    pub waiting: bool,
    /// When sending starts again (RFC 3339, local offset), if it is waiting and the
    /// timetable says when.
    pub resumes_at: Option<String>,
    /// Destinations whose own limit (the account's `bwlimit`) is 0 now: their jobs wait
    /// while the others go on. Empty while all of Ferry waits.
    pub accounts_waiting: Vec<AccountWaiting>,
}

/// A destination whose own bandwidth limit says not to send now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AccountWaiting {
    pub account: String,
    /// Its limit's text (a timetable, or `0`).
    pub limit: String,
    /// When it may send again (RFC 3339, local offset), if its timetable says when.
    pub resumes_at: Option<String>,
}

impl Default for Bandwidth {
    fn default() -> Self {
        Bandwidth {
            global: Limiter::new(Schedule::unlimited()),
            accounts: Mutex::new(HashMap::new()),
            forced: Mutex::new(None),
        }
    }
}

impl Bandwidth {
    /// Hold all of Ferry to this limit in this process, whatever the settings say
    /// (`--bwlimit`).
    pub fn force(&self, schedule: Option<Schedule>) {
        *self.forced.lock().unwrap_or_else(|p| p.into_inner()) = schedule;
    }

    /// The limit all of Ferry follows under this config.
    pub fn global_schedule(&self, cfg: &Config) -> Schedule {
        if let Some(s) = self
            .forced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return s;
        }
        let s = &cfg.settings;
        let text = if s.slow_down {
            &s.slow_bwlimit
        } else {
            &s.bwlimit
        };
        // A value config.toml was given by hand that does not parse was already refused
        // when the config was read; off is the safe reading if one slips through.
        Schedule::parse("bwlimit", text).unwrap_or_default()
    }

    /// Take the config's limits (cheap when nothing changed).
    pub fn refresh(&self, cfg: &Config) {
        self.global.set(self.global_schedule(cfg));
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        accounts.retain(|name, _| cfg.accounts.contains_key(name));
        for (name, account) in &cfg.accounts {
            let schedule = account
                .options
                .get(ACCOUNT_OPTION)
                .and_then(|t| Schedule::parse(ACCOUNT_OPTION, t).ok())
                .unwrap_or_default();
            // Every network account has its limiter, unlimited or not: a limit set
            // later reaches the jobs already sending (they hold this limiter).
            match accounts.get(name) {
                Some(l) => l.set(schedule),
                None if account.kind != Kind::Local => {
                    accounts.insert(name.clone(), Limiter::new(schedule));
                }
                None => {}
            }
        }
    }

    /// The limits one job to `account` sends under.
    pub fn throttle(&self, account: &str, kind: Kind) -> Throttle {
        if kind == Kind::Local {
            return Throttle::none();
        }
        let mut limiters = vec![self.global.clone()];
        if let Some(l) = self
            .accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
        {
            limiters.push(l.clone());
        }
        Throttle::new(limiters)
    }

    /// Whether jobs to `account` wait now: all of Ferry's rate or the account's is 0.
    /// The local library never waits.
    pub fn holds(&self, account: &str, kind: Kind) -> bool {
        if kind == Kind::Local {
            return false;
        }
        if self.global.rate() == Rate::Paused {
            return true;
        }
        self.accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .is_some_and(|l| l.rate() == Rate::Paused)
    }

    /// All of Ferry's limit now.
    pub fn now(&self, cfg: &Config) -> BandwidthNow {
        let schedule = self.global_schedule(cfg);
        let mut now = describe(&schedule, cfg.settings.slow_down && self.forced_none());
        if !now.waiting {
            now.accounts_waiting = accounts_waiting(cfg);
        }
        now
    }

    fn forced_none(&self) -> bool {
        self.forced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }
}

/// A schedule's state at this moment, in words for people and the UI.
pub fn describe(schedule: &Schedule, slowed: bool) -> BandwidthNow {
    let local = chrono::Local::now();
    let (rate, _) = schedule.at(&local);
    BandwidthNow {
        limit: schedule.text().to_string(),
        rate: rate.human(),
        bytes_per_sec: match rate {
            Rate::Unlimited => None,
            Rate::Paused => Some(0),
            Rate::BytesPerSec(b) => Some(b),
        },
        slowed,
        waiting: rate == Rate::Paused,
        resumes_at: schedule
            .resumes_at(&local)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)),
        accounts_waiting: Vec::new(),
    }
}

/// The network accounts whose own limit is 0 at this moment, by name.
fn accounts_waiting(cfg: &Config) -> Vec<AccountWaiting> {
    let mut out: Vec<AccountWaiting> = cfg
        .accounts
        .iter()
        .filter(|(_, a)| a.kind != Kind::Local)
        .filter_map(|(name, a)| {
            let text = a.options.get(ACCOUNT_OPTION)?;
            let schedule = Schedule::parse(ACCOUNT_OPTION, text).ok()?;
            let d = describe(&schedule, false);
            d.waiting.then(|| AccountWaiting {
                account: name.clone(),
                limit: d.limit,
                resumes_at: d.resumes_at,
            })
        })
        .collect();
    out.sort_by(|a, b| a.account.cmp(&b.account));
    out
}
