//! `mq-bench consume`: push-consumer throughput. A backlog is produced first, then a fresh
//! group drains it with 1, 2, 4… consumer instances (one scenario per count); then, if asked,
//! the takeover scenarios of `takeover.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mq_core::client::{ConsumeFrom, ConsumeResult, PushConsumer, listener_fn};
use mq_core::cluster::{ClusterBuilder, LocalCluster};

use crate::produce::{ClientArgs, Target, print_scenario, produce_for};
use crate::takeover::{self, Fault};

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
    /// Also measure a crash: one of two instances (a child process) is SIGKILLed; the time to
    /// the other owning every queue, and to its first message from a taken-over queue.
    #[arg(long)]
    pub takeover: bool,
    /// Also measure a hang: the child is SIGSTOPped, so its sockets stay open and only the
    /// broker's client expiry ends its membership.
    #[arg(long)]
    pub takeover_hung: bool,
    /// With --local and --takeover-hung: seconds of silence after which the in-process broker
    /// drops a client (RocketMQ: 120). A running broker (no --local) applies its own.
    #[arg(long, default_value_t = 5.0, value_parser = crate::seconds::positive)]
    pub channel_expiry: f64,
}

/// Runs `mq-bench consume`.
pub fn run(args: &ConsumeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let target = Target::open_with(&args.common, local_cluster(args)).await?;
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
            takeover::report(
                &target,
                args.common.queues,
                &Fault::Kill,
                0,
                args.common.json,
            )
            .await?;
        }
        if args.takeover_hung {
            let fault = hang(args)?;
            takeover::report(&target, args.common.queues, &fault, 1, args.common.json).await?;
        }
        target.close().await
    })
}

/// The `--local` cluster: with a hang to measure, clients expire after `--channel-expiry`,
/// looked for every 100 ms so the scan period hardly adds to the figure.
fn local_cluster(args: &ConsumeArgs) -> ClusterBuilder {
    let builder = LocalCluster::builder().production_index_sizes();
    if !args.takeover_hung {
        return builder;
    }
    let expiry = Duration::from_secs_f64(args.channel_expiry.max(0.1));
    builder.configure(move |c| {
        c.channel_expiry = expiry;
        c.channel_scan_interval = Duration::from_millis(100);
    })
}

/// The hang scenario as configured: its expiry label and how long to wait for it.
fn hang(args: &ConsumeArgs) -> anyhow::Result<Fault> {
    Ok(if args.common.local {
        anyhow::ensure!(
            args.channel_expiry > 0.0,
            "--channel-expiry must be positive"
        );
        Fault::Stop {
            expiry: format!("broker channel expiry {} s", args.channel_expiry),
            limit: Duration::from_secs_f64(args.channel_expiry * 2.0 + 30.0),
        }
    } else {
        Fault::Stop {
            expiry: "the broker's own channel expiry (RocketMQ default 120 s)".to_owned(),
            limit: Duration::from_secs(300),
        }
    })
}
