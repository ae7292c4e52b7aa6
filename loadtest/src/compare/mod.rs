//! `mq-compare` (SPEC §6): the same workloads against mq-core and its peers, each through its
//! usual Rust client, every figure next to the best peer's in the same run.
//!
//! | module | owns |
//! |---|---|
//! | `peer` | what a system offers the workloads ([`peer::Peer`], [`peer::Channel`]) and the consumer [`peer::Sink`] |
//! | `workload` | produce with acknowledgement, drain a backlog, end-to-end latency |
//! | `mqcore` | mq-core: a `LocalCluster` per flush mode in a child process, or an external cluster |
//! | `nats` | NATS JetStream (`async-nats`), file storage |
//! | `rabbitmq` | RabbitMQ (`lapin`), durable queue, persistent messages, confirms |
//! | `redis_streams` | Redis Streams (`redis`), XADD / XREADGROUP + XACK |
//! | `report` | figures, best peer, ratios, targets, JSON lines, Markdown |
//! | `chart` | the SVG chart |
//!
//! A peer that cannot be reached is reported as skipped; a scenario that fails is reported as
//! failed; nothing is ever filled in. Every scenario uses its own stream, queue or topic and
//! removes it afterwards.

pub mod chart;
pub mod mqcore;
pub mod nats;
pub mod peer;
pub mod rabbitmq;
pub mod redis_streams;
pub mod report;
pub mod workload;

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mq_core::store::FlushDiskType;

use crate::error::{Error, Result};
use peer::{Channel, Peer, PeerError, PeerResult};
use report::{Failure, Figure, Metric, Results, Role, RunInfo, System, size_label};

/// The systems `mq-compare` can measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// mq-core, a broker of its own (child process) with ASYNC_FLUSH (or the external one of --mq-namesrv).
    MqAsync,
    /// mq-core, a broker of its own (child process) with SYNC_FLUSH (not measured with --mq-namesrv).
    MqSync,
    /// NATS JetStream, file storage.
    Nats,
    /// RabbitMQ, durable queue with confirms.
    Rabbitmq,
    /// Redis Streams.
    Redis,
}

/// Options of `mq-compare`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    /// Seconds per produce scenario.
    #[arg(long, env = "MQ_COMPARE_DURATION", default_value_t = 5.0)]
    pub duration: f64,
    /// Message sizes in bytes, one produce scenario each.
    #[arg(long, value_delimiter = ',', default_values_t = [1024usize, 100])]
    pub sizes: Vec<usize>,
    /// Sends in flight, one produce scenario each.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 64])]
    pub in_flight: Vec<usize>,
    /// Messages (1 KiB) in the backlog the consume scenario drains.
    #[arg(long, default_value_t = 50_000)]
    pub backlog: u64,
    /// Messages per second offered in the end-to-end latency scenario (1 KiB).
    #[arg(long, default_value_t = 1_000)]
    pub e2e_rate: u64,
    /// Systems to measure, in this order.
    #[arg(long, value_enum, value_delimiter = ',',
          default_values_t = [Target::MqAsync, Target::MqSync, Target::Nats, Target::Rabbitmq, Target::Redis])]
    pub systems: Vec<Target>,
    /// Measure the mq-core cluster of this name server instead of brokers started for the run.
    #[arg(long)]
    pub mq_namesrv: Option<String>,
    /// Parent directory of the run's brokers' temporary stores (default: $TMPDIR).
    #[arg(long)]
    pub store_dir: Option<PathBuf>,
    /// NATS server.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// RabbitMQ server.
    #[arg(
        long,
        env = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    pub amqp_url: String,
    /// Redis server.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// Where to write mq-compare.md and mq-compare.svg.
    #[arg(long, default_value = "docs/benchmarks")]
    pub out_dir: PathBuf,
    /// Write no files (print only).
    #[arg(long)]
    pub no_files: bool,
    /// Print one SPEC §6 JSON line per figure instead of the Markdown report.
    #[arg(long)]
    pub json: bool,
}

/// Runs every selected system through every workload and reports.
pub async fn run(args: CompareArgs) -> Result<()> {
    if args.duration <= 0.0 || !args.duration.is_finite() {
        return Err(Error::Config("--duration must be positive".into()));
    }
    let mut run = Run {
        args: &args,
        results: Results {
            info: RunInfo {
                command: command_line(),
                date: utc_now(),
                cpus: std::thread::available_parallelism().map_or(1, usize::from),
                load: (load_average(), String::new()),
                duration: args.duration,
                backlog: args.backlog,
                e2e_rate: args.e2e_rate,
            },
            ..Default::default()
        },
        next_name: 0,
    };
    for &target in &args.systems {
        run.system(target).await;
    }
    run.results.info.load.1 = load_average();
    report(&args, &run.results)
}

/// Prints the results and writes the report files.
fn report(args: &CompareArgs, results: &Results) -> Result<()> {
    let chart_name = "mq-compare.svg";
    if args.json {
        for line in results.lines() {
            println!(
                "{}",
                serde_json::to_string(&line).map_err(|e| Error::Io(e.into()))?
            );
        }
    }
    let markdown = results.markdown((!args.no_files).then_some(chart_name));
    if !args.json {
        println!("{markdown}");
    }
    if !args.no_files {
        let write = |name: &str, text: &str| {
            let path = args.out_dir.join(name);
            std::fs::write(&path, text).map_err(|source| Error::File { path, source })
        };
        std::fs::create_dir_all(&args.out_dir).map_err(|source| Error::File {
            path: args.out_dir.clone(),
            source,
        })?;
        write("mq-compare.md", &markdown)?;
        let svg = chart::svg(results).map_err(|e| Error::Io(std::io::Error::other(e)))?;
        write(chart_name, &svg)?;
        eprintln!(
            "mq-compare: wrote {} and {}",
            args.out_dir.join("mq-compare.md").display(),
            args.out_dir.join(chart_name).display()
        );
    }
    Ok(())
}

struct Run<'a> {
    args: &'a CompareArgs,
    results: Results,
    next_name: usize,
}

impl Run<'_> {
    async fn system(&mut self, target: Target) {
        let args = self.args;
        match (target, &args.mq_namesrv) {
            (Target::MqAsync, Some(namesrv)) => {
                let sys = system(
                    "mq-core (external)",
                    Role::MqCore,
                    "as configured on the external broker",
                );
                let peer = mqcore::MqCore::connect(namesrv).await;
                self.measure_then(sys, peer, mqcore::MqCore::close).await;
            }
            (Target::MqSync, Some(_)) => {}
            (Target::MqAsync, None) => {
                let sys = system(
                    report::MQ_ASYNC,
                    Role::MqCore,
                    "acknowledged once written to the page cache; fsync in the background every \
                     500 ms (broker in a child process, store in a temporary directory)",
                );
                let peer =
                    mqcore::MqCore::local(FlushDiskType::AsyncFlush, args.store_dir.as_deref())
                        .await;
                self.measure_then(sys, peer, mqcore::MqCore::close).await;
            }
            (Target::MqSync, None) => {
                let sys = system(
                    report::MQ_SYNC,
                    Role::MqCore,
                    "acknowledged after fsync; concurrent sends share fsyncs (group commit)",
                );
                let peer =
                    mqcore::MqCore::local(FlushDiskType::SyncFlush, args.store_dir.as_deref())
                        .await;
                self.measure_then(sys, peer, mqcore::MqCore::close).await;
            }
            (Target::Nats, _) => {
                let sys = system(
                    report::NATS,
                    Role::Peer { persistent: true },
                    "file-storage stream, 1 replica; acknowledged once the server has written \
                     the message to its block file (the server fsyncs in the background, not per \
                     message)",
                );
                let peer = nats::Nats::connect(&args.nats_url).await;
                self.measure_then(sys, peer, |_| async { Ok(()) }).await;
            }
            (Target::Rabbitmq, _) => {
                let sys = system(
                    report::RABBITMQ,
                    Role::Peer { persistent: true },
                    "durable classic queue, persistent messages (delivery mode 2), publisher \
                     confirms: confirmed once the message store has written it to disk (batched \
                     fsync)",
                );
                let peer = rabbitmq::RabbitMq::connect(&args.amqp_url).await;
                self.measure_then(sys, peer, rabbitmq::RabbitMq::close)
                    .await;
            }
            (Target::Redis, _) => {
                let peer = redis_streams::RedisStreams::connect(&args.redis_url).await;
                let durability = match &peer {
                    Ok(redis) => match redis.persistence().await {
                        Ok(p) if p.contains("appendonly=no") && p.contains("save=\"\"") => {
                            format!("in memory only: this server keeps nothing on disk ({p})")
                        }
                        Ok(p) => format!("in memory, persisted as configured ({p})"),
                        Err(e) => format!("unknown ({e})"),
                    },
                    Err(_) => "unknown".into(),
                };
                let sys = system(report::REDIS, Role::Peer { persistent: false }, &durability);
                self.measure_then(sys, peer, |_| async { Ok(()) }).await;
            }
        }
    }

    /// Measures a connected system (or records it as skipped), then closes it.
    async fn measure_then<P, C, Fut>(&mut self, mut sys: System, peer: PeerResult<P>, close: C)
    where
        P: Peer,
        C: FnOnce(P) -> Fut,
        Fut: Future<Output = PeerResult<()>>,
    {
        let peer = match peer {
            Ok(peer) => peer,
            Err(e) => {
                eprintln!("mq-compare: {} skipped: {e}", sys.name);
                sys.skipped = Some(format!("not reachable ({e})"));
                self.results.systems.push(sys);
                return;
            }
        };
        let name = sys.name.clone();
        self.results.systems.push(sys);
        self.measure(&peer, &name).await;
        if let Err(e) = close(peer).await {
            eprintln!("mq-compare: closing {name}: {e}");
        }
    }

    async fn measure<P: Peer>(&mut self, peer: &P, system: &str) {
        let args = self.args;
        let duration = Duration::from_secs_f64(args.duration);
        for &size in &args.sizes {
            for &in_flight in &args.in_flight {
                let scenario = format!("produce {} inflight={in_flight}", size_label(size));
                let outcome = self
                    .scenario(peer, system, &scenario, |ch| async move {
                        workload::produce(&ch, in_flight, size, Duration::from_millis(500), None)
                            .await?;
                        workload::produce(&ch, in_flight, size, duration, None).await
                    })
                    .await;
                if let Some(p) = outcome {
                    let figures = [
                        (Metric::Produced, p.rate()),
                        (Metric::ProducedMb, p.rate() * size as f64 / 1e6),
                        (Metric::AckP50, p.latency.value_at_quantile(0.5) as f64),
                        (Metric::AckP99, p.latency.value_at_quantile(0.99) as f64),
                        (Metric::AckP999, p.latency.value_at_quantile(0.999) as f64),
                    ];
                    self.record(system, &scenario, &figures);
                }
            }
        }
        let backlog = args.backlog;
        let scenario = format!("consume 1KiB backlog={backlog}");
        let fill = duration.mul_f64(4.0).max(Duration::from_secs(30));
        let outcome = self
            .scenario(peer, system, &scenario, |ch| async move {
                workload::drain(&ch, backlog, 1024, fill).await
            })
            .await;
        if let Some(d) = outcome {
            let scenario = format!("consume 1KiB backlog={}", d.backlog);
            self.record(system, &scenario, &[(Metric::Consumed, d.rate)]);
        }
        let rate = args.e2e_rate;
        let scenario = format!("e2e 1KiB rate={rate}/s");
        let outcome = self
            .scenario(peer, system, &scenario, |ch| async move {
                workload::end_to_end(&ch, rate, 1024, duration).await
            })
            .await;
        if let Some(h) = outcome {
            self.record(
                system,
                &scenario,
                &[(Metric::E2eP99, h.value_at_quantile(0.99) as f64)],
            );
        }
    }

    /// Runs one scenario on a fresh destination (bounded in time), removes the destination,
    /// and records a failure instead of figures when anything went wrong.
    async fn scenario<P, F, Fut, T>(
        &mut self,
        peer: &P,
        system: &str,
        scenario: &str,
        work: F,
    ) -> Option<T>
    where
        P: Peer,
        F: FnOnce(P::Channel) -> Fut,
        Fut: Future<Output = PeerResult<T>>,
    {
        eprintln!("mq-compare: {system}: {scenario}");
        self.next_name += 1;
        let name = format!("mq_compare_{}_{}", std::process::id(), self.next_name);
        let limit = Duration::from_secs_f64(self.args.duration * 6.0 + 240.0);
        let outcome = async {
            let channel = peer.open(&name).await?;
            let result = tokio::time::timeout(limit, work(channel.clone()))
                .await
                .map_err(|_| PeerError(format!("did not finish within {limit:?}")))
                .and_then(|r| r);
            let removed = channel.remove().await;
            let value = result?;
            removed?;
            Ok::<T, PeerError>(value)
        }
        .await;
        match outcome {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!("mq-compare: {system}: {scenario} failed: {e}");
                self.results.failures.push(Failure {
                    system: system.to_owned(),
                    scenario: scenario.to_owned(),
                    reason: e.0,
                });
                None
            }
        }
    }

    fn record(&mut self, system: &str, scenario: &str, figures: &[(Metric, f64)]) {
        for &(metric, value) in figures {
            eprintln!(
                "mq-compare:   {scenario} {metric:?}: {} {}",
                report::fmt_count(value),
                metric.unit()
            );
            self.results.figures.push(Figure {
                system: system.to_owned(),
                scenario: scenario.to_owned(),
                metric,
                value,
            });
        }
    }
}

fn system(name: &str, role: Role, durability: &str) -> System {
    System {
        name: name.to_owned(),
        role,
        durability: durability.to_owned(),
        skipped: None,
    }
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        "mq-compare".into()
    } else {
        format!("mq-compare {}", args.join(" "))
    }
}

fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    report::utc_date(secs)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".into(),
        |s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}
