//! An IOKit power assertion (`PreventUserIdleSystemSleep`): the system does not sleep
//! for idleness while it exists; released with `IOPMAssertionRelease`. On battery: the
//! power source `IOPSGetProvidingPowerSourceType` names ("Battery Power").

use std::ffi::{c_char, c_void, CString};

type CFStringRef = *const c_void;
type IOPMAssertionID = u32;

/// kIOPMAssertionLevelOn.
const LEVEL_ON: u32 = 255;
/// kCFStringEncodingUTF8.
const UTF8: u32 = 0x0800_0100;

#[link(name = "CoreFoundation", kind = "framework")]
extern "C" {
    fn CFStringCreateWithCString(
        alloc: *const c_void,
        cstr: *const c_char,
        encoding: u32,
    ) -> CFStringRef;
    fn CFRelease(cf: *const c_void);
    fn CFEqual(a: *const c_void, b: *const c_void) -> u8;
}

#[link(name = "IOKit", kind = "framework")]
extern "C" {
    fn IOPMAssertionCreateWithName(
        assertion_type: CFStringRef,
        level: u32,
        name: CFStringRef,
        id: *mut IOPMAssertionID,
    ) -> i32;
    fn IOPMAssertionRelease(id: IOPMAssertionID) -> i32;
    fn IOPSCopyPowerSourcesInfo() -> *const c_void;
    fn IOPSGetProvidingPowerSourceType(snapshot: *const c_void) -> CFStringRef;
}

pub struct Held {
    id: IOPMAssertionID,
}

/// A CFString of `s`, released by the caller.
fn cf_string(s: &str) -> Result<CFStringRef, String> {
    let c = CString::new(s).map_err(|_| "a name with a NUL".to_string())?;
    // SAFETY: a valid NUL-terminated string; the default allocator.
    let r = unsafe { CFStringCreateWithCString(std::ptr::null(), c.as_ptr(), UTF8) };
    if r.is_null() {
        Err("CoreFoundation could not make a string".into())
    } else {
        Ok(r)
    }
}

pub fn take(_: &crate::sysbus::SystemBus) -> Result<Held, String> {
    let kind = cf_string("PreventUserIdleSystemSleep")?;
    let name = match cf_string(&format!("{}: {}", super::WHO, super::WHY)) {
        Ok(n) => n,
        Err(e) => {
            // SAFETY: created above, released once.
            unsafe { CFRelease(kind) };
            return Err(e);
        }
    };
    let mut id: IOPMAssertionID = 0;
    // SAFETY: two valid CFStrings and a place for the id; both strings are released
    // after the call (IOKit keeps its own references).
    let r = unsafe {
        let r = IOPMAssertionCreateWithName(kind, LEVEL_ON, name, &mut id);
        CFRelease(kind);
        CFRelease(name);
        r
    };
    if r == 0 {
        Ok(Held { id })
    } else {
        Err(format!("IOPMAssertionCreateWithName failed ({r:#x})"))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // SAFETY: an assertion this value created, released once.
        unsafe { IOPMAssertionRelease(self.id) };
    }
}

pub fn on_battery(_: &crate::sysbus::SystemBus) -> Option<bool> {
    // SAFETY: the snapshot is owned here and released once; the type string belongs
    // to it (not released) and is compared while it lives.
    unsafe {
        let snapshot = IOPSCopyPowerSourcesInfo();
        if snapshot.is_null() {
            return None;
        }
        let kind = IOPSGetProvidingPowerSourceType(snapshot);
        let battery = cf_string("Battery Power").ok();
        let r = match (kind.is_null(), battery) {
            (false, Some(b)) => {
                let same = CFEqual(kind, b) != 0;
                CFRelease(b);
                Some(same)
            }
            (_, Some(b)) => {
                CFRelease(b);
                None
            }
            _ => None,
        };
        CFRelease(snapshot);
        r
    }
}
