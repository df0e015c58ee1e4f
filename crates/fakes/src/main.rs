//! `ferry-fakes [--print-endpoints]`: runs every fake with the default
//! (documented) limits until SIGINT/SIGTERM, for manual testing and for
//! tests that drive the `ferry` binary against fakes in another process.
//! The endpoints and credentials are printed as one JSON line on stdout
//! (always; `--print-endpoints` is accepted for clarity). `--discard-bytes` keeps only
//! the size and first/last bytes of uploads, so benchmarks can send GiBs.

use std::io::Write;

#[tokio::main]
async fn main() {
    let mut opts = ferry_fakes::Options::default();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--print-endpoints" => {}
            "--discard-bytes" => opts.discard_bytes = true,
            "-h" | "--help" => {
                println!("usage: ferry-fakes [--print-endpoints] [--discard-bytes]");
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
