//! Holding upload bodies to a bandwidth limit: a [`Limiter`] per limit (all of Ferry, one
//! per account), shared by every job it covers, and a [`Throttle`] per job that makes the
//! job's body streams wait their turn at each of its limiters.
//!
//! Fair across jobs: a job's streams (S3 sends several parts at once) pass one at a time
//! through a per-job gate, so every sending job holds at most one place in a limiter's
//! line and the limit is shared out a slice at a time, round-robin. A limiter follows its
//! [`Schedule`] through the week and takes a new one at once: every waiting stream wakes
//! and takes its place again at the new rate, so a change holds within a slice's time
//! (≤ 1/8 s at the new rate, or immediately when it rises).
//!
//! Nothing here knows about jobs, accounts or settings (`queue::bandwidth` maps those).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::watch;

use super::bwlimit::{Rate, Schedule};
use super::ByteStream;

/// The largest slice of a chunk that waits for its turn: small enough that four jobs
/// share a few MB/s smoothly, large enough that the bookkeeping costs nothing.
const MAX_SLICE: usize = 64 * 1024;
const MIN_SLICE: usize = 4 * 1024;
/// How long a computed rate is trusted before the local time is read again: a clock or
/// time-zone change (travel, DST) is picked up within this.
const RECHECK: Duration = Duration::from_secs(30);

/// One bandwidth limit, followed through its timetable.
pub struct Limiter {
    state: Mutex<State>,
    /// Bumped on every change of schedule: waiting streams wake and queue again.
    changed: watch::Sender<u64>,
}

struct State {
    schedule: Schedule,
    /// The rate now, and until when it holds.
    rate: Rate,
    valid_until: Instant,
    /// When the limit's line is free again (the theoretical arrival time of the next
    /// slice): slices are booked back to back at the rate.
    next_free: Instant,
}

impl Limiter {
    pub fn new(schedule: Schedule) -> Arc<Limiter> {
        let now = Instant::now();
        let (changed, _) = watch::channel(0);
        let limiter = Limiter {
            state: Mutex::new(State {
                schedule,
                rate: Rate::Unlimited,
                valid_until: now,
                next_free: now,
            }),
            changed,
        };
        limiter.lock().refresh(now);
        Arc::new(limiter)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Follow another schedule from now on (a setting changed). No-op when it is the same.
    pub fn set(&self, schedule: Schedule) {
        {
            let mut s = self.lock();
            if s.schedule == schedule {
                return;
            }
            s.schedule = schedule;
            let now = Instant::now();
            s.next_free = now;
            s.refresh(now);
        }
        self.changed.send_modify(|g| *g += 1);
    }

    pub fn schedule(&self) -> Schedule {
        self.lock().schedule.clone()
    }

    /// The rate in force now.
    pub fn rate(&self) -> Rate {
        let mut s = self.lock();
        let now = Instant::now();
        if now >= s.valid_until {
            s.refresh(now);
        }
        s.rate
    }

    /// Wait until `n` bytes may go. Returns at once when there is no limit.
    pub async fn take(&self, n: usize) {
        let mut changed = self.changed.subscribe();
        loop {
            let wait = {
                let mut s = self.lock();
                let now = Instant::now();
                if now >= s.valid_until {
                    s.refresh(now);
                }
                match s.rate {
                    Rate::Unlimited => return,
                    // Nothing goes until the timetable or a setting says otherwise.
                    Rate::Paused => Err(s.valid_until),
                    Rate::BytesPerSec(bps) => {
                        let start = s.next_free.max(now);
                        s.next_free = start + Duration::from_secs_f64(n as f64 / bps as f64);
                        Ok(start)
                    }
                }
            };
            match wait {
                Ok(start) => {
                    if start <= Instant::now() {
                        return;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep_until(start) => return,
                        // A new rate: queue again under it.
                        _ = changed.changed() => {}
                    }
                }
                Err(until) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(until) => {}
                        _ = changed.changed() => {}
                    }
                }
            }
        }
    }

    /// The slice a stream waits for at a time under the rate now: about 1/8 s of it
    /// (without a limit, any size: the chunk).
    fn slice(&self) -> usize {
        match self.rate() {
            Rate::BytesPerSec(bps) => ((bps / 8) as usize).clamp(MIN_SLICE, MAX_SLICE),
            Rate::Unlimited => usize::MAX,
            Rate::Paused => MAX_SLICE,
        }
    }
}

impl State {
    fn refresh(&mut self, now: Instant) {
        let local = chrono::Local::now();
        let (rate, next) = self.schedule.at(&local);
        let until = next
            .and_then(|n| (n - local).to_std().ok())
            .map(|d| d.min(RECHECK))
            .unwrap_or(RECHECK);
        if rate != self.rate {
            // A new period starts with an empty line, not the old rate's bookings.
            self.next_free = now;
        }
        self.rate = rate;
        // The next entry starts on the minute; a few ms late is fine, early is not.
        self.valid_until = now + until + Duration::from_millis(5);
    }
}

/// One job's limits (all of Ferry's, its account's), and the gate its streams pass
/// through one at a time. Cheap to clone; the default limits nothing.
#[derive(Clone, Default)]
pub struct Throttle {
    limiters: Vec<Arc<Limiter>>,
    gate: Arc<tokio::sync::Mutex<()>>,
}

impl Throttle {
    pub fn new(limiters: Vec<Arc<Limiter>>) -> Throttle {
        Throttle {
            limiters,
            gate: Default::default(),
        }
    }

    pub fn none() -> Throttle {
        Throttle::default()
    }

    /// A body stream whose chunks go out no faster than every limit allows, a slice at a
    /// time as each slice's turn comes. Without limits, the stream itself.
    pub fn wrap(&self, stream: ByteStream) -> ByteStream {
        if self.limiters.is_empty() {
            return stream;
        }
        struct Feed {
            inner: ByteStream,
            chunk: Bytes,
            throttle: Throttle,
        }
        let feed = Feed {
            inner: stream,
            chunk: Bytes::new(),
            throttle: self.clone(),
        };
        Box::pin(futures_util::stream::unfold(
            Some(feed),
            |feed| async move {
                let mut feed = feed?;
                while feed.chunk.is_empty() {
                    match feed.inner.next().await? {
                        Ok(chunk) => feed.chunk = chunk,
                        // The error, then the end.
                        Err(e) => return Some((Err(e), None)),
                    }
                }
                let slice = feed.throttle.turn(feed.chunk.len()).await;
                let out = feed.chunk.split_to(slice);
                Some((Ok(out), Some(feed)))
            },
        ))
    }

    /// Wait for the turn of the next slice of a chunk of `len` bytes; returns the
    /// slice's length.
    async fn turn(&self, len: usize) -> usize {
        // No limit holds now: the whole chunk goes at once (no slicing, no waiting).
        if self.limiters.iter().all(|l| l.rate() == Rate::Unlimited) {
            return len;
        }
        let slice = self
            .limiters
            .iter()
            .map(|l| l.slice())
            .min()
            .unwrap_or(MAX_SLICE)
            .min(len);
        let _turn = self.gate.lock().await;
        for l in &self.limiters {
            l.take(slice).await;
        }
        slice
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Schedule {
        Schedule::parse("bwlimit", text).unwrap()
    }

    /// A body that never ends, in chunks of `size`.
    fn endless(size: usize) -> ByteStream {
        let chunk = Bytes::from(vec![0u8; size]);
        Box::pin(futures_util::stream::repeat_with(move || Ok(chunk.clone())))
    }

    #[tokio::test(start_paused = true)]
    async fn four_streams_share_one_limit_evenly() {
        let limiter = Limiter::new(rate("1M"));
        let sent: Arc<Vec<std::sync::atomic::AtomicU64>> =
            Arc::new((0..4).map(|_| Default::default()).collect());
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        for i in 0..4 {
            let throttle = Throttle::new(vec![limiter.clone()]);
            let sent = sent.clone();
            tasks.push(tokio::spawn(async move {
                let mut body = throttle.wrap(endless(512 * 1024));
                while let Some(Ok(s)) = body.next().await {
                    sent[i].fetch_add(s.len() as u64, std::sync::atomic::Ordering::Relaxed);
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(20)).await;
        for t in &tasks {
            t.abort();
        }
        let elapsed = start.elapsed().as_secs_f64();
        let each: Vec<u64> = sent
            .iter()
            .map(|s| s.load(std::sync::atomic::Ordering::Relaxed))
            .collect();
        let total: u64 = each.iter().sum();
        let achieved = total as f64 / elapsed;
        assert!(
            (achieved / (1 << 20) as f64 - 1.0).abs() < 0.05,
            "achieved {achieved} B/s against 1 MiB/s"
        );
        let (min, max) = (each.iter().min().unwrap(), each.iter().max().unwrap());
        // Each job's share is within a slice or two of the others'.
        assert!(max - min <= 2 * MAX_SLICE as u64, "shares {each:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_limit_holds_at_once_and_a_zero_rate_holds_everything_until_it_lifts() {
        let limiter = Limiter::new(rate("64k"));
        let throttle = Throttle::new(vec![limiter.clone()]);
        let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let task = {
            let sent = sent.clone();
            tokio::spawn(async move {
                let mut body = throttle.wrap(endless(256 * 1024));
                while let Some(Ok(s)) = body.next().await {
                    sent.fetch_add(s.len() as u64, std::sync::atomic::Ordering::Relaxed);
                }
            })
        };
        let read = || sent.load(std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(4)).await;
        let slow = read();
        assert!(slow <= 5 * 64 * 1024, "{slow} bytes in 4 s at 64k");
        limiter.set(rate("0"));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let held = read();
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(read(), held, "sent while the rate was 0");
        task.abort();
        // Lifted: a body waiting at 0 goes at once.
        let waiting = Throttle::new(vec![limiter.clone()]);
        let body =
            futures_util::stream::iter((0..16).map(|_| Ok(Bytes::from(vec![0u8; 256 * 1024]))));
        let collect = tokio::spawn(async move {
            waiting
                .wrap(Box::pin(body))
                .map(|c| c.unwrap().len())
                .collect::<Vec<_>>()
                .await
        });
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(!collect.is_finished(), "sent while the rate was 0");
        limiter.set(rate("off"));
        let lens = tokio::time::timeout(Duration::from_millis(10), collect)
            .await
            .expect("still held after the limit was lifted")
            .unwrap();
        assert_eq!(lens.iter().sum::<usize>(), 4 << 20);
    }

    #[tokio::test]
    async fn without_a_limit_a_stream_is_passed_through_whole() {
        let s: ByteStream = Box::pin(futures_util::stream::iter(vec![Ok(Bytes::from(
            vec![1u8; 300 * 1024],
        ))]));
        let mut out = Throttle::none().wrap(s);
        assert_eq!(out.next().await.unwrap().unwrap().len(), 300 * 1024);
        let s: ByteStream = Box::pin(futures_util::stream::iter(vec![Ok(Bytes::from(
            vec![1u8; 300 * 1024],
        ))]));
        let parts: Vec<usize> = Throttle::new(vec![Limiter::new(rate("off"))])
            .wrap(s)
            .map(|c| c.unwrap().len())
            .collect()
            .await;
        assert_eq!(parts.iter().sum::<usize>(), 300 * 1024);
    }
}
