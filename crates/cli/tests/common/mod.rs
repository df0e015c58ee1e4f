//! Helpers the CLI's test binaries share: the `ferry` binary in a temp home, big media
//! files that differ in every MiB, bounded waits, and comparing large files by content.

#![allow(dead_code)] // each test binary uses its own subset

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const MIB: u64 = 1024 * 1024;

pub fn ferry(home: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("ferry"));
    c.arg("--home").arg(home).env_remove("FERRY_HOME");
    c
}

/// A file of `size` bytes that starts like an MP4 and differs in every MiB.
pub fn big_file(dir: &Path, name: &str, size: u64) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let block: Vec<u8> = (0..MIB)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect();
    for i in 0..(size / MIB) {
        let mut b = block.clone();
        if i == 0 {
            b[..24].copy_from_slice(&[
                0, 0, 0, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0, 0, 2, 0, b'i',
                b's', b'o', b'm', b'i', b's', b'o', b'2',
            ]);
        } else {
            b[..8].copy_from_slice(&i.to_le_bytes());
        }
        f.write_all(&b).unwrap();
    }
    f.flush().unwrap();
    path
}

/// Whether two files hold the same bytes, read a MiB at a time.
pub fn same_content(a: &Path, b: &Path) -> bool {
    let (Ok(fa), Ok(fb)) = (std::fs::File::open(a), std::fs::File::open(b)) else {
        return false;
    };
    if fa.metadata().unwrap().len() != fb.metadata().unwrap().len() {
        return false;
    }
    let (mut ra, mut rb) = (std::io::BufReader::new(fa), std::io::BufReader::new(fb));
    let (mut ba, mut bb) = (vec![0u8; MIB as usize], vec![0u8; MIB as usize]);
    loop {
        let n = ra.read(&mut ba).unwrap();
        if n == 0 {
            return true;
        }
        rb.read_exact(&mut bb[..n]).unwrap();
        if ba[..n] != bb[..n] {
            return false;
        }
    }
}

pub fn json(home: &Path, args: &[&str]) -> serde_json::Value {
    let out = ferry(home).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ferry {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn library_rows(home: &Path) -> Vec<serde_json::Value> {
    json(home, &["library", "--json"])
        .as_array()
        .unwrap()
        .clone()
}

pub fn jobs(home: &Path) -> Vec<serde_json::Value> {
    json(home, &["queue", "list", "--all", "--json"])
        .as_array()
        .unwrap()
        .clone()
}

/// Wait (at most `secs`) until `cond` holds; a child that exits meanwhile fails the test
/// with its log.
pub fn wait_for(
    what: &str,
    secs: u64,
    child: Option<(&mut std::process::Child, &Path)>,
    cond: impl Fn() -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut child = child;
    while !cond() {
        if let Some((c, log)) = child.as_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                let err = std::fs::read_to_string(log).unwrap_or_default();
                panic!("ferry ended ({status}) before {what}:\n{err}");
            }
        }
        if Instant::now() > deadline {
            // Never leave a child running past its test.
            if let Some((c, _)) = child.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Send SIGTERM, as a logout or `systemctl stop` does, and wait (bounded) for the exit.
#[cfg(unix)]
pub fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -TERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ferry did not stop within 20 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Names of the files under `dir` (recursively), sorted.
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// Make sure a child never outlives its test.
pub struct Reap(pub std::process::Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
