//! A real S3 server implementation for tests and benchmarks: starts the `s3s-fs` binary
//! (`cargo install s3s-fs@0.14.1 --features binary --locked`) on 127.0.0.1 with a temp
//! root, and kills it on drop. Not a fake: it is here so every test suite starts it the
//! same way.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const ACCESS_KEY: &str = "FERRYTESTACCESSKEY";
pub const SECRET_KEY: &str = "ferry-test-secret-key-0123456789";

/// A running s3s-fs; killed on drop.
pub struct S3Server {
    child: Child,
    pub endpoint: String,
    pub port: u16,
    pub root: PathBuf,
    _dir: Option<tempfile_dir::Dir>,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// Start with one bucket, in a fresh temp root.
    pub fn start(bucket: &str) -> S3Server {
        let dir = tempfile_dir::Dir::new();
        let root = dir.path.clone();
        std::fs::create_dir_all(root.join(bucket)).expect("bucket dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let bin = std::env::var_os("S3S_FS")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("s3s-fs"));
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {} (cargo install s3s-fs@0.14.1 --features binary --locked): {e}",
                    bin.display()
                )
            });
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            root,
            _dir: Some(dir),
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("s3s-fs did not start listening on port {port}");
    }

    pub fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }
}

/// A temp directory removed on drop (kept tiny to avoid another dependency).
mod tempfile_dir {
    use std::path::PathBuf;

    pub struct Dir {
        pub path: PathBuf,
    }

    impl Dir {
        pub fn new() -> Dir {
            let path = std::env::temp_dir().join(format!(
                "ferry-s3s-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&path).expect("temp dir");
            Dir { path }
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
