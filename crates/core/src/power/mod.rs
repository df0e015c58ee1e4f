//! Keep the machine awake while Ferry sends: a sleep inhibitor taken while any job of
//! this process runs and released once the runner has been idle for a moment (a run of
//! small files does not take and drop it between every two). On by default
//! (`keep_awake` in `[settings]`).
//!
//! Per platform, behind [`take`]: logind's "sleep" inhibitor on Linux (the file
//! descriptor it returns is the inhibitor: closing it releases it), an IOKit power
//! assertion on macOS, `SetThreadExecutionState` on a thread of its own on Windows (the
//! state belongs to the thread that set it). A platform that says no (no logind on this
//! Linux, a sandbox) is logged once and sending goes on without it.
//!
//! Beside it, [`on_battery`]: whether the machine runs on battery (for
//! `pause_on_battery`, which the runner applies).
//!
//! It must not decide when the queue is busy: the runner says so ([`KeepAwake::sending`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sysbus::SystemBus;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as imp;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// What logind, IOKit and the inhibitor lists show.
pub const WHO: &str = "Ferry";
pub const WHY: &str = "Uploading files";

/// How long the runner stays idle before the inhibitor goes.
const IDLE_LINGER: Duration = Duration::from_secs(2);

/// The platform's inhibitor, held while the value lives.
pub struct Inhibitor {
    _held: imp::Held,
}

/// Whether the machine runs on battery now, `None` when the system does not say (a
/// desktop without UPower, no battery). Linux: UPower's `OnBattery`; macOS: the power
/// source IOKit says provides power; Windows: `GetSystemPowerStatus`' AC line status.
/// Blocking: call it from a blocking thread.
pub fn on_battery(bus: &SystemBus) -> Option<bool> {
    imp::on_battery(bus)
}

/// Take the platform's sleep inhibitor. Blocking (a D-Bus call on Linux, a thread start
/// on Windows): call it from a blocking thread.
pub fn take(bus: &SystemBus) -> Result<Inhibitor, String> {
    imp::take(bus).map(|held| Inhibitor { _held: held })
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod imp {
    pub struct Held;
    pub fn take(_: &crate::sysbus::SystemBus) -> Result<Held, String> {
        Err("keeping the machine awake is not supported on this system".into())
    }
    pub fn on_battery(_: &crate::sysbus::SystemBus) -> Option<bool> {
        None
    }
}

/// The runner's inhibitor: taken while it sends, released after [`IDLE_LINGER`] idle
/// and when the run ends (dropped).
pub(crate) struct KeepAwake {
    bus: Arc<SystemBus>,
    held: Option<Inhibitor>,
    idle_since: Option<Instant>,
    /// A failure was logged: once per run is enough.
    warned: bool,
    /// When the last failure was: try again only after a while.
    failed_at: Option<Instant>,
}

/// After a failure, try again at most this often (logind may come up later).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);

impl KeepAwake {
    pub fn new(bus: Arc<SystemBus>) -> KeepAwake {
        KeepAwake {
            bus,
            held: None,
            idle_since: None,
            warned: false,
            failed_at: None,
        }
    }

    /// Tell it whether jobs are being sent now, and whether the setting wants it.
    pub async fn sending(&mut self, busy: bool, wanted: bool) {
        if !wanted {
            self.release();
            return;
        }
        if !busy {
            let since = *self.idle_since.get_or_insert_with(Instant::now);
            if self.held.is_some() && since.elapsed() >= IDLE_LINGER {
                self.release();
            }
            return;
        }
        self.idle_since = None;
        if self.held.is_some()
            || self
                .failed_at
                .is_some_and(|t| t.elapsed() < RETRY_AFTER_FAILURE)
        {
            return;
        }
        let bus = self.bus.clone();
        match tokio::task::spawn_blocking(move || take(&bus)).await {
            Ok(Ok(i)) => {
                tracing::debug!("keeping the machine awake while sending");
                self.held = Some(i);
                self.failed_at = None;
            }
            Ok(Err(e)) => {
                self.failed_at = Some(Instant::now());
                // Info, not a warning: machines without logind (containers, servers,
                // CI) are normal, and the CLI shows warnings on every run.
                if !self.warned {
                    self.warned = true;
                    tracing::info!("cannot keep the machine awake while sending: {e}");
                }
            }
            Err(e) => tracing::warn!("cannot keep the machine awake: {e}"),
        }
    }

    fn release(&mut self) {
        if self.held.take().is_some() {
            tracing::debug!("the queue is idle: the machine may sleep again");
        }
    }
}
