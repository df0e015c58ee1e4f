//! The D-Bus system bus, where Linux says what the machine is doing: NetworkManager
//! (connected? metered?), UPower (on battery?) and logind (sleep inhibitors). This is
//! the only module that talks D-Bus in the engine; everything in it past the address is
//! Linux-only, and every call fails soft (a desktop without NetworkManager or logind is
//! normal: the caller falls back or does without).
//!
//! Which bus: the machine's (libdbus honours `DBUS_SYSTEM_BUS_ADDRESS`), or one a host
//! names with [`SystemBus::use_address`] — tests start stand-in services on a private
//! bus and point one engine at it without touching the process environment.
//!
//! It must not contain policy (what "offline" or "metered" means): that is `net`,
//! `power` and the queue's holds.

use std::sync::Mutex;

/// Which system bus this engine asks.
#[derive(Debug, Default)]
pub struct SystemBus {
    address: Mutex<Option<String>>,
}

impl SystemBus {
    /// Ask the bus at `address` (a D-Bus address, `unix:path=…`) instead of the
    /// machine's; `None` goes back to the machine's.
    pub fn use_address(&self, address: Option<String>) {
        *self.address.lock().expect("bus lock") = address;
    }

    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn address(&self) -> Option<String> {
        self.address.lock().expect("bus lock").clone()
    }
}

#[cfg(target_os = "linux")]
pub(crate) use imp::*;

#[cfg(target_os = "linux")]
mod imp {
    use std::time::Duration;

    use dbus::arg::RefArg;
    use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
    use dbus::blocking::Connection;

    use super::SystemBus;

    /// How long one question may take: these are asked from blocking threads, and a
    /// bus that does not answer in this time is treated as absent.
    pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(2);

    pub(crate) fn connect(bus: &SystemBus) -> Result<Connection, dbus::Error> {
        match bus.address() {
            Some(a) => {
                let mut ch = dbus::channel::Channel::open_private(&a)?;
                ch.register()?;
                Ok(Connection::from(ch))
            }
            None => Connection::new_system(),
        }
    }

    /// One property of one object, as a number (`u`, `b`…), or `None` when the service
    /// is not there or does not have it.
    pub(crate) fn property_u64(
        conn: &Connection,
        dest: &str,
        path: &str,
        iface: &str,
        name: &str,
    ) -> Option<u64> {
        let proxy = conn.with_proxy(dest, path, CALL_TIMEOUT);
        // `get` unwraps the property's variant.
        let v: Box<dyn RefArg> = proxy.get(iface, name).ok()?;
        v.as_u64().or_else(|| v.as_i64().map(|n| n.max(0) as u64))
    }

    /// A property of NetworkManager's main object (`State`: 70 = connected to the
    /// internet; `Metered`: 1 yes, 2 no, 3 guessed yes, 4 guessed no), `None` without it.
    pub(crate) fn nm_property(bus: &SystemBus, name: &str) -> Option<u64> {
        let conn = connect(bus).ok()?;
        property_u64(
            &conn,
            "org.freedesktop.NetworkManager",
            "/org/freedesktop/NetworkManager",
            "org.freedesktop.NetworkManager",
            name,
        )
    }

    pub(crate) fn nm_state(bus: &SystemBus) -> Option<u64> {
        nm_property(bus, "State")
    }

    /// UPower's `OnBattery`, `None` without UPower.
    pub(crate) fn upower_on_battery(bus: &SystemBus) -> Option<bool> {
        let conn = connect(bus).ok()?;
        property_u64(
            &conn,
            "org.freedesktop.UPower",
            "/org/freedesktop/UPower",
            "org.freedesktop.UPower",
            "OnBattery",
        )
        .map(|v| v != 0)
    }
}
