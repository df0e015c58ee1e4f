//! Secrets against a real Secret Service (gnome-keyring under dbus-run-session, as the
//! README's test command sets up): the key lands in the keychain, nowhere under
//! FERRY_HOME, and removing the account removes it.

#[cfg(target_os = "linux")]
use std::process::Command;

use ferry_core::config::Home;
use ferry_core::secrets::Secret;
use ferry_core::Engine;
#[cfg(target_os = "linux")]
use ferry_core::{Kind, SecretInput};

#[cfg(target_os = "linux")]
use crate::support::files_under;

#[cfg(target_os = "linux")]
fn lookup(account: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", "ferry", "username", account])
        .output()
        .expect("secret-tool (Debian package libsecret-tools) runs");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
        .filter(|s| !s.is_empty())
}

// Linux: asks the Secret Service with its own tool (secret-tool); the next test is the
// portable one.
#[cfg(target_os = "linux")]
#[test]
fn account_secret_lives_in_the_os_keychain_and_nowhere_under_ferry_home() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Home::at(dir.path())).unwrap();
    let name = format!("kc-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let secret = format!("sk_live_{}", uuid::Uuid::new_v4().simple());
    engine
        .account_add(
            &name,
            Kind::Synposter,
            &[],
            SecretInput::Value(Secret::new(secret.clone())),
        )
        .expect("the Secret Service is running and unlocked");
    assert_eq!(
        lookup(&name).as_deref(),
        Some(secret.as_str()),
        "secret-tool finds it"
    );

    for f in files_under(dir.path()) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&secret),
            "{} holds the secret",
            f.display()
        );
    }
    // The engine reads it back from the keychain to build the provider.
    assert!(engine.provider(&name).is_ok());
    let listed = serde_json::to_string(&engine.accounts()).unwrap();
    assert!(!listed.contains(&secret));
    assert!(listed.contains("\"keychain\""));

    engine.account_remove(&name).unwrap();
    assert_eq!(
        lookup(&name),
        None,
        "removing the account removes the keychain entry"
    );
}

#[test]
fn a_missing_keychain_entry_says_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let name = format!("kc-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    // Write the account as if its keychain entry had been deleted by hand.
    std::fs::write(
        home.config_file(),
        format!("[accounts.{name}]\nkind = \"synposter\"\n[accounts.{name}.options]\napi_url = \"http://127.0.0.1:9/v1\"\n"),
    )
    .unwrap();
    let engine = Engine::open(home).unwrap();
    let e = engine.provider(&name).err().expect("no secret");
    assert_eq!(e.code, ferry_core::Code::AuthMissingSecret);
    assert!(e.message.contains("--secret-stdin"), "{}", e.message);
}

/// The store keyring picks must be the platform's own: keyring's fallback (a mock that
/// keeps a password inside one `Entry` value) "succeeds" and forgets. A secret written
/// through one `Keychain` value must be read back through another — as the next run of
/// `ferry` does. Portable: no platform tool involved, so it means the same on macOS
/// (Keychain) and Windows (Credential Manager).
#[test]
fn a_secret_kept_by_one_keychain_value_is_found_by_another() {
    use ferry_core::secrets::{Keychain, SecretStore};
    let name = format!("kc-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let secret = Secret::new(format!("sk_{}", uuid::Uuid::new_v4().simple()));
    Keychain::new()
        .set(&name, &secret)
        .expect("the OS keychain is available");
    let found = Keychain::new().get(&name).unwrap();
    Keychain::new().delete(&name).unwrap();
    assert_eq!(
        found.as_ref().map(Secret::expose),
        Some(secret.expose()),
        "the keychain forgot the secret between two values: is keyring using its mock store?"
    );
    assert_eq!(Keychain::new().get(&name).unwrap(), None, "deleted");
}
