//! The workloads, the same for every peer: produce with acknowledgement for a fixed time with
//! n sends in flight; drain a pre-filled backlog; end-to-end latency at a fixed offered rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::task::JoinSet;

use super::peer::{Channel, PeerError, PeerResult, Sink, err, histogram, stamped_body};

/// What a produce run measured.
#[derive(Debug, Clone)]
pub struct Produced {
    /// Sends acknowledged.
    pub acked: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Acknowledgement latency per send (µs).
    pub latency: Histogram<u64>,
}

impl Produced {
    /// Acknowledged messages per second.
    pub fn rate(&self) -> f64 {
        self.acked as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Sends `size`-byte bodies from `in_flight` concurrent loops sharing `channel` until
/// `duration` has passed, or until `limit` sends were acknowledged (backlog fill).
pub async fn produce<C: Channel>(
    channel: &C,
    in_flight: usize,
    size: usize,
    duration: Duration,
    limit: Option<u64>,
) -> PeerResult<Produced> {
    let start = Instant::now();
    let deadline = start + duration;
    let claimed = Arc::new(AtomicU64::new(0));
    let body = stamped_body(size, 0);
    let mut tasks = JoinSet::new();
    for _ in 0..in_flight.max(1) {
        let channel = channel.clone();
        let body = body.clone();
        let claimed = Arc::clone(&claimed);
        tasks.spawn(async move {
            let mut latency = histogram()?;
            let mut acked = 0u64;
            while Instant::now() < deadline {
                if limit.is_some_and(|l| claimed.fetch_add(1, Ordering::Relaxed) >= l) {
                    break;
                }
                let t = Instant::now();
                channel.send(body.clone()).await?;
                let us = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
                latency.record(us.max(1)).map_err(|e| err("histogram", e))?;
                acked += 1;
            }
            PeerResult::Ok((acked, latency))
        });
    }
    let mut acked = 0;
    let mut latency = histogram()?;
    while let Some(done) = tasks.join_next().await {
        let (n, h) = done.map_err(|e| err("send task", e))??;
        acked += n;
        latency.add(&h).map_err(|e| err("histogram", e))?;
    }
    Ok(Produced {
        acked,
        elapsed: start.elapsed(),
        latency,
    })
}

/// What a drain run measured.
#[derive(Debug, Clone, Copy)]
pub struct Drained {
    /// Messages in the backlog (acknowledged by the fill).
    pub backlog: u64,
    /// Messages consumed per second, first to last arrival.
    pub rate: f64,
}

/// Fills `channel` with up to `backlog` bodies (64 in flight, at most `fill_limit`), then
/// drains it with the peer's consumer and times first to last arrival.
pub async fn drain<C: Channel>(
    channel: &C,
    backlog: u64,
    size: usize,
    fill_limit: Duration,
) -> PeerResult<Drained> {
    let filled = produce(channel, 64, size, fill_limit, Some(backlog))
        .await?
        .acked;
    if filled < 2 {
        return Err(PeerError(format!(
            "backlog fill acknowledged only {filled}"
        )));
    }
    let sink = Arc::new(Sink::new(Instant::now())?);
    let consumer = channel.consume(Arc::clone(&sink)).await?;
    let limit = Instant::now() + Duration::from_secs(120);
    while sink.received() < filled && Instant::now() < limit && !consumer.is_finished() {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let got = sink.received();
    let span = sink.span();
    consumer.stop().await?;
    if got < filled {
        return Err(PeerError(format!("drained {got} of {filled} within 120 s")));
    }
    Ok(Drained {
        backlog: filled,
        rate: (got.saturating_sub(1)) as f64 / span.as_secs_f64().max(1e-9),
    })
}

/// Offers `rate` msgs/s of `size` bytes for `duration` (each send its own task, so a slow
/// acknowledgement never lowers the offered rate) to a live consumer; returns the
/// send-to-receive latency (µs) of every message sent after a warm-up.
pub async fn end_to_end<C: Channel>(
    channel: &C,
    rate: u64,
    size: usize,
    duration: Duration,
) -> PeerResult<Histogram<u64>> {
    let sink = Arc::new(Sink::new(Instant::now())?);
    let consumer = channel.consume(Arc::clone(&sink)).await?;
    // Warm-up: until a message makes the round trip (the consumer is attached), then a
    // further 300 ms of traffic so connections and assignments have settled.
    let warm_limit = Instant::now() + Duration::from_secs(20);
    while sink.received() == 0 {
        if Instant::now() > warm_limit || consumer.is_finished() {
            let outcome = consumer.stop().await;
            return Err(PeerError(format!(
                "no message came through within 20 s ({outcome:?})"
            )));
        }
        channel.send(stamped_body(size, sink.now_us())).await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    offer(channel, &sink, rate, size, Duration::from_millis(300)).await?;
    sink.restart();
    let sent = offer(channel, &sink, rate, size, duration).await?;
    let limit = Instant::now() + Duration::from_secs(10);
    while sink.received() < sent && Instant::now() < limit && !consumer.is_finished() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let got = sink.received();
    consumer.stop().await?;
    if got < sent {
        return Err(PeerError(format!(
            "received {got} of {sent} within 10 s of the last send"
        )));
    }
    sink.latency()
}

/// Sends at `rate` for `duration`; returns how many were sent (all acknowledged).
async fn offer<C: Channel>(
    channel: &C,
    sink: &Sink,
    rate: u64,
    size: usize,
    duration: Duration,
) -> PeerResult<u64> {
    let period = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let end = Instant::now() + duration;
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sends = JoinSet::new();
    let mut sent = 0u64;
    while Instant::now() < end {
        ticker.tick().await;
        let channel = channel.clone();
        let body = stamped_body(size, sink.now_us());
        sends.spawn(async move { channel.send(body).await });
        sent += 1;
        // Reap finished sends as we go so errors surface early and memory stays flat.
        while let Some(done) = sends.try_join_next() {
            done.map_err(|e| err("send task", e))??;
        }
    }
    while let Some(done) = sends.join_next().await {
        done.map_err(|e| err("send task", e))??;
    }
    Ok(sent)
}
