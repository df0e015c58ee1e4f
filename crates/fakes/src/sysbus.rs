//! A private D-Bus "system bus" with stand-ins for NetworkManager, UPower and logind
//! (`standins/system-bus.py`), for Ferry's Linux tests of offline, metered, battery and
//! keep-awake. A test points one engine (`Engine::use_system_bus`) or one `ferry`
//! process (`DBUS_SYSTEM_BUS_ADDRESS`) at [`SystemBus::address`], sets what the
//! "machine" says with [`SystemBus::set`], and reads what Ferry asked logind for with
//! [`SystemBus::events`].
//!
//! Everything it starts (the bus daemon, the stand-in) stops when it is dropped. It
//! never touches the machine's buses.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct SystemBus {
    /// The bus's D-Bus address (`unix:path=…`).
    pub address: String,
    dir: PathBuf,
    daemon: Child,
    standin: Child,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl SystemBus {
    /// Start the bus and the stand-ins, NetworkManager saying "connected" and not
    /// metered, UPower on mains power. Panics when dbus-daemon or python3-gi is missing.
    pub fn start() -> SystemBus {
        let dir = std::env::temp_dir().join(format!(
            "ferry-sysbus-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("bus dir");
        let socket = dir.join("bus");
        let address = format!("unix:path={}", socket.display());
        let config = dir.join("bus.conf");
        // A session-style bus that anyone on this machine (this user) may use.
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{address}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#
            ),
        )
        .expect("bus config");
        let mut daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (apt install dbus-daemon)");
        let mut line = String::new();
        BufReader::new(daemon.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("bus address");
        assert!(!line.trim().is_empty(), "dbus-daemon printed no address");
        std::fs::write(dir.join("state.json"), "{}").expect("state");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/standins/system-bus.py");
        let mut standin = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(&address)
            .arg(dir.join("state.json"))
            .arg(dir.join("events.jsonl"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with python3-gi");
        let mut ready = String::new();
        BufReader::new(standin.stdout.take().expect("stdout"))
            .read_line(&mut ready)
            .expect("stand-in ready");
        let bus = SystemBus {
            address,
            dir,
            daemon,
            standin,
        };
        assert_eq!(ready.trim(), "ready", "the stand-in services did not start");
        bus
    }

    /// Set what the stand-ins say: `nm_state` (NetworkManager's State, 70 = connected,
    /// 20 = disconnected), `metered` (1 yes, 2 no, 3 guess yes, 4 guess no),
    /// `on_battery` (true/false). Read again at every question.
    pub fn set(&self, key: &str, value: serde_json::Value) {
        let path = self.dir.join("state.json");
        let mut state: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&std::fs::read(&path).unwrap_or_default()).unwrap_or_default();
        state.insert(key.to_string(), value);
        let tmp = self.dir.join("state.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&state).expect("json")).expect("write state");
        std::fs::rename(&tmp, &path).expect("rename state");
    }

    /// What the logind stand-in saw, oldest first (`inhibit`, `released`).
    pub fn events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.join("events.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Inhibitors taken and not released yet.
    pub fn inhibitors_held(&self) -> i64 {
        self.events()
            .iter()
            .fold(0, |n, e| match e["event"].as_str() {
                Some("inhibit") => n + 1,
                Some("released") => n - 1,
                _ => n,
            })
    }

    /// Wait (at most `limit`) until `f` holds; whether it did.
    pub fn wait_for(&self, limit: Duration, f: impl Fn(&SystemBus) -> bool) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if f(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        f(self)
    }
}

impl Drop for SystemBus {
    fn drop(&mut self) {
        let _ = self.standin.kill();
        let _ = self.standin.wait();
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
