//! The Ferry desktop shell: the only Rust code that may `use tauri`. It holds one
//! `ferry_core::Engine` in Tauri state and exposes thin commands over it; behaviour lives
//! in ferry-core. File bytes never cross IPC: the UI hands over paths and URLs.

pub mod commands;
pub mod error;
pub mod state;

pub use error::CommandError;
pub use state::AppState;

/// Add Ferry's state and commands to a builder of any runtime (the real one, or
/// `tauri::test::mock_builder()` in tests).
pub fn setup<R: tauri::Runtime>(
    builder: tauri::Builder<R>,
    engine: ferry_core::Engine,
) -> tauri::Builder<R> {
    builder
        .manage(AppState { engine })
        .invoke_handler(tauri::generate_handler![commands::app::app_info])
}

pub fn run() {
    let engine = ferry_core::config::Home::from_env().and_then(ferry_core::Engine::open);
    let engine = match engine {
        Ok(e) => e,
        Err(e) => {
            eprintln!("ferry: {} [{}]", e.message, e.code);
            std::process::exit(2);
        }
    };
    setup(tauri::Builder::default(), engine)
        .run(tauri::generate_context!())
        .expect("error while running the Ferry app");
}
