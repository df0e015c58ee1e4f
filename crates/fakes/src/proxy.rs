//! A TCP proxy on 127.0.0.1 for tests and benchmarks: forwards to an upstream server and
//! counts what the client sent (bytes, and S3 `UploadPart` requests), optionally
//! throttling the upload direction so a test can stop a transfer midway. It can go away
//! and come back on the same port ([`Proxy::stop`], [`Proxy::start_on`]): a server that
//! cannot be reached for a while.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Stats {
    up_bytes: AtomicU64,
    part_puts: AtomicU64,
    /// Upload rate limit in bytes a second (0 = none).
    throttle: AtomicU64,
    window: Mutex<Option<(Instant, u64)>>,
    /// The connections being forwarded, ended by [`Proxy::stop`].
    conns: Mutex<Vec<tokio::task::AbortHandle>>,
}

#[derive(Clone)]
pub struct Proxy {
    pub port: u16,
    stats: Arc<Stats>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

const MARK: &[u8] = b"partNumber=";

impl Proxy {
    /// Listen on 127.0.0.1 (ephemeral port) and forward every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        Proxy::start_on(0, upstream).await
    }

    /// Listen on 127.0.0.1:`port` (0 = any): a proxy [`stop`](Proxy::stop)ped a moment
    /// ago comes back on its port (the bind is tried for up to 5 s while the old
    /// listener closes).
    pub async fn start_on(port: u16, upstream: SocketAddr) -> Proxy {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", port)).await {
                Ok(l) => break l,
                Err(_) if tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("bind proxy on {port}: {e}"),
            }
        };
        let port = listener.local_addr().expect("addr").port();
        let stats = Arc::new(Stats::default());
        let s = stats.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let s = s.clone();
                let conns = s.clone();
                let conn = tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        let mut tail: Vec<u8> = Vec::new();
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            // Count part uploads in the request heads (a marker split
                            // across reads is caught through the kept tail).
                            let mut scan = std::mem::take(&mut tail);
                            scan.extend_from_slice(&buf[..n]);
                            let found = scan.windows(MARK.len()).filter(|w| *w == MARK).count();
                            s.part_puts.fetch_add(found as u64, Ordering::SeqCst);
                            let keep = scan.len().min(MARK.len() - 1);
                            tail = scan[scan.len() - keep..].to_vec();
                            s.up_bytes.fetch_add(n as u64, Ordering::SeqCst);
                            throttle(&s, n as u64).await;
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = sw.shutdown().await;
                    };
                    let down = async {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                        let _ = cw.shutdown().await;
                    };
                    tokio::join!(up, down);
                });
                let mut list = conns.conns.lock().expect("conns lock");
                list.retain(|c| !c.is_finished());
                list.push(conn.abort_handle());
            }
        });
        Proxy {
            port,
            stats,
            task: Arc::new(task),
        }
    }

    /// Go away: stop listening (connecting is refused) and cut every forwarded
    /// connection. Resolves once the port is closed.
    pub async fn stop(self) {
        self.task.abort();
        for c in self.stats.conns.lock().expect("conns lock").drain(..) {
            c.abort();
        }
        let port = self.port;
        drop(self);
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the proxy on {port} did not stop");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Bytes clients sent through the proxy so far (heads and bodies).
    pub fn up_bytes(&self) -> u64 {
        self.stats.up_bytes.load(Ordering::SeqCst)
    }

    /// S3 `UploadPart` requests seen so far.
    pub fn part_uploads(&self) -> u64 {
        self.stats.part_puts.load(Ordering::SeqCst)
    }

    /// Limit the upload direction to `bytes_per_sec` (0 = unlimited).
    pub fn set_throttle(&self, bytes_per_sec: u64) {
        self.stats.throttle.store(bytes_per_sec, Ordering::SeqCst);
        *self.stats.window.lock().expect("window lock") = None;
    }
}

async fn throttle(s: &Stats, n: u64) {
    let rate = s.throttle.load(Ordering::SeqCst);
    if rate == 0 {
        return;
    }
    let wait = {
        let mut w = s.window.lock().expect("window lock");
        let (start, sent) = w.get_or_insert((Instant::now(), 0));
        *sent += n;
        let due = Duration::from_secs_f64(*sent as f64 / rate as f64);
        due.saturating_sub(start.elapsed())
    };
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}
