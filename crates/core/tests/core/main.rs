//! ferry-core's behaviour over real sockets: every provider against its strict fake
//! (ferry-fakes), S3 against a real S3 server (s3s-fs), the keychain against a real
//! Secret Service, and the wire format of request bodies on a raw socket.

mod bandwidth;
mod conformance;
mod diagnostics;
mod drops;
mod exfat;
mod hygiene;
mod idempotency;
mod import;
mod keychain;
mod naming;
mod order;
mod paging;
#[cfg(target_os = "linux")]
mod power;
mod proxy;
mod queue;
// s3s-fs (a Linux program) cannot be started under Wine.
#[cfg(not(windows))]
mod s3;
mod security;
mod spool;
mod support;
mod watch;
mod wire;

/// Path part of the FastPix fake's resumable session URL.
pub const FASTPIX_SESSION_PATH: &str = "/upload/fastpix-uploads-fake/";
