//! The one place that decides whether and when to try a request again.
//!
//! Transient failures (408, 429, 5xx, connection errors) retry with jittered exponential
//! backoff, honouring `Retry-After` / `X-RateLimit-Reset` as the provider parsed them.
//! Everything else (400/401/403/404/422) is final. A create that is not idempotent is not
//! repeated after an ambiguous failure — the body was sent and the answer lost, or the
//! answer was a 408/5xx that a gateway gives while the origin stores it anyway — unless
//! the caller's `landed` check shows it did not reach the server.

use std::future::Future;
use std::time::Duration;

use super::Ctx;
use crate::error::{Code, Error, Result};

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base: Duration,
    pub max_delay: Duration,
    /// A server that asks us to wait longer than this gets a clear failure instead of a
    /// process that looks hung.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            max_wait: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Full-jitter exponential backoff for attempt `n` (1 = first retry).
    pub fn backoff(&self, n: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        // Half fixed, half random: spread clients out without ever retrying at once.
        let half = exp / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// Whether an operation may be repeated blindly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating it is harmless (GET, presign, a PUT to the same key).
    Safe,
    /// Repeating it after the body was sent may create a duplicate.
    Create,
}

/// Run `op` until it succeeds, fails for good, or attempts run out.
pub async fn run<T, F, Fut>(ctx: &Ctx, idem: Idempotency, op: F) -> Result<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    run_checked(ctx, idem, op, |_| async { Ok(None::<T>) }).await
}

/// Like [`run`], for creates: after an ambiguous failure `landed` asks the remote
/// library whether the create took effect. `Some(item)` ends with it; `None` means it
/// did not land and the create may be repeated.
pub async fn run_checked<T, F, Fut, L, LFut>(
    ctx: &Ctx,
    idem: Idempotency,
    mut op: F,
    mut landed: L,
) -> Result<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T>>,
    L: FnMut(&Error) -> LFut,
    LFut: Future<Output = Result<Option<T>>>,
{
    let policy = ctx.retry;
    let mut attempt = 1;
    loop {
        ctx.check_cancelled()?;
        let err = match ctx.cancellable(op(attempt)).await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if err.code == Code::Cancelled || !err.is_transient() {
            return Err(err);
        }
        if idem == Idempotency::Create && err.may_have_landed() {
            match landed(&err).await {
                Ok(Some(item)) => return Ok(item),
                Ok(None) => {}
                Err(check) => {
                    return Err(Error::new(
                        Code::UploadAmbiguous,
                        format!(
                            "{}; the server may or may not have kept it, and checking failed ({}), \
                             so Ferry did not send it again to avoid a duplicate",
                            err.message, check.message
                        ),
                    ))
                }
            }
        }
        if attempt >= policy.max_attempts {
            return Err(err.context(format!("gave up after {attempt} attempts")));
        }
        let delay = match err.retry_after {
            Some(d) if d > policy.max_wait => {
                return Err(err.context(format!(
                    "the server asked to wait {}s, longer than Ferry waits ({}s); try again later",
                    d.as_secs(),
                    policy.max_wait.as_secs()
                )))
            }
            Some(d) => d,
            None => policy.backoff(attempt),
        };
        tracing::debug!(code = %err.code, attempt, ?delay, "retrying: {}", err.message);
        ctx.progress.retrying(attempt, delay, &err);
        tokio::select! {
            _ = ctx.cancel.cancelled() => return Err(Error::cancelled()),
            _ = tokio::time::sleep(delay) => {}
        }
        attempt += 1;
    }
}

/// Presigned-URL flows: get a URL, send to it; if the URL turns out expired or
/// rejected, ask for a new one once.
pub async fn with_fresh_url<U, T, P, PFut, S, SFut>(
    ctx: &Ctx,
    mut presign: P,
    mut send: S,
) -> Result<T>
where
    P: FnMut() -> PFut,
    PFut: Future<Output = Result<U>>,
    S: FnMut(U) -> SFut,
    SFut: Future<Output = Result<T>>,
{
    let mut renewed = false;
    loop {
        let target = run(ctx, Idempotency::Safe, |_| presign()).await?;
        match send(target).await {
            Err(e) if e.code == Code::UploadExpired && !renewed => {
                tracing::debug!("upload URL expired; requesting a new one");
                ctx.progress.restart(0);
                renewed = true;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn ctx() -> Ctx {
        let mut c = Ctx::new(reqwest::Client::new());
        c.retry.base = Duration::from_millis(1);
        c
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_success() {
        let n = AtomicU32::new(0);
        let r = run(&ctx(), Idempotency::Safe, |_| async {
            if n.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(Error::new(Code::ProviderUnavailable, "503"))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(n.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn client_errors_are_not_retried() {
        let n = AtomicU32::new(0);
        let r: Result<()> = run(&ctx(), Idempotency::Safe, |_| async {
            n.fetch_add(1, Ordering::SeqCst);
            Err(Error::new(Code::AuthInvalid, "401"))
        })
        .await;
        assert_eq!(r.unwrap_err().code, Code::AuthInvalid);
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn attempts_are_bounded() {
        let n = AtomicU32::new(0);
        let r: Result<()> = run(&ctx(), Idempotency::Safe, |_| async {
            n.fetch_add(1, Ordering::SeqCst);
            Err(Error::new(Code::NetworkReset, "reset"))
        })
        .await;
        assert!(r.is_err());
        assert_eq!(n.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn an_ambiguous_create_is_not_repeated_when_it_landed() {
        let n = AtomicU32::new(0);
        let r = run_checked(
            &ctx(),
            Idempotency::Create,
            |_| async {
                n.fetch_add(1, Ordering::SeqCst);
                Err::<u32, _>(Error::new(Code::NetworkReset, "lost").body_sent(true))
            },
            |_| async { Ok(Some(42)) },
        )
        .await;
        assert_eq!(r.unwrap(), 42);
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_gateway_timeout_on_a_create_asks_whether_it_landed_before_sending_again() {
        for status in [408u16, 500, 502, 503, 504, 524] {
            let n = AtomicU32::new(0);
            let asked = AtomicU32::new(0);
            let r = run_checked(
                &ctx(),
                Idempotency::Create,
                |_| async {
                    n.fetch_add(1, Ordering::SeqCst);
                    Err::<u32, _>(
                        Error::new(
                            crate::providers::http::code_for_status(
                                reqwest::StatusCode::from_u16(status).unwrap(),
                            ),
                            "gateway",
                        )
                        .with_status(status),
                    )
                },
                |_| async {
                    asked.fetch_add(1, Ordering::SeqCst);
                    Ok(Some(9))
                },
            )
            .await;
            assert_eq!(r.unwrap(), 9, "{status}");
            assert_eq!(n.load(Ordering::SeqCst), 1, "{status}: not sent again");
            assert_eq!(asked.load(Ordering::SeqCst), 1, "{status}");
        }
    }

    #[tokio::test]
    async fn retry_after_longer_than_the_cap_fails_clearly() {
        let r: Result<()> = run(&ctx(), Idempotency::Safe, |_| async {
            Err(Error::new(Code::ProviderRateLimited, "429")
                .with_retry_after(Some(Duration::from_secs(100_000))))
        })
        .await;
        let e = r.unwrap_err();
        assert_eq!(e.code, Code::ProviderRateLimited);
        assert!(e.message.contains("asked to wait"), "{}", e.message);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert!(p.backoff(1) <= Duration::from_millis(500));
        assert!(p.backoff(10) <= p.max_delay);
        assert!(p.backoff(10) >= p.max_delay / 2);
    }
}
