//! Whether the connection is metered, from Network.framework: a path monitor started
//! once per process reports whether the current path is expensive (a phone's hotspot,
//! cellular) or constrained (Low Data Mode), as Apple's own apps decide it.

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use block2::{Block, RcBlock};

type NwPathMonitor = *mut c_void;
type NwPath = *mut c_void;
type DispatchQueue = *mut c_void;

#[link(name = "Network", kind = "framework")]
extern "C" {
    fn nw_path_monitor_create() -> NwPathMonitor;
    fn nw_path_monitor_set_queue(monitor: NwPathMonitor, queue: DispatchQueue);
    fn nw_path_monitor_set_update_handler(monitor: NwPathMonitor, handler: &Block<dyn Fn(NwPath)>);
    fn nw_path_monitor_start(monitor: NwPathMonitor);
    fn nw_path_is_expensive(path: NwPath) -> bool;
    fn nw_path_is_constrained(path: NwPath) -> bool;
}

// libdispatch is part of libSystem, which std links.
extern "C" {
    fn dispatch_queue_create(label: *const c_char, attr: *mut c_void) -> DispatchQueue;
}

const UNKNOWN: u8 = 0;
const NOT_METERED: u8 = 1;
const METERED: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);
static START: Once = Once::new();

/// How long the first question waits for the monitor's first answer.
const FIRST_ANSWER: Duration = Duration::from_secs(1);

fn start() {
    START.call_once(|| {
        // SAFETY: a static label; a null attribute makes a serial queue. The monitor
        // and its queue live as long as the process (never released).
        let (queue, monitor) = unsafe {
            (
                dispatch_queue_create(c"app.ferry.metered".as_ptr(), std::ptr::null_mut()),
                nw_path_monitor_create(),
            )
        };
        if queue.is_null() || monitor.is_null() {
            return;
        }
        // Runs on the queue's thread; touches only a static.
        let handler = RcBlock::new(|path: NwPath| {
            // SAFETY: the path handed to the handler is valid during the call.
            let metered = unsafe { nw_path_is_expensive(path) || nw_path_is_constrained(path) };
            STATE.store(
                if metered { METERED } else { NOT_METERED },
                Ordering::Release,
            );
        });
        // SAFETY: valid monitor and queue; the handler is copied by Network.framework,
        // and kept here too (forgotten) in case it is not.
        unsafe {
            nw_path_monitor_set_queue(monitor, queue);
            nw_path_monitor_set_update_handler(monitor, &handler);
            nw_path_monitor_start(monitor);
        }
        std::mem::forget(handler);
    });
}

/// Expensive or constrained, `None` before the monitor's first answer. Blocking (at most
/// [`FIRST_ANSWER`], once): call it from a blocking thread.
pub fn metered() -> Option<bool> {
    start();
    let deadline = Instant::now() + FIRST_ANSWER;
    loop {
        match STATE.load(Ordering::Acquire) {
            METERED => return Some(true),
            NOT_METERED => return Some(false),
            _ if Instant::now() >= deadline => return None,
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}
