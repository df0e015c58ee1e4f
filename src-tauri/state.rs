//! What the app keeps in Tauri state: the engine.

pub struct AppState {
    pub engine: ferry_core::Engine,
}
