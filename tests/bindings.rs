//! The TypeScript bindings in ui/src/bindings are generated from the Rust types. This
//! test regenerates them; if anything changed it fails, so CI catches a Rust type that
//! changed without its bindings (run it once locally, review, commit).

#[test]
fn bindings_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/bindings");
    let changed = ferry_app::bindings::write(&dir).expect("bindings render");
    assert!(
        changed.is_empty(),
        "ui/src/bindings was out of date and has been regenerated ({}): review and commit it",
        changed.join(", ")
    );
}

#[test]
fn bindings_declare_the_names_the_ui_imports() {
    let files = ferry_app::bindings::render_files().unwrap();
    let index = &files["index.ts"];
    for name in [
        "AppInfo",
        "ProviderInfo",
        "OptionSpec",
        "Features",
        "Kind",
        "AccountView",
        "Job",
        "JobStatus",
        "CommandError",
        "RemoteMedia",
        "LibraryItem",
        "LibraryStatus",
        "Event",
        "Phase",
        "Settings",
        "CopyFormat",
        "AddUrlsResult",
        "InvalidLine",
        "LibraryFilter",
        "WatchRuleView",
        "WatchState",
        "ChannelMessage",
    ] {
        assert!(
            index.contains(&format!("export type {{ {name} }} from \"./{name}\";")),
            "{name} missing from index.ts"
        );
    }
    // Integers are JSON numbers, not bigint.
    assert!(
        files["Job.ts"].contains("id: number"),
        "{}",
        files["Job.ts"]
    );
    assert!(!files.values().any(|f| f.contains("bigint")));
}
