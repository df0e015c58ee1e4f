//! Forward proxies on 127.0.0.1 for tests: an HTTP proxy (CONNECT tunnels, and plain
//! `GET http://host/…` requests in absolute form) and a SOCKS5 proxy (RFC 1928, no auth
//! or username/password per RFC 1929). Each records the target `host:port` every client
//! asked for, the connections and the bytes clients sent through it, and the credentials
//! it was offered, so a test can check that traffic really went through it.
//!
//! What it must not contain: Ferry's own client logic, or a listener on anything but
//! loopback. It connects only to the targets clients name, which in tests are loopback
//! fakes; a target it cannot reach is answered with the protocol's failure reply.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy requires of clients.
#[derive(Clone, Debug, Default)]
pub enum ProxyAuth {
    /// Anyone on loopback.
    #[default]
    None,
    /// This user and password (HTTP: `Proxy-Authorization: Basic`, SOCKS5: RFC 1929).
    UserPass(String, String),
}

#[derive(Default)]
struct Seen {
    connections: AtomicU64,
    up_bytes: AtomicU64,
    targets: Mutex<Vec<String>>,
    refused_auth: AtomicU64,
}

/// One running forward proxy; stops when the last clone is dropped.
#[derive(Clone)]
pub struct ForwardProxy {
    pub port: u16,
    seen: Arc<Seen>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

#[derive(Clone, Copy)]
enum Protocol {
    Http,
    Socks5,
}

impl ForwardProxy {
    /// An HTTP proxy (CONNECT and absolute-form requests).
    pub async fn http(auth: ProxyAuth) -> ForwardProxy {
        Self::start(Protocol::Http, auth).await
    }

    /// A SOCKS5 proxy.
    pub async fn socks5(auth: ProxyAuth) -> ForwardProxy {
        Self::start(Protocol::Socks5, auth).await
    }

    async fn start(protocol: Protocol, auth: ProxyAuth) -> ForwardProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Seen::default());
        let s = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                s.connections.fetch_add(1, Ordering::SeqCst);
                let (s, auth) = (s.clone(), auth.clone());
                tokio::spawn(async move {
                    let _ = client.set_nodelay(true);
                    let _ = match protocol {
                        Protocol::Http => serve_http(client, &s, &auth).await,
                        Protocol::Socks5 => serve_socks5(client, &s, &auth).await,
                    };
                });
            }
        });
        ForwardProxy {
            port,
            seen,
            task: Arc::new(task),
        }
    }

    /// `127.0.0.1:PORT`: a client names it `http://…` or `socks5://…`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Connections clients opened to the proxy.
    pub fn connections(&self) -> u64 {
        self.seen.connections.load(Ordering::SeqCst)
    }

    /// Bytes clients sent through the proxy to their targets (after the handshake).
    pub fn up_bytes(&self) -> u64 {
        self.seen.up_bytes.load(Ordering::SeqCst)
    }

    /// Every `host:port` a client asked to reach, in order (after auth succeeded).
    pub fn targets(&self) -> Vec<String> {
        self.seen.targets.lock().expect("targets lock").clone()
    }

    /// Handshakes refused for missing or wrong credentials.
    pub fn refused_auth(&self) -> u64 {
        self.seen.refused_auth.load(Ordering::SeqCst)
    }
}

type Io = std::io::Result<()>;

/// Copy both ways until either side closes, counting what the client sends.
async fn relay<C>(client: C, server: TcpStream, seen: &Seen) -> Io
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            seen.up_bytes.fetch_add(n as u64, Ordering::SeqCst);
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
    Ok(())
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// Heads are small; a client sending more than this without a blank line is not HTTP.
const MAX_HEAD: usize = 64 * 1024;

async fn serve_http(client: TcpStream, seen: &Seen, auth: &ProxyAuth) -> Io {
    let mut reader = BufReader::new(client);
    let mut head: Vec<String> = Vec::new();
    let mut size = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        size += line.len();
        if size > MAX_HEAD {
            return Ok(());
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let Some(request_line) = head.first().cloned() else {
        return Ok(());
    };
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if let ProxyAuth::UserPass(u, p) = auth {
        let want = basic(u, p);
        let ok = head.iter().skip(1).any(|h| {
            h.split_once(':').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("proxy-authorization") && v.trim() == want
            })
        });
        if !ok {
            seen.refused_auth.fetch_add(1, Ordering::SeqCst);
            reader
                .get_mut()
                .write_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                      Proxy-Authenticate: Basic realm=\"fake\"\r\ncontent-length: 0\r\n\r\n",
                )
                .await?;
            return Ok(());
        }
    }
    if method.eq_ignore_ascii_case("CONNECT") {
        seen.targets
            .lock()
            .expect("targets lock")
            .push(target.to_string());
        let Ok(server) = TcpStream::connect(target).await else {
            reader
                .get_mut()
                .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                .await?;
            return Ok(());
        };
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await?;
        // Bytes the client pipelined after the head are already in the buffer.
        let early = reader.buffer().to_vec();
        let mut server = server;
        if !early.is_empty() {
            seen.up_bytes
                .fetch_add(early.len() as u64, Ordering::SeqCst);
            server.write_all(&early).await?;
        }
        return relay(reader.into_inner(), server, seen).await;
    }
    // Absolute form (`GET http://host:port/path HTTP/1.1`): forward this connection's
    // requests to that origin as they are, minus the proxy's own header.
    let Some(rest) = target.strip_prefix("http://") else {
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    seen.targets
        .lock()
        .expect("targets lock")
        .push(authority.clone());
    let Ok(mut server) = TcpStream::connect(&authority).await else {
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let version = parts.next().unwrap_or("HTTP/1.1");
    let mut out = format!("{method} {path} {version}\r\n");
    for h in head.iter().skip(1) {
        let name = h.split(':').next().unwrap_or("").trim();
        if !name.eq_ignore_ascii_case("proxy-authorization")
            && !name.eq_ignore_ascii_case("proxy-connection")
        {
            out.push_str(h);
            out.push_str("\r\n");
        }
    }
    // One request per connection: later requests on it would be sent in absolute form,
    // which an origin does not expect.
    out.push_str("connection: close\r\n\r\n");
    let early = reader.buffer().to_vec();
    seen.up_bytes
        .fetch_add((out.len() + early.len()) as u64, Ordering::SeqCst);
    server.write_all(out.as_bytes()).await?;
    server.write_all(&early).await?;
    relay(reader.into_inner(), server, seen).await
}

async fn serve_socks5(mut client: TcpStream, seen: &Seen, auth: &ProxyAuth) -> Io {
    // Greeting: VER NMETHODS METHODS.
    let mut hdr = [0u8; 2];
    client.read_exact(&mut hdr).await?;
    if hdr[0] != 5 {
        return Ok(());
    }
    let mut methods = vec![0u8; hdr[1] as usize];
    client.read_exact(&mut methods).await?;
    let want = match auth {
        ProxyAuth::None => 0x00,
        ProxyAuth::UserPass(..) => 0x02,
    };
    if !methods.contains(&want) {
        seen.refused_auth.fetch_add(1, Ordering::SeqCst);
        client.write_all(&[5, 0xff]).await?;
        return Ok(());
    }
    client.write_all(&[5, want]).await?;
    if let ProxyAuth::UserPass(u, p) = auth {
        // RFC 1929: VER(1) ULEN UNAME PLEN PASSWD.
        let mut v = [0u8; 2];
        client.read_exact(&mut v).await?;
        let mut name = vec![0u8; v[1] as usize];
        client.read_exact(&mut name).await?;
        let mut plen = [0u8; 1];
        client.read_exact(&mut plen).await?;
        let mut pass = vec![0u8; plen[0] as usize];
        client.read_exact(&mut pass).await?;
        if v[0] != 1 || name != u.as_bytes() || pass != p.as_bytes() {
            seen.refused_auth.fetch_add(1, Ordering::SeqCst);
            client.write_all(&[1, 1]).await?;
            return Ok(());
        }
        client.write_all(&[1, 0]).await?;
    }
    // Request: VER CMD RSV ATYP DST.ADDR DST.PORT.
    let mut req = [0u8; 4];
    client.read_exact(&mut req).await?;
    if req[0] != 5 || req[1] != 1 {
        // Only CONNECT: "command not supported".
        client.write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    }
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            client.read_exact(&mut a).await?;
            std::net::Ipv4Addr::from(a).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).await?;
            let mut name = vec![0u8; len[0] as usize];
            client.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
        4 => {
            let mut a = [0u8; 16];
            client.read_exact(&mut a).await?;
            format!("[{}]", std::net::Ipv6Addr::from(a))
        }
        _ => {
            client.write_all(&[5, 8, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
            return Ok(());
        }
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await?;
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    seen.targets
        .lock()
        .expect("targets lock")
        .push(target.clone());
    let Ok(server) = TcpStream::connect(&target).await else {
        // "Connection refused".
        client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    };
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await?;
    relay(client, server, seen).await
}
