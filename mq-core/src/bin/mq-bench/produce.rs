//! `mq-bench produce`: sync-send throughput and latency against a running broker (or an
//! in-process one with `--local`): producers × requests in flight, for a fixed time.
//! Also home of what the client modes share: the target cluster and the result lines.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use mq_core::client::{Admin, Message, Producer};
use mq_core::cluster::{ClusterBuilder, LocalCluster};

use crate::report::BenchLine;

/// Options every client mode shares.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// Name server of the cluster to measure.
    #[arg(long, env = "MQ_NAMESRV_ADDR", default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Start a name server and broker in-process (in a temp dir) instead of using --namesrv.
    #[arg(long)]
    pub local: bool,
    /// Topic to use (created with --queues queues if absent; a unique suffix is added).
    #[arg(long, default_value = "MqBench")]
    pub topic: String,
    /// Queues of the topic.
    #[arg(long, default_value_t = 8)]
    pub queues: i32,
    /// Message body size in bytes.
    #[arg(long, default_value_t = 1024)]
    pub message_size: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 5.0, env = "MQ_BENCH_DURATION", value_parser = crate::seconds::positive)]
    pub duration: f64,
    /// Print one JSON object per figure (SPEC §6).
    #[arg(long)]
    pub json: bool,
}

/// Options of `mq-bench produce`.
#[derive(Debug, clap::Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub common: ClientArgs,
    /// Producer instances (one connection each).
    #[arg(long, default_value_t = 1)]
    pub producers: usize,
    /// Sends in flight per producer; one scenario per value.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 64])]
    pub in_flight: Vec<usize>,
}

/// The cluster a run measures; keeps an in-process one alive.
pub struct Target {
    pub namesrv: String,
    pub topic: String,
    local: Option<(LocalCluster, PathBuf)>,
}

impl Target {
    /// Stops an in-process cluster (its store closed cleanly) and removes its files.
    pub async fn close(mut self) -> anyhow::Result<()> {
        if let Some((cluster, dir)) = self.local.take() {
            cluster.shutdown().await?;
            std::fs::remove_dir_all(dir)?;
        }
        Ok(())
    }
}

impl Target {
    /// Connects (or starts `--local`) and creates a fresh topic.
    pub async fn open(args: &ClientArgs) -> anyhow::Result<Self> {
        Self::open_with(args, LocalCluster::builder().production_index_sizes()).await
    }

    /// [`Self::open`], a `--local` cluster started from `local` (e.g. a shorter client expiry).
    pub async fn open_with(args: &ClientArgs, local: ClusterBuilder) -> anyhow::Result<Self> {
        let local = if args.local {
            let dir = std::env::temp_dir().join(format!("mq-bench-{}", std::process::id()));
            let cluster = local.start(&dir).await?;
            Some((cluster, dir))
        } else {
            None
        };
        let namesrv = match &local {
            Some((cluster, _)) => cluster.namesrv_addr().to_string(),
            None => args.namesrv.clone(),
        };
        let topic = format!("{}_{}", args.topic, std::process::id());
        let admin = Admin::connect(&namesrv)
            .await
            .with_context(|| format!("name server {namesrv}"))?;
        admin.create_topic(&topic, args.queues).await?;
        Ok(Self {
            namesrv,
            topic,
            local,
        })
    }

    /// A further fresh topic `<topic>_<suffix>` with `queues` queues (scenarios that must not
    /// see each other's messages).
    pub async fn extra_topic(&self, suffix: usize, queues: i32) -> anyhow::Result<String> {
        let topic = format!("{}_{suffix}", self.topic);
        Admin::connect(&self.namesrv)
            .await?
            .create_topic(&topic, queues)
            .await?;
        Ok(topic)
    }

    pub async fn producer(&self, group: &str) -> anyhow::Result<Producer> {
        Ok(Producer::builder(group)
            .namesrv_addr(&self.namesrv)
            .start()
            .await?)
    }
}

/// A fresh latency histogram in microseconds (1 µs .. 60 s, 3 significant digits).
pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000, 3)?)
}

/// Prints the figures of one scenario: throughput, MB/s and latency percentiles.
pub fn print_scenario(
    bench: &str,
    scenario: &str,
    msgs: u64,
    elapsed: Duration,
    message_size: usize,
    latency: Option<&Histogram<u64>>,
    json: bool,
) -> anyhow::Result<()> {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let rate = msgs as f64 / secs;
    let mut lines = vec![
        (scenario.to_owned(), rate, "msgs/s"),
        (
            format!("{scenario} throughput"),
            rate * message_size as f64 / 1e6,
            "MB/s",
        ),
    ];
    if let Some(h) = latency {
        for (name, q) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
            lines.push((
                format!("{scenario} latency {name}"),
                h.value_at_quantile(q) as f64,
                "us",
            ));
        }
    }
    for (scenario, value, unit) in lines {
        BenchLine {
            bench: bench.to_owned(),
            scenario,
            value,
            unit: unit.to_owned(),
            reference: None,
            reference_name: "-".to_owned(),
            ratio: None,
        }
        .print(json)?;
    }
    Ok(())
}

/// A body of `size` bytes (the first bytes may be overwritten with a timestamp).
pub fn body(size: usize) -> Vec<u8> {
    vec![b'x'; size.max(8)]
}

/// Runs `mq-bench produce`.
pub fn run(args: &ProduceArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let target = Target::open(&args.common).await?;
        for &in_flight in &args.in_flight {
            let (sent, elapsed, latency) = produce_for(
                &target,
                args.producers,
                in_flight,
                args.common.message_size,
                Duration::from_secs_f64(args.common.duration),
            )
            .await?;
            let scenario = format!(
                "sync send {}B, {} producer(s) x {} in flight",
                args.common.message_size, args.producers, in_flight
            );
            print_scenario(
                "mq-bench produce",
                &scenario,
                sent,
                elapsed,
                args.common.message_size,
                Some(&latency),
                args.common.json,
            )?;
        }
        target.close().await
    })
}

/// Sends for `duration` from `producers` × `in_flight` loops; returns (acknowledged, elapsed, latency).
pub async fn produce_for(
    target: &Target,
    producers: usize,
    in_flight: usize,
    message_size: usize,
    duration: Duration,
) -> anyhow::Result<(u64, Duration, Histogram<u64>)> {
    let payload = bytes::Bytes::from(body(message_size));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for p in 0..producers.max(1) {
        let producer = target.producer(&format!("mq_bench_pg_{p}")).await?;
        for _ in 0..in_flight.max(1) {
            let producer = producer.clone();
            let topic = target.topic.clone();
            let payload = payload.clone();
            tasks.push(tokio::spawn(async move {
                let mut h = histogram()?;
                let mut sent = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    producer.send(Message::new(&topic, payload.clone())).await?;
                    h.record(
                        u64::try_from(t.elapsed().as_micros())
                            .unwrap_or(u64::MAX)
                            .max(1),
                    )?;
                    sent += 1;
                }
                anyhow::Ok((sent, h))
            }));
        }
    }
    let mut total = 0;
    let mut latency = histogram()?;
    for task in tasks {
        let (sent, h) = task.await??;
        total += sent;
        latency.add(&h)?;
    }
    Ok((total, start.elapsed(), latency))
}
