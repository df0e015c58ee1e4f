//! The event Channel: the UI subscribes once per page load and receives the engine's
//! events, batched (see `crate::events`).

use tauri::ipc::Channel;
use tauri::{Runtime, State, Webview};

use crate::error::CmdResult;
use crate::ipc::ChannelMessage;
use crate::state::AppState;

/// Start forwarding events to `channel`. A page that subscribes again (a reload)
/// replaces its previous forwarder.
#[tauri::command]
pub fn events_subscribe<R: Runtime>(
    webview: Webview<R>,
    state: State<'_, AppState>,
    channel: Channel<ChannelMessage>,
) -> CmdResult<()> {
    let stop = state.stop.child_token();
    if let Some(old) = state
        .forwarders
        .lock()
        .expect("forwarders lock")
        .insert(webview.label().to_string(), stop.clone())
    {
        old.cancel();
    }
    // Also the startup benchmark's mark: the page has loaded and made its first calls.
    tracing::info!("the UI of `{}` subscribed to events", webview.label());
    crate::startup::milestone("subscribed");
    let rx = state.engine.subscribe();
    let shell = state.shell_events.subscribe();
    tauri::async_runtime::spawn(crate::events::forward(rx, shell, stop, move |msg| {
        channel.send(msg).is_ok()
    }));
    Ok(())
}
