//! `mq-bench consume`: push-consumer throughput. A backlog is produced first, then a fresh
//! group drains it with 1, 2, 4… consumer instances (one scenario per count).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mq_core::client::{ConsumeFrom, ConsumeResult, PushConsumer, listener_fn};

use crate::produce::{ClientArgs, Target, print_scenario, produce_for};
use crate::report::BenchLine;

/// Options of `mq-bench consume`.
#[derive(Debug, clap::Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub common: ClientArgs,
    /// Consumer instances of the group; one scenario per value.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize])]
    pub consumers: Vec<usize>,
    /// Messages per listener call.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Also measure the time from one of two instances dying (sockets closed, no goodbye)
    /// to the other owning every queue.
    #[arg(long)]
    pub takeover: bool,
}

/// Runs `mq-bench consume`.
pub fn run(args: &ConsumeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let target = Target::open(&args.common).await?;
        // The backlog: as much as 64 sends in flight store in the scenario time.
        let fill = Duration::from_secs_f64(args.common.duration);
        let (backlog, _, _) = produce_for(&target, 1, 64, args.common.message_size, fill).await?;
        for (i, &instances) in args.consumers.iter().enumerate() {
            let group = format!("mq_bench_cg_{}_{i}", std::process::id());
            let consumed = Arc::new(AtomicU64::new(0));
            let start = Instant::now();
            let mut running = Vec::new();
            for _ in 0..instances.max(1) {
                let counter = Arc::clone(&consumed);
                let consumer = PushConsumer::builder(&group)
                    .namesrv_addr(&target.namesrv)
                    .subscribe(&target.topic, "*")
                    .consume_from(ConsumeFrom::FirstOffset)
                    .consume_message_batch_max_size(args.batch)
                    .rebalance_interval(Duration::from_secs(1))
                    .heartbeat_interval(Duration::from_secs(1))
                    .start(listener_fn(move |msgs| {
                        let counter = Arc::clone(&counter);
                        async move {
                            counter.fetch_add(msgs.len() as u64, Ordering::Relaxed);
                            ConsumeResult::Success
                        }
                    }))
                    .await?;
                running.push(consumer);
            }
            let limit = start + Duration::from_secs(300);
            while consumed.load(Ordering::Relaxed) < backlog && Instant::now() < limit {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let elapsed = start.elapsed();
            let got = consumed.load(Ordering::Relaxed).min(backlog);
            for c in &running {
                c.shutdown().await;
            }
            let scenario = format!(
                "push consume {}B backlog of {backlog}, {instances} instance(s)",
                args.common.message_size
            );
            print_scenario(
                "mq-bench consume",
                &scenario,
                got,
                elapsed,
                args.common.message_size,
                None,
                args.common.json,
            )?;
        }
        if args.takeover {
            let micros = takeover(&target, args.common.queues).await?;
            BenchLine {
                bench: "mq-bench consume".to_owned(),
                scenario: format!(
                    "takeover of {} queues after an instance dies",
                    args.common.queues
                ),
                value: micros,
                unit: "us".to_owned(),
                reference: None,
                reference_name: "-".to_owned(),
                ratio: None,
            }
            .print(args.common.json)?;
        }
        target.close().await
    })
}

/// Two instances split the topic; one is dropped without a shutdown; returns the microseconds
/// until the survivor owns every queue.
async fn takeover(target: &Target, queues: i32) -> anyhow::Result<f64> {
    let group = format!("mq_bench_takeover_{}", std::process::id());
    let start = |_: ()| {
        PushConsumer::builder(&group)
            .namesrv_addr(&target.namesrv)
            .subscribe(&target.topic, "*")
            .start(listener_fn(|_| async { ConsumeResult::Success }))
    };
    let survivor = start(()).await?;
    let victim = start(()).await?;
    let owned = |c: &PushConsumer| target_queues(c, &target.topic);
    let all = usize::try_from(queues).unwrap_or(0);
    let limit = Instant::now() + Duration::from_secs(60);
    // Settled: both own some and together exactly all (a hand-over briefly double-counts).
    while owned(&survivor) == 0 || owned(&victim) == 0 || owned(&survivor) + owned(&victim) != all {
        anyhow::ensure!(
            Instant::now() < limit,
            "the two instances never split the queues"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let died = Instant::now();
    drop(victim);
    while owned(&survivor) < all {
        anyhow::ensure!(Instant::now() < limit, "no takeover within a minute");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let micros = died.elapsed().as_secs_f64() * 1e6;
    survivor.shutdown().await;
    Ok(micros)
}

fn target_queues(c: &PushConsumer, topic: &str) -> usize {
    c.assigned_queues()
        .iter()
        .filter(|q| q.topic == topic)
        .count()
}
