//! `ferry-fakes [--print-endpoints]`: runs every fake with the default
//! (documented) limits until SIGINT/SIGTERM, for manual testing and for
//! tests that drive the `ferry` binary against fakes in another process.
//! The endpoints and credentials are printed as one JSON line on stdout
//! (always; `--print-endpoints` is accepted for clarity). `--discard-bytes` keeps only
//! the size and first/last bytes of uploads, so benchmarks can send GiBs.
//!
//! `ferry-fakes proxy --upstream 127.0.0.1:PORT --stats FILE` runs only the counting TCP
//! proxy (see `proxy.rs`): it prints `{"port": N}` and rewrites FILE with
//! `{"up_bytes": …, "part_uploads": …}` ten times a second, for benchmarks.

use std::io::Write;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("proxy") {
        return proxy(&args[1..]).await;
    }
    let mut opts = ferry_fakes::Options::default();
    for arg in args {
        match arg.as_str() {
            "--print-endpoints" => {}
            "--discard-bytes" => opts.discard_bytes = true,
            // Benchmarks measure Ferry, not the documented per-minute quotas.
            "--no-rate-limits" => {
                opts.postsyncer_rate_limit = u32::MAX;
                opts.socialsyncer_rate_limit = u32::MAX;
            }
            "-h" | "--help" => {
                println!(
                    "usage: ferry-fakes [--print-endpoints] [--discard-bytes] [--no-rate-limits]"
                );
                return;
            }
            other => {
                eprintln!("ferry-fakes: unknown argument {other:?}");
                std::process::exit(2);
            }
        }
    }
    let fakes = ferry_fakes::Fakes::start(opts).await;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", fakes.endpoints_json());
    let _ = out.flush();
    drop(out);
    wait_for_signal().await;
}

async fn proxy(args: &[String]) {
    let mut upstream = None;
    let mut stats = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--upstream" => {
                upstream = it
                    .next()
                    .and_then(|v| v.parse::<std::net::SocketAddr>().ok())
            }
            "--stats" => stats = it.next().map(std::path::PathBuf::from),
            other => {
                eprintln!("ferry-fakes proxy: unknown argument {other:?}");
                std::process::exit(2);
            }
        }
    }
    let (Some(upstream), Some(stats)) = (upstream, stats) else {
        eprintln!("usage: ferry-fakes proxy --upstream 127.0.0.1:PORT --stats FILE");
        std::process::exit(2);
    };
    let proxy = ferry_fakes::proxy::Proxy::start(upstream).await;
    println!("{}", serde_json::json!({ "port": proxy.port }));
    let _ = std::io::stdout().flush();
    let writer = tokio::spawn(async move {
        loop {
            let body = serde_json::json!({ "up_bytes": proxy.up_bytes(), "part_uploads": proxy.part_uploads() });
            let tmp = stats.with_extension("tmp");
            if std::fs::write(&tmp, body.to_string()).is_ok() {
                let _ = std::fs::rename(&tmp, &stats);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    wait_for_signal().await;
    writer.abort();
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
