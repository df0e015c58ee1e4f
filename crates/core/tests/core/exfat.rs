//! The local library and the after-upload move on a real exFAT filesystem — what camera
//! cards and many external SSDs use: no hard links (EPERM), no no-replace rename
//! (EINVAL). An image made with exfatprogs, on a loop device, mounted with exfat-fuse
//! (this kernel has no vfat or exfat module); needs root, as `make test` runs here.
//! Linux only: the tools are Linux's.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;

use ferry_core::Kind;

use crate::support::{files_under, png, TestEngine};

/// An exFAT filesystem mounted for one test; unmounted and detached on drop.
struct Exfat {
    _dir: tempfile::TempDir,
    device: String,
    mnt: PathBuf,
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e} (make setup installs exfatprogs and exfat-fuse)"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Exfat {
    fn mount() -> Exfat {
        let root = std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
        assert!(
            root,
            "the exFAT tests need root (a loop device and a mount); run `make test` as root"
        );
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("card.img");
        std::fs::File::create(&img)
            .unwrap()
            .set_len(64 << 20)
            .unwrap();
        run("mkfs.exfat", &[img.to_str().unwrap()]);
        let device = run("losetup", &["-f", "--show", img.to_str().unwrap()]);
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let fs = Exfat {
            _dir: dir,
            device,
            mnt,
        };
        run("mount.exfat-fuse", &[&fs.device, fs.mnt.to_str().unwrap()]);
        fs
    }
}

impl Drop for Exfat {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mnt).status();
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
    }
}

fn no_hard_links_here(dir: &Path) {
    let a = dir.join("probe");
    std::fs::write(&a, b"x").unwrap();
    assert!(
        std::fs::hard_link(&a, dir.join("probe-link")).is_err(),
        "this filesystem has hard links: the test would not test the fallback"
    );
    std::fs::remove_file(a).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_library_on_exfat_takes_every_file_and_never_overwrites_one() {
    let fs = Exfat::mount();
    let lib = fs.mnt.join("Ferry");
    std::fs::create_dir_all(&lib).unwrap();
    no_hard_links_here(&lib);
    let t = TestEngine::with_account(Kind::Local, &[("dir", lib.display().to_string())], None);
    let first = png(50_000);
    let mut second = png(60_000);
    second[100] ^= 1;
    let a = t.file("a/photo.png", &first);
    let b = t.file("b/photo.png", &second);
    let ma = t.upload(&a).await.expect("first upload to exFAT");
    let mb = t.upload(&b).await.expect("second upload to exFAT");
    let pa = lib.join(&ma[0].id);
    let pb = lib.join(&mb[0].id);
    assert!(pa.ends_with("photo.png"), "{}", pa.display());
    assert!(pb.ends_with("photo (2).png"), "{}", pb.display());
    assert_eq!(std::fs::read(&pa).unwrap(), first);
    assert_eq!(std::fs::read(&pb).unwrap(), second);
    // Nothing half-written or temporary left behind.
    let left: Vec<_> = files_under(&lib)
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_move_on_exfat_never_replaces_a_file_of_that_name() {
    let fs = Exfat::mount();
    no_hard_links_here(&fs.mnt);
    let (src, dest) = (fs.mnt.join(".x.part"), fs.mnt.join("IMG_0001.JPG"));
    std::fs::write(&src, b"today").unwrap();
    std::fs::write(&dest, b"the earlier one").unwrap();
    let e = ferry_core::place::rename_no_clobber(&src, &dest).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(&dest).unwrap(), b"the earlier one");
    assert_eq!(std::fs::read(&src).unwrap(), b"today", "the source is kept");
    let free = fs.mnt.join("IMG_0001 (2).JPG");
    ferry_core::place::rename_no_clobber(&src, &free).unwrap();
    assert_eq!(std::fs::read(&free).unwrap(), b"today");
    assert!(!src.exists());
}

/// exFAT refuses `:` `?` `*` `"` `<` `>` `|` in names, on Linux as on Windows: a file
/// named so lands under a name the card takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_exfat_refuses_lands_under_one_it_takes() {
    let fs = Exfat::mount();
    let lib = fs.mnt.join("Ferry");
    let t = TestEngine::with_account(Kind::Local, &[("dir", lib.display().to_string())], None);
    let bytes = png(20_000);
    let src = t.file("clip: final?.png", &bytes);
    let media = t.upload(&src).await.expect("upload to exFAT");
    let placed = lib.join(&media[0].id);
    assert!(placed.ends_with("clip_ final_.png"), "{}", placed.display());
    assert_eq!(std::fs::read(&placed).unwrap(), bytes);
    assert_eq!(
        media[0].name, "clip: final?.png",
        "the library keeps the original name"
    );
}
