//! logind's sleep inhibitor: `org.freedesktop.login1.Manager.Inhibit("sleep", "Ferry",
//! "Uploading files", "block")` on the system bus returns a file descriptor; the
//! inhibitor lasts until every copy of it is closed. On battery: UPower's `OnBattery`.

use crate::sysbus::{self, SystemBus};

pub struct Held {
    _fd: dbus::arg::OwnedFd,
}

pub fn take(bus: &SystemBus) -> Result<Held, String> {
    let conn = sysbus::connect(bus).map_err(|e| format!("no system bus ({e})"))?;
    let proxy = conn.with_proxy(
        "org.freedesktop.login1",
        "/org/freedesktop/login1",
        sysbus::CALL_TIMEOUT,
    );
    let (fd,): (dbus::arg::OwnedFd,) = proxy
        .method_call(
            "org.freedesktop.login1.Manager",
            "Inhibit",
            ("sleep", super::WHO, super::WHY, "block"),
        )
        .map_err(|e| format!("logind refused a sleep inhibitor ({e})"))?;
    // The descriptor outlives the connection: it is the inhibitor.
    Ok(Held { _fd: fd })
}

pub fn on_battery(bus: &SystemBus) -> Option<bool> {
    sysbus::upower_on_battery(bus)
}
