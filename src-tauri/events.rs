//! Engine events to the UI: one forwarder per subscribed webview reads the engine's
//! broadcast and sends at most one Channel message per [`TICK`] — a single event as it
//! is, several as a `batch`, with progress coalesced to the latest per job. A 4 GiB upload
//! or 1,000 files finishing together therefore never cost the UI more than 10 messages a
//! second. Nothing here decides what an event means; the UI does.

use std::time::Duration;

use ferry_core::Event;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::ipc::{ChannelControl, ChannelMessage};

/// The shortest gap between two Channel messages: under 10 a second in any window, with
/// a millisecond to spare for timer jitter.
pub const TICK: Duration = Duration::from_millis(101);

/// Events waiting for the next tick.
#[derive(Default)]
pub struct Pending {
    events: Vec<Event>,
    missed: u64,
}

impl Pending {
    pub fn push(&mut self, ev: Event) {
        if let Event::JobProgress { id, .. } = &ev {
            // Only the newest progress of a job matters; keep its place in the order.
            let id = *id;
            if let Some(slot) = self
                .events
                .iter_mut()
                .find(|e| matches!(e, Event::JobProgress { id: other, .. } if *other == id))
            {
                *slot = ev;
                return;
            }
        }
        self.events.push(ev);
    }

    pub fn lagged(&mut self, missed: u64) {
        self.missed += missed;
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.missed == 0
    }

    /// The one message for this tick, if any. After a lag the UI reloads everything, so
    /// the events held are dropped with it.
    pub fn take(&mut self) -> Option<ChannelMessage> {
        let missed = std::mem::take(&mut self.missed);
        let mut events = std::mem::take(&mut self.events);
        if missed > 0 {
            return Some(ChannelMessage::Control(ChannelControl::Lagged { missed }));
        }
        match events.len() {
            0 => None,
            1 => events.pop().map(ChannelMessage::Event),
            _ => Some(ChannelMessage::Control(ChannelControl::Batch { events })),
        }
    }
}

/// Forward the engine's events (`rx`) and the shell's own (`shell`: thumbnails made) to
/// `send` until `stop` is cancelled, the engine goes away, or `send` reports the receiver
/// gone (returns false).
pub async fn forward(
    mut rx: broadcast::Receiver<Event>,
    mut shell: broadcast::Receiver<Event>,
    stop: CancellationToken,
    mut send: impl FnMut(ChannelMessage) -> bool,
) {
    let mut pending = Pending::default();
    // When the next message may go: measured from the last send, not from a fixed
    // schedule, so a late tick can never bring two messages closer than TICK.
    let mut next = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            r = rx.recv() => match r {
                Ok(ev) => pending.push(ev),
                Err(RecvError::Lagged(n)) => pending.lagged(n),
                Err(RecvError::Closed) => {
                    if let Some(msg) = pending.take() {
                        send(msg);
                    }
                    return;
                }
            },
            r = shell.recv() => match r {
                Ok(ev) => pending.push(ev),
                Err(RecvError::Lagged(n)) => pending.lagged(n),
                // The shell's sender lives as long as the app; gone means shutting down.
                Err(RecvError::Closed) => return,
            },
            _ = tokio::time::sleep_until(next), if !pending.is_empty() => {
                if let Some(msg) = pending.take() {
                    next = tokio::time::Instant::now() + TICK;
                    // The desktop benchmark counts these (FERRY_LOG=ferry_app::events=debug).
                    tracing::debug!("channel message");
                    if !send(msg) {
                        return;
                    }
                }
            }
        }
    }
}
