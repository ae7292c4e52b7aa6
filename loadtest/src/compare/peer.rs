//! What every system under comparison offers the workloads: a fresh destination per scenario
//! (a [`Channel`]) that sends with acknowledgement, consumes into a [`Sink`] and removes itself.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Why a peer could not be measured (unreachable, refused, timed out). Peers are reported, not
/// propagated: a failing peer becomes "skipped" or "failed" in the report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PeerError(pub String);

/// `Result` of a peer operation.
pub type PeerResult<T> = std::result::Result<T, PeerError>;

/// A client error as a [`PeerError`] saying what was being done: `.map_err(|e| err("publish", e))`.
pub fn err(doing: &str, e: impl std::fmt::Display) -> PeerError {
    PeerError(format!("{doing}: {e}"))
}

/// A connected system under comparison.
pub trait Peer {
    /// Its destination type.
    type Channel: Channel;
    /// A fresh, empty destination (stream, queue or topic) named `name`.
    fn open(&self, name: &str) -> impl Future<Output = PeerResult<Self::Channel>>;
}

/// One destination of one peer, shared by concurrent senders (clone = same connection).
pub trait Channel: Clone + Send + Sync + 'static {
    /// Sends `body` and waits for the peer's acknowledgement (its durability setting decides
    /// what that acknowledgement promises).
    fn send(&self, body: bytes::Bytes) -> impl Future<Output = PeerResult<()>> + Send;
    /// Starts the peer's usual consumer from the beginning of the destination; every message
    /// received (and acknowledged the peer's usual way) goes to `sink`.
    fn consume(
        &self,
        sink: std::sync::Arc<Sink>,
    ) -> impl Future<Output = PeerResult<Consumer>> + Send;
    /// Deletes the destination and what it holds, where the peer can.
    fn remove(self) -> impl Future<Output = PeerResult<()>> + Send;
}

/// A running consumer task; [`Consumer::stop`] ends it.
#[derive(Debug)]
pub struct Consumer {
    stop: oneshot::Sender<()>,
    task: JoinHandle<PeerResult<()>>,
}

impl Consumer {
    /// Spawns `run`, which must return once its stop receiver fires (or fails).
    pub fn spawn<F, Fut>(run: F) -> Self
    where
        F: FnOnce(oneshot::Receiver<()>) -> Fut,
        Fut: Future<Output = PeerResult<()>> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel();
        Self {
            stop,
            task: tokio::spawn(run(stopped)),
        }
    }

    /// Whether the task ended on its own (an error, surfaced by [`Consumer::stop`]).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops the consumer and returns its outcome (bounded to 10 s).
    pub async fn stop(self) -> PeerResult<()> {
        let _gone = self.stop.send(());
        match tokio::time::timeout(Duration::from_secs(10), self.task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => Err(err("consumer task", e)),
            Err(_) => Err(PeerError("consumer did not stop within 10 s".into())),
        }
    }
}

/// Where consumers deliver: counts messages, notes the first and last arrival, and records
/// send-to-receive latency from the timestamp each body starts with.
#[derive(Debug)]
pub struct Sink {
    base: Instant,
    /// Bodies stamped before this (µs since `base`) are ignored (warm-up leftovers).
    measure_from_us: AtomicU64,
    received: AtomicU64,
    first_ns: AtomicU64,
    last_ns: AtomicU64,
    latency: Mutex<Histogram<u64>>,
}

impl Sink {
    /// A sink whose clock starts at `base` (the same base the sender stamps with).
    pub fn new(base: Instant) -> PeerResult<Self> {
        Ok(Self {
            base,
            measure_from_us: AtomicU64::new(0),
            received: AtomicU64::new(0),
            first_ns: AtomicU64::new(0),
            last_ns: AtomicU64::new(0),
            latency: Mutex::new(histogram()?),
        })
    }

    /// Microseconds since the base, at least 1 (so 0 can mean "unset").
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Counts one received body.
    pub fn on_message(&self, body: &[u8]) {
        let now = self.now_us();
        let stamp = read_stamp(body);
        if stamp < self.measure_from_us.load(Ordering::Relaxed) {
            return;
        }
        let now_ns = u64::try_from(self.base.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        let _ = self
            .first_ns
            .compare_exchange(0, now_ns, Ordering::Relaxed, Ordering::Relaxed);
        self.last_ns.fetch_max(now_ns, Ordering::Relaxed);
        if let Ok(mut h) = self.latency.lock() {
            let _ = h.record(now.saturating_sub(stamp).max(1));
        }
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    /// Forgets everything received so far and ignores bodies stamped before now.
    pub fn restart(&self) {
        self.measure_from_us.store(self.now_us(), Ordering::Relaxed);
        if let Ok(mut h) = self.latency.lock() {
            h.reset();
        }
        self.received.store(0, Ordering::Relaxed);
        self.first_ns.store(0, Ordering::Relaxed);
        self.last_ns.store(0, Ordering::Relaxed);
    }

    /// Messages counted.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Time from the first to the last counted arrival.
    pub fn span(&self) -> Duration {
        let first = self.first_ns.load(Ordering::Relaxed);
        let last = self.last_ns.load(Ordering::Relaxed);
        Duration::from_nanos(last.saturating_sub(first))
    }

    /// A copy of the latency histogram (µs).
    pub fn latency(&self) -> PeerResult<Histogram<u64>> {
        self.latency
            .lock()
            .map(|h| h.clone())
            .map_err(|_| PeerError("latency histogram poisoned".into()))
    }
}

/// A fresh latency histogram in microseconds (1 µs .. 60 s, 3 significant digits).
pub fn histogram() -> PeerResult<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| err("histogram", e))
}

/// A body of `size` bytes (at least 8) starting with `stamp` (big-endian µs).
pub fn stamped_body(size: usize, stamp: u64) -> bytes::Bytes {
    let mut body = vec![b'x'; size.max(8)];
    body[..8].copy_from_slice(&stamp.to_be_bytes());
    bytes::Bytes::from(body)
}

/// The stamp a body starts with (0 when shorter than 8 bytes).
pub fn read_stamp(body: &[u8]) -> u64 {
    body.get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_round_trips_and_short_bodies_read_zero() {
        assert_eq!(read_stamp(&stamped_body(100, 12_345)), 12_345);
        assert_eq!(stamped_body(3, 1).len(), 8);
        assert_eq!(read_stamp(b"abc"), 0);
    }

    #[test]
    fn sink_ignores_bodies_stamped_before_a_restart() -> PeerResult<()> {
        let sink = Sink::new(Instant::now())?;
        sink.on_message(&stamped_body(16, sink.now_us()));
        assert_eq!(sink.received(), 1);
        std::thread::sleep(Duration::from_millis(2));
        let old = sink.now_us();
        std::thread::sleep(Duration::from_millis(2));
        sink.restart();
        sink.on_message(&stamped_body(16, old));
        assert_eq!(sink.received(), 0);
        sink.on_message(&stamped_body(16, sink.now_us()));
        assert_eq!(sink.received(), 1);
        assert_eq!(sink.latency()?.len(), 1);
        Ok(())
    }
}
