//! The desktop app's own tests: its commands through Tauri's mock runtime.

use std::sync::Arc;

use ferry_core::config::Home;
use ferry_core::secrets::MemoryStore;
use tauri::test::{mock_builder, mock_context, noop_assets};

fn app(home: &std::path::Path) -> tauri::App<tauri::test::MockRuntime> {
    let engine =
        ferry_core::Engine::with_secret_store(Home::at(home), Arc::new(MemoryStore::default()))
            .expect("engine");
    ferry_app::setup(mock_builder(), engine)
        .build(mock_context(noop_assets()))
        .expect("app")
}

#[test]
fn app_info_reports_the_default_library_account() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    let res = tauri::test::get_ipc_response(
        &webview,
        tauri::webview::InvokeRequest {
            cmd: "app_info".into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::default(),
            headers: Default::default(),
            invoke_key: tauri::test::INVOKE_KEY.to_string(),
        },
    )
    .expect("app_info succeeds");
    let info: serde_json::Value = res.deserialize().unwrap();
    assert_eq!(info["defaultAccount"], "library");
    assert_eq!(info["accounts"], 1);
}
