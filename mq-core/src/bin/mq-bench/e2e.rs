//! `mq-bench e2e`: end-to-end latency (send → listener) at a fixed send rate. Producer and
//! consumer share this process, so the send instant travels in the body as microseconds since
//! a common start and the listener measures against the same clock.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mq_core::client::{ConsumeFrom, ConsumeResult, Message, PushConsumer, listener_fn};

use crate::produce::{ClientArgs, Target, body, histogram, print_scenario};

/// Options of `mq-bench e2e`.
#[derive(Debug, clap::Args)]
pub struct E2eArgs {
    #[command(flatten)]
    pub common: ClientArgs,
    /// Messages per second offered (spread evenly); one scenario per value.
    #[arg(long, value_delimiter = ',', default_values_t = [2000u64])]
    pub rate: Vec<u64>,
}

/// Runs `mq-bench e2e`.
pub fn run(args: &E2eArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let target = Target::open(&args.common).await?;
        let base = Instant::now();
        for (i, &rate) in args.rate.iter().enumerate() {
            // A topic per scenario: a new group may start at offset 0 of a young queue.
            let topic = target.extra_topic(i, args.common.queues).await?;
            let latency = Arc::new(Mutex::new(histogram()?));
            let seen = Arc::clone(&latency);
            let consumer =
                PushConsumer::builder(format!("mq_bench_e2e_{}_{i}", std::process::id()))
                    .namesrv_addr(&target.namesrv)
                    .subscribe(&topic, "*")
                    .consume_from(ConsumeFrom::LastOffset)
                    .consume_thread_max(64)
                    .start(listener_fn(move |msgs| {
                        let seen = Arc::clone(&seen);
                        async move {
                            let now = u64::try_from(base.elapsed().as_micros()).unwrap_or(u64::MAX);
                            if let Ok(mut h) = seen.lock() {
                                for m in msgs {
                                    let mut sent = [0u8; 8];
                                    sent.copy_from_slice(&m.body[..8]);
                                    let _ = h.record(
                                        now.saturating_sub(u64::from_be_bytes(sent)).max(1),
                                    );
                                }
                            }
                            ConsumeResult::Success
                        }
                    }))
                    .await?;
            // A short warm-up so queue ownership and connections are settled.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let producer = target.producer("mq_bench_e2e_pg").await?;
            let template = body(args.common.message_size);
            let period = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
            let start = Instant::now();
            let end = start + Duration::from_secs_f64(args.common.duration);
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut sent = 0u64;
            while Instant::now() < end {
                ticker.tick().await;
                let mut payload = template.clone();
                let stamp = u64::try_from(base.elapsed().as_micros()).unwrap_or(u64::MAX);
                payload[..8].copy_from_slice(&stamp.to_be_bytes());
                let producer = producer.clone();
                let msg = Message::new(&topic, Bytes::from(payload));
                producer.send_async(msg, |_| {});
                sent += 1;
            }
            let drain = Instant::now() + Duration::from_secs(10);
            while latency.lock().map(|h| h.len()).unwrap_or(0) < sent && Instant::now() < drain {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let elapsed = start.elapsed();
            consumer.shutdown().await;
            producer.shutdown().await;
            let h = latency
                .lock()
                .map(|h| h.clone())
                .map_err(|_| anyhow::anyhow!("poisoned"))?;
            let scenario = format!("e2e {}B at {rate} msgs/s offered", args.common.message_size);
            print_scenario(
                "mq-bench e2e",
                &scenario,
                h.len(),
                elapsed,
                args.common.message_size,
                Some(&h),
                args.common.json,
            )?;
        }
        target.close().await
    })
}
