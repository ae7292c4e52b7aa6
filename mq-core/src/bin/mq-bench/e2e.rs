//! `mq-bench e2e`: end-to-end latency (send → listener) at a fixed send rate, evenly paced,
//! with the senders' acknowledgement latency beside it; `--half-peak` first measures the peak
//! delivered rate and adds a scenario at half of it. Producer and consumer share this process,
//! so the send instant travels in the body as microseconds since a common start and the
//! listener measures against the same clock. Each scenario first runs `--warmup` seconds at
//! its load without recording (the producer's route lookup and connection, the new topic's
//! first appends), as OpenMessaging Benchmark's warm-up phase does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mq_core::client::{ConsumeFrom, ConsumeResult, Message, PushConsumer, listener_fn};

use crate::produce::{ClientArgs, Target, body, histogram, print_scenario};
use crate::report::BenchLine;

/// Options of `mq-bench e2e`.
#[derive(Debug, clap::Args)]
pub struct E2eArgs {
    #[command(flatten)]
    pub common: ClientArgs,
    /// Messages per second offered (spread evenly); one scenario per value.
    #[arg(long, value_delimiter = ',', default_values_t = [2000u64])]
    pub rate: Vec<u64>,
    /// First measure the peak: the messages per second delivered while 64 sends are kept in
    /// flight and the consumer runs; then add a scenario at half of it (RocketMQ's latency
    /// claim is made at moderate load).
    #[arg(long)]
    pub half_peak: bool,
    /// Seconds each scenario runs at its load before recording starts; what is sent then is
    /// delivered but not counted.
    #[arg(long, default_value_t = 1.0, value_parser = crate::seconds::non_negative)]
    pub warmup: f64,
}

/// Sends kept in flight while the peak is measured.
const PEAK_IN_FLIGHT: usize = 64;

/// Runs `mq-bench e2e`.
pub fn run(args: &E2eArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let target = Target::open(&args.common).await?;
        let base = Instant::now();
        let mut rates = args.rate.clone();
        let mut scenario_no = 0;
        if args.half_peak {
            let peak = measure_peak(&target, args, base, scenario_no).await?;
            scenario_no += 1;
            BenchLine {
                bench: "mq-bench e2e".to_owned(),
                scenario: format!(
                    "e2e {}B peak ({PEAK_IN_FLIGHT} sends in flight, delivered)",
                    args.common.message_size
                ),
                value: peak.round(),
                unit: "msgs/s".to_owned(),
                reference: None,
                reference_name: "-".to_owned(),
                ratio: None,
            }
            .print(args.common.json)?;
            rates.push((peak / 2.0).round() as u64);
        }
        for rate in rates {
            paced(&target, args, base, scenario_no, rate).await?;
            scenario_no += 1;
        }
        target.close().await
    })
}

/// One scenario at `rate` msgs/s: delivery latency (send → listener) and, beside it, the
/// senders' acknowledgement latency, of what is sent after the warm-up.
async fn paced(
    target: &Target,
    args: &E2eArgs,
    base: Instant,
    scenario_no: usize,
    rate: u64,
) -> anyhow::Result<()> {
    let common = &args.common;
    let record_from = Arc::new(AtomicU64::new(u64::MAX));
    let (topic, consumer, delivered) =
        start_consumer(target, common, base, scenario_no, Arc::clone(&record_from)).await?;
    let producer = target.producer("mq_bench_e2e_pg").await?;
    let acks = Arc::new(Mutex::new(histogram()?));
    let start = Instant::now() + Duration::from_secs_f64(args.warmup);
    let start_us = u64::try_from(start.duration_since(base).as_micros()).unwrap_or(u64::MAX);
    record_from.store(start_us, Ordering::Relaxed);
    let pacer = Pacer {
        topic,
        template: body(common.message_size),
        period: Duration::from_secs_f64(1.0 / rate.max(1) as f64),
        end: start + Duration::from_secs_f64(common.duration),
        base,
        record_from,
    };
    let sent = pacer.run(producer.clone(), Arc::clone(&acks)).await?;
    let drain = Instant::now() + Duration::from_secs(10);
    while count(&delivered) < sent && Instant::now() < drain {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = start.elapsed();
    consumer.shutdown().await;
    producer.shutdown().await;
    let scenario = format!("e2e {}B at {rate} msgs/s offered", common.message_size);
    for (name, h) in [
        (scenario.clone(), &delivered),
        (format!("{scenario}, send ack"), &acks),
    ] {
        let h = h
            .lock()
            .map(|h| h.clone())
            .map_err(|_| anyhow::anyhow!("poisoned"))?;
        let n = h.len();
        print_scenario(
            "mq-bench e2e",
            &name,
            n,
            elapsed,
            common.message_size,
            Some(&h),
            common.json,
        )?;
    }
    Ok(())
}

/// The delivered msgs/s while [`PEAK_IN_FLIGHT`] sync sends are kept in flight, counted
/// after the warm-up.
async fn measure_peak(
    target: &Target,
    args: &E2eArgs,
    base: Instant,
    scenario_no: usize,
) -> anyhow::Result<f64> {
    let common = &args.common;
    let every_message = Arc::new(AtomicU64::new(0));
    let (topic, consumer, delivered) =
        start_consumer(target, common, base, scenario_no, every_message).await?;
    let producer = target.producer("mq_bench_e2e_peak_pg").await?;
    let payload = Bytes::from(body(common.message_size));
    let window = Duration::from_secs_f64(common.duration);
    let window_start = Instant::now() + Duration::from_secs_f64(args.warmup);
    let deadline = window_start + window;
    let senders: Vec<_> = (0..PEAK_IN_FLIGHT)
        .map(|_| {
            let (producer, topic, payload) = (producer.clone(), topic.clone(), payload.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    producer.send(Message::new(&topic, payload.clone())).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    tokio::time::sleep_until(window_start.into()).await;
    let before_window = count(&delivered);
    tokio::time::sleep_until(deadline.into()).await;
    let within_window = count(&delivered).saturating_sub(before_window);
    for sender in senders {
        sender.await??;
    }
    consumer.shutdown().await;
    producer.shutdown().await;
    Ok(within_window as f64 / window.as_secs_f64())
}

type Latencies = Arc<Mutex<hdrhistogram::Histogram<u64>>>;

fn count(h: &Latencies) -> u64 {
    h.lock().map(|h| h.len()).unwrap_or(0)
}

/// A fresh topic and a push consumer on it recording the age of each message sent at or
/// after `record_from` µs since `base` (the send instant travels in the first 8 bytes of the
/// body), after a short pause so queue ownership and connections are settled.
async fn start_consumer(
    target: &Target,
    common: &ClientArgs,
    base: Instant,
    scenario_no: usize,
    record_from: Arc<AtomicU64>,
) -> anyhow::Result<(String, PushConsumer, Latencies)> {
    // A topic per scenario: a new group may start at offset 0 of a young queue.
    let topic = target.extra_topic(scenario_no, common.queues).await?;
    let latency = Arc::new(Mutex::new(histogram()?));
    let seen = Arc::clone(&latency);
    let consumer =
        PushConsumer::builder(format!("mq_bench_e2e_{}_{scenario_no}", std::process::id()))
            .namesrv_addr(&target.namesrv)
            .subscribe(&topic, "*")
            .consume_from(ConsumeFrom::LastOffset)
            .consume_thread_max(64)
            .start(listener_fn(move |msgs| {
                let seen = Arc::clone(&seen);
                let from = record_from.load(Ordering::Relaxed);
                async move {
                    let now = micros_since(base);
                    if let Ok(mut h) = seen.lock() {
                        for m in msgs {
                            let mut sent = [0u8; 8];
                            sent.copy_from_slice(&m.body[..8]);
                            let sent = u64::from_be_bytes(sent);
                            if sent >= from {
                                let _ = h.record(now.saturating_sub(sent).max(1));
                            }
                        }
                    }
                    ConsumeResult::Success
                }
            }))
            .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok((topic, consumer, latency))
}

/// Sends at an even rate from a thread of its own: tokio's timer ticks in whole
/// milliseconds, so an interval of less than that fires in bursts (20 sends at once every
/// millisecond at 20,000 msgs/s), and the last send of each burst would wait for the 19
/// before it at every stage. A thread sleeping until each send's due time spreads them.
struct Pacer {
    topic: String,
    template: Vec<u8>,
    period: Duration,
    end: Instant,
    base: Instant,
    /// Sends stamped before this (µs since `base`) are the warm-up's: not recorded.
    record_from: Arc<AtomicU64>,
}

impl Pacer {
    /// Sends until `end`, each recorded send's acknowledgement latency into `acks`; answers
    /// how many sends were recorded.
    async fn run(
        self,
        producer: mq_core::client::Producer,
        acks: Latencies,
    ) -> anyhow::Result<u64> {
        let runtime = tokio::runtime::Handle::current();
        let thread = std::thread::spawn(move || {
            let _in_runtime = runtime.enter();
            let start = Instant::now();
            let from = self.record_from.load(Ordering::Relaxed);
            let (mut sent, mut recorded) = (0u64, 0u64);
            loop {
                let due = start + self.period.mul_f64(sent as f64);
                if due >= self.end {
                    return recorded;
                }
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let mut payload = self.template.clone();
                let stamp = micros_since(self.base);
                payload[..8].copy_from_slice(&stamp.to_be_bytes());
                let acks = (stamp >= from).then(|| Arc::clone(&acks));
                recorded += u64::from(acks.is_some());
                producer.send_async(Message::new(&self.topic, Bytes::from(payload)), move |_| {
                    if let Some(Ok(mut h)) = acks.as_ref().map(|a| a.lock()) {
                        let _ = h.record(micros_since(self.base).saturating_sub(stamp).max(1));
                    }
                });
                sent += 1;
            }
        });
        tokio::task::spawn_blocking(move || thread.join())
            .await?
            .map_err(|_| anyhow::anyhow!("the sending thread panicked"))
    }
}

/// Microseconds since `base`, the clock both ends of a measurement share.
fn micros_since(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_micros()).unwrap_or(u64::MAX)
}
