//! `SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED)`: the system does not
//! sleep for idleness while the thread that set it keeps it. The state belongs to that
//! thread, so one thread of its own sets it, waits until it is let go, then clears it.
//! On battery: `GetSystemPowerStatus`' `ACLineStatus` (0 = on battery, 255 = unknown).

use std::sync::mpsc;
use std::thread::JoinHandle;

use windows_sys::Win32::System::Power::{
    GetSystemPowerStatus, SetThreadExecutionState, ES_CONTINUOUS, ES_SYSTEM_REQUIRED,
    SYSTEM_POWER_STATUS,
};

pub struct Held {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

pub fn take(_: &crate::sysbus::SystemBus) -> Result<Held, String> {
    let (stop, stopped) = mpsc::channel::<()>();
    let (ready, is_ready) = mpsc::channel::<bool>();
    let thread = std::thread::Builder::new()
        .name("ferry-keep-awake".into())
        .spawn(move || {
            // SAFETY: plain flags; the previous state is what is returned.
            let ok = unsafe { SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED) } != 0;
            let _ = ready.send(ok);
            if ok {
                // Until the sender is dropped.
                let _ = stopped.recv();
                // SAFETY: as above; clears what this thread set.
                unsafe { SetThreadExecutionState(ES_CONTINUOUS) };
            }
        })
        .map_err(|e| format!("could not start a thread ({e})"))?;
    match is_ready.recv() {
        Ok(true) => Ok(Held {
            stop: Some(stop),
            thread: Some(thread),
        }),
        _ => {
            let _ = thread.join();
            Err("SetThreadExecutionState failed".into())
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn on_battery(_: &crate::sysbus::SystemBus) -> Option<bool> {
    // SAFETY: a zeroed plain-data struct the call fills in.
    let mut st: SYSTEM_POWER_STATUS = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to that struct.
    if unsafe { GetSystemPowerStatus(&mut st) } == 0 {
        return None;
    }
    match st.ACLineStatus {
        0 => Some(true),
        1 => Some(false),
        _ => None,
    }
}
