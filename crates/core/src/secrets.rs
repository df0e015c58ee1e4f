//! Secrets: the `SecretStore` trait and its real implementation, the OS keychain
//! (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows) through
//! the `keyring` crate — service `ferry`, user = account name.
//!
//! A secret never reaches a file Ferry writes, a log line, JSON output or an error
//! message: [`Secret`] prints `****`. There is no plaintext fallback: a missing or locked
//! keychain is an error that says what to do. Headless machines may name an environment
//! variable instead (read at use time, never stored).

use crate::error::{Code, Error, Result};

/// A secret value. Debug and Display never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that must send it (an auth header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("****")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("****")
    }
}

pub trait SecretStore: Send + Sync {
    fn get(&self, account: &str) -> Result<Option<Secret>>;
    fn set(&self, account: &str, secret: &Secret) -> Result<()>;
    /// Remove; a missing entry is not an error.
    fn delete(&self, account: &str) -> Result<()>;
}

/// The OS keychain.
pub struct Keychain {
    service: String,
}

impl Keychain {
    pub const SERVICE: &'static str = "ferry";

    pub fn new() -> Self {
        Keychain {
            service: Self::SERVICE.to_string(),
        }
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, account).map_err(unavailable)
    }
}

impl Default for Keychain {
    fn default() -> Self {
        Self::new()
    }
}

fn unavailable(err: keyring::Error) -> Error {
    // keyring's messages describe the platform failure, never the secret.
    Error::new(
        Code::KeychainUnavailable,
        format!(
            "the OS keychain is not available ({err}). On Linux Ferry needs a Secret Service \
             (GNOME Keyring or KeePassXC) running and unlocked; on a headless machine, give the \
             account --secret-env VAR instead"
        ),
    )
}

impl SecretStore for Keychain {
    fn get(&self, account: &str) -> Result<Option<Secret>> {
        match self.entry(account)?.get_password() {
            Ok(v) => Ok(Some(Secret(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn set(&self, account: &str, secret: &Secret) -> Result<()> {
        self.entry(account)?
            .set_password(&secret.0)
            .map_err(unavailable)
    }

    fn delete(&self, account: &str) -> Result<()> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// An in-process store that forgets everything on exit: for the engine's own tests
/// and embedding, never a fallback for the keychain.
#[derive(Default)]
pub struct MemoryStore {
    map: std::sync::Mutex<std::collections::HashMap<String, Secret>>,
}

impl SecretStore for MemoryStore {
    fn get(&self, account: &str) -> Result<Option<Secret>> {
        Ok(self.map.lock().expect("store lock").get(account).cloned())
    }
    fn set(&self, account: &str, secret: &Secret) -> Result<()> {
        self.map
            .lock()
            .expect("store lock")
            .insert(account.to_string(), secret.clone());
        Ok(())
    }
    fn delete(&self, account: &str) -> Result<()> {
        self.map.lock().expect("store lock").remove(account);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("sk_live_supersecret");
        assert_eq!(format!("{s:?} {s}"), "**** ****");
    }
}
