//! Starting the real `ferry-app` executable: a start-up failure shows a native message box
//! and is written to the log file; without a display it still exits with status 2 and
//! says why on stderr; a second launch for the same home hands over and exits.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const APP: &str = env!("CARGO_BIN_EXE_ferry-app");

/// A home whose database is not a database.
fn damaged_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("ferry.db"), vec![b'x'; 8192]).unwrap();
    home
}

fn app(home: &Path) -> Command {
    let mut c = Command::new(APP);
    c.env("FERRY_HOME", home)
        .env_remove("FERRY_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Ends the child however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The names of the X server's top-level windows and their children.
fn window_names() -> String {
    let out = Command::new("xwininfo")
        .args(["-root", "-tree"])
        .output()
        .expect("xwininfo (x11-utils; scripts/test runs these tests under xvfb-run)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_damaged_database_is_shown_in_a_message_box_and_written_to_the_log() {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "needs an X display (scripts/test runs this under xvfb-run)"
    );
    let home = damaged_home();
    let mut child = Running(app(home.path()).spawn().unwrap());
    let start = Instant::now();
    let mut seen = false;
    while start.elapsed() < Duration::from_secs(30) && !seen {
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!("ferry-app exited ({status}) without waiting for the box to be closed");
        }
        seen = window_names().contains("Ferry could not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        seen,
        "no message box titled \"Ferry could not start\" appeared"
    );
    drop(child);

    let log = std::fs::read_to_string(home.path().join("logs").join("ferry.log")).unwrap();
    assert!(log.contains("Ferry could not start"), "{log}");
    assert!(log.contains("is not a readable Ferry database"), "{log}");
    assert!(log.contains("move it aside"), "the fix is named: {log}");
    // Left untouched, as the message says.
    assert_eq!(
        std::fs::read(home.path().join("ferry.db")).unwrap(),
        vec![b'x'; 8192]
    );
}

#[test]
fn without_a_display_a_start_up_failure_exits_2_and_says_why() {
    let home = damaged_home();
    let child = app(home.path())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .spawn()
        .unwrap();
    let child = Running(child);
    let out = wait_output(child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not a readable Ferry database"),
        "{stderr}"
    );
}

/// The child's exit status and stderr, or a panic (after killing it) if it runs too long.
fn wait_output(mut child: Running, limit: Duration) -> std::process::Output {
    let start = Instant::now();
    while child.0.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < limit, "ferry-app did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stderr = Vec::new();
    std::io::Read::read_to_end(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
    let status = child.0.wait().unwrap();
    std::process::Output {
        status,
        stdout: Vec::new(),
        stderr,
    }
}

#[test]
fn a_second_launch_for_a_home_whose_app_runs_hands_over_and_exits_0() {
    // The running app is stood in for by holding the home's instance lock and serving its
    // requests (the real app does the same through `instance::Instance::serve`; the e2e
    // test launches the real one twice).
    let home = tempfile::tempdir().unwrap();
    let request = ferry_app::instance::Request {
        argv: vec!["ferry-app".into()],
        cwd: home.path().to_path_buf(),
    };
    let ferry_app::instance::Claim::First(first) =
        ferry_app::instance::claim(home.path(), &request).unwrap()
    else {
        panic!("nothing else holds this home");
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let stop = tokio_util::sync::CancellationToken::new();
    first.serve(stop.clone(), move |r| tx.send(r).unwrap());

    let photo = home.path().join("photo.png");
    std::fs::write(&photo, b"png").unwrap();
    let child = Running(
        app(home.path())
            .arg(&photo)
            .current_dir(home.path())
            .spawn()
            .unwrap(),
    );
    let out = wait_output(child, Duration::from_secs(30));
    stop.cancel();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(got.argv[1..], [photo.display().to_string()]);
    assert_eq!(got.cwd, home.path());
    // It opened nothing of the home's: no database was made.
    assert!(!home.path().join("ferry.db").exists());
}
