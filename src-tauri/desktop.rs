//! What only the real desktop app has (not the mock runtime of the tests): the tray menu,
//! close-to-tray, start minimised, file arguments at launch (Open with), a second launch
//! handing its files to the running instance (`instance.rs`), and on macOS the Dock: a
//! click on its icon shows the window again, files dropped on it or sent with Open With
//! arrive as an event. What becomes of those files is `opened.rs`, which the tests drive
//! directly.
//!
//! On Linux tray icons get no click events, so every tray action is a menu item.

use std::sync::atomic::Ordering;

use ferry_core::Selector;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::plugin::TauriPlugin;
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, RunEvent, Runtime, WindowEvent};

use crate::instance::Instance;
use crate::state::AppState;

pub const MAIN: &str = "main";

/// Tray, window behaviour, launch arguments, and the requests of later launches for this
/// home (`instance`, held until the app's background work stops).
pub fn plugin<R: Runtime>(instance: Instance) -> TauriPlugin<R> {
    tauri::plugin::Builder::new("ferry-desktop")
        .setup(move |app, _api| {
            let state = app.state::<AppState>();
            let handle = app.clone();
            instance.serve(state.stop.clone(), move |request| {
                queue_args(&handle, &request.argv, &request.cwd);
                show_main(&handle);
            });
            if !tray_library() {
                // The tray crate would panic: run without a tray; Settings says so.
                tracing::warn!(
                    "no tray icon: neither libayatana-appindicator3 nor libappindicator3 is installed"
                );
            } else {
                match tray(app) {
                    Ok(()) => state.tray.store(true, Ordering::SeqCst),
                    // No status-notifier host (a bare X server): the window still works.
                    Err(e) => tracing::warn!("no tray icon: {e}"),
                }
            }
            let argv: Vec<String> = std::env::args().collect();
            if argv.iter().any(|a| a == crate::AUTOSTART_ARG) {
                tracing::info!("started at login");
            }
            let cwd = std::env::current_dir().unwrap_or_default();
            queue_args(app, &argv, &cwd);
            Ok(())
        })
        .on_event(|app, event| match event {
            // The window (hidden in tauri.conf.json, so it never flashes) exists from here.
            RunEvent::Ready => {
                let state = app.state::<AppState>();
                let minimised = state.engine.config().settings.start_minimised && tray_usable(app);
                if !minimised {
                    show_main(app)
                }
            }
            RunEvent::WindowEvent {
                label,
                event: WindowEvent::CloseRequested { api, .. },
                ..
            } if label == MAIN => {
                let state = app.state::<AppState>();
                let cfg = state.engine.config();
                let watching = cfg.watch.iter().any(|r| !r.paused);
                if cfg.settings.close_to_tray && watching && tray_usable(app) {
                    api.prevent_close();
                    if let Some(w) = app.get_webview_window(MAIN) {
                        let _ = w.hide();
                    }
                }
            }
            RunEvent::Exit => crate::shutdown(app),
            // The Dock icon clicked while the window is hidden (closed to the tray).
            #[cfg(target_os = "macos")]
            RunEvent::Reopen { .. } => show_main(app),
            // Files dropped on the Dock icon, or sent with Open With (also at launch,
            // where macOS passes no arguments).
            #[cfg(target_os = "macos")]
            RunEvent::Opened { urls } => {
                let cwd = std::env::current_dir().unwrap_or_default();
                queue_args(app, &crate::opened::argv_from_urls(urls), &cwd);
                show_main(app);
            }
            _ => {}
        })
        .build()
}

/// Whether a person can see the tray icon: it was made, and something shows it. On Linux
/// the icon is a StatusNotifierItem; with no watcher on the session bus (stock GNOME
/// without the AppIndicator extension, a bare X server) it is invisible, and hiding the
/// window into it would leave Ferry running with nothing on screen. Asked each time:
/// a tray host can come and go while Ferry runs.
pub fn tray_usable<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.state::<AppState>().tray.load(Ordering::SeqCst) && tray_host()
}

/// The libraries the Linux tray crate loads when the first icon is made, in its order;
/// without any of them it panics, which would end the app at start.
#[cfg(target_os = "linux")]
const TRAY_LIBRARIES: [&str; 4] = [
    "libayatana-appindicator3.so.1",
    "libappindicator3.so.1",
    "libayatana-appindicator3.so",
    "libappindicator3.so",
];

/// Whether the tray's library is installed (Linux; always elsewhere).
pub fn tray_library() -> bool {
    #[cfg(target_os = "linux")]
    {
        loadable(&TRAY_LIBRARIES)
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

#[cfg(target_os = "linux")]
fn loadable(names: &[&str]) -> bool {
    // SAFETY: loading a shared library runs its initialisers; these are the same
    // libraries the tray crate itself loads a moment later.
    names
        .iter()
        .any(|name| unsafe { libloading::Library::new(name) }.is_ok())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn a_missing_library_is_found_missing_and_a_present_one_present() {
        assert!(!super::loadable(&["libferry-no-such-tray.so.1"]));
        assert!(super::loadable(&[
            "libferry-no-such-tray.so.1",
            "libc.so.6"
        ]));
        // This machine has the tray library (scripts/setup installs it).
        assert!(super::tray_library());
    }
}

#[cfg(target_os = "linux")]
fn tray_host() -> bool {
    let ask = || -> Result<bool, dbus::Error> {
        let conn = dbus::blocking::Connection::new_session()?;
        let bus = conn.with_proxy(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            std::time::Duration::from_millis(500),
        );
        let (owned,): (bool,) = bus.method_call(
            "org.freedesktop.DBus",
            "NameHasOwner",
            ("org.kde.StatusNotifierWatcher",),
        )?;
        Ok(owned)
    };
    ask().unwrap_or_else(|e| {
        tracing::debug!("no session bus to ask for a tray host: {e}");
        false
    })
}

#[cfg(not(target_os = "linux"))]
fn tray_host() -> bool {
    // macOS and Windows always show tray (menu bar / notification area) icons.
    true
}

pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window(MAIN) {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

fn queue_args<R: Runtime>(app: &AppHandle<R>, argv: &[String], cwd: &std::path::Path) {
    let (app, argv, cwd) = (app.clone(), argv.to_vec(), cwd.to_path_buf());
    // Off the main thread: a folder argument is walked and sniffed.
    tauri::async_runtime::spawn_blocking(move || {
        crate::opened::queue(&app, &argv, &cwd);
    });
}

fn tray<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Ferry", true, None::<&str>)?;
    let pause = MenuItem::with_id(app, "pause", "Pause all", true, None::<&str>)?;
    let resume = MenuItem::with_id(app, "resume", "Resume all", true, None::<&str>)?;
    // "Slow down" holds the `slow_bwlimit` setting instead of `bwlimit`; "Full speed"
    // goes back (both saved, so the CLI and the next start follow them too).
    let slow = MenuItem::with_id(app, "slow", "Slow down", true, None::<&str>)?;
    let full = MenuItem::with_id(app, "full", "Full speed", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Ferry", true, None::<&str>)?;
    let sep = PredefinedMenuItem::separator(app)?;
    let sep2 = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(
        app,
        &[&open, &pause, &resume, &sep2, &slow, &full, &sep, &quit],
    )?;
    let mut tray = TrayIconBuilder::with_id("ferry")
        .tooltip("Ferry")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| {
            let engine = app.state::<AppState>().engine.clone();
            match event.id().as_ref() {
                "open" => show_main(app),
                "pause" => log_count("paused", engine.pause(Selector::All)),
                "resume" => log_count("resumed", engine.resume(Selector::All)),
                "slow" | "full" => {
                    let on = event.id().as_ref() == "slow";
                    match engine.update_settings(|s| s.slow_down = on) {
                        Ok(()) => tracing::info!("tray: slow down {on}"),
                        Err(e) => tracing::warn!("tray: {}", e.message),
                    }
                }
                "quit" => app.exit(0),
                _ => {}
            }
        });
    if cfg!(target_os = "macos") {
        // The menu bar draws a template image in its own colours (light, dark, selected).
        let icon = tauri::image::Image::from_bytes(include_bytes!("../icons/tray-template.png"))?;
        tray = tray.icon(icon).icon_as_template(true);
    } else if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}

fn log_count(what: &str, r: ferry_core::Result<usize>) {
    match r {
        Ok(n) => tracing::info!("{what} {n} job(s) from the tray"),
        Err(e) => tracing::warn!("tray: {}", e.message),
    }
}
