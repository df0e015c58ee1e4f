//! Whether the connection is metered, from Windows' Network List Manager
//! (`INetworkCostManager::GetCost`, the machine-wide cost of the internet connection):
//! what Windows' own "metered connection" switch and the mobile-plan settings set.

use windows::Win32::Foundation::RPC_E_CHANGED_MODE;
use windows::Win32::Networking::NetworkListManager::{
    INetworkCostManager, NetworkListManager, NLM_CONNECTION_COST_FIXED,
    NLM_CONNECTION_COST_OVERDATALIMIT, NLM_CONNECTION_COST_ROAMING, NLM_CONNECTION_COST_UNKNOWN,
    NLM_CONNECTION_COST_VARIABLE,
};
use windows::Win32::System::Com::{
    CoCreateInstance, CoInitializeEx, CoUninitialize, CLSCTX_ALL, COINIT_MULTITHREADED,
};

/// Metered: a fixed or pay-per-use plan, over its data limit, or roaming. `None` when
/// Windows does not know. Blocking (a COM call): call it from a blocking thread.
pub fn metered() -> Option<bool> {
    // SAFETY: COM is initialised for this thread (or already was, in another mode: it is
    // usable then, and not ours to uninitialise); the interface is released before
    // CoUninitialize; GetCost writes one u32, and a null address asks for the
    // machine-wide cost.
    unsafe {
        let hr = CoInitializeEx(None, COINIT_MULTITHREADED);
        if hr.is_err() && hr != RPC_E_CHANGED_MODE {
            return None;
        }
        let cost = (|| -> Option<u32> {
            let manager: INetworkCostManager =
                CoCreateInstance(&NetworkListManager, None, CLSCTX_ALL).ok()?;
            let mut cost = 0u32;
            manager.GetCost(&mut cost, std::ptr::null()).ok()?;
            Some(cost)
        })();
        if hr.is_ok() {
            CoUninitialize();
        }
        cost.and_then(from_cost)
    }
}

/// Metered or not from an `NLM_CONNECTION_COST` bit set.
fn from_cost(cost: u32) -> Option<bool> {
    if cost == NLM_CONNECTION_COST_UNKNOWN.0 as u32 {
        return None;
    }
    let metered = (NLM_CONNECTION_COST_FIXED.0
        | NLM_CONNECTION_COST_VARIABLE.0
        | NLM_CONNECTION_COST_OVERDATALIMIT.0
        | NLM_CONNECTION_COST_ROAMING.0) as u32;
    Some(cost & metered != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use windows::Win32::Networking::NetworkListManager::{
        NLM_CONNECTION_COST_CONGESTED, NLM_CONNECTION_COST_UNRESTRICTED,
    };

    #[test]
    fn a_plan_with_a_cost_is_metered_and_an_unrestricted_one_is_not() {
        let bits = |c: &[i32]| c.iter().fold(0u32, |m, b| m | *b as u32);
        assert_eq!(from_cost(0), None);
        assert_eq!(
            from_cost(bits(&[NLM_CONNECTION_COST_UNRESTRICTED.0])),
            Some(false)
        );
        assert_eq!(
            from_cost(bits(&[
                NLM_CONNECTION_COST_UNRESTRICTED.0,
                NLM_CONNECTION_COST_CONGESTED.0
            ])),
            Some(false)
        );
        assert_eq!(from_cost(bits(&[NLM_CONNECTION_COST_FIXED.0])), Some(true));
        assert_eq!(
            from_cost(bits(&[NLM_CONNECTION_COST_VARIABLE.0])),
            Some(true)
        );
        assert_eq!(
            from_cost(bits(&[
                NLM_CONNECTION_COST_UNRESTRICTED.0,
                NLM_CONNECTION_COST_ROAMING.0
            ])),
            Some(true)
        );
    }

    /// The real call, through the Network List Manager this Windows (or Wine) has: it
    /// answers (Wine's says "unrestricted"; a Windows without any network may say it does
    /// not know, which this test does not expect of the machines it runs on).
    #[test]
    fn windows_answers_whether_the_connection_is_metered() {
        let answer = std::thread::spawn(metered).join().unwrap();
        eprintln!("metered: {answer:?}");
        assert!(answer.is_some(), "GetCost gave no answer");
    }
}
