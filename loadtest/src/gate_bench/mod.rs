//! `seckill-bench gate` (SPEC §6): `/seckill` req/s and p99 under `oha`, with stock that never
//! runs out, against `/healthz` of the same process measured in the same run.
//!
//! Each `/seckill` request carries a random 12-digit user id (`oha --rand-regex-url`), so
//! nearly every request is a new buyer: the full gate path (Lua dedup + stock step, order
//! message acknowledged by the broker), not the cheap DUPLICATE answer. The bench sets the
//! goods' stock itself (`seckill_order::gate::warm`, overwriting) under the target gate's key
//! prefix, and deletes the goods' keys afterwards.
//!
//! The two endpoints are measured in `--rounds` rounds, alternating which goes first, and the
//! round with the median ratio is reported ([`report`]): on a shared machine one pair of runs
//! swings by up to ±15 %, and a drift of the machine's speed during the run favours neither.
//!
//! With `--local` it runs everything it needs in this process: a `LocalCluster` (name server
//! and broker in a temp dir) and the gate on an ephemeral port, built by the same start-up
//! path as the `seckill-web` binary, against `REDIS_URL` with a key prefix of its own.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use mq_core::cluster::LocalCluster;
use redis::aio::ConnectionManager;
use seckill_order::{GoodsKeys, gate};
use seckill_web::{MqOrderPublisher, OrderPublisher, StockConsumer};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};

mod oha;
mod report;

pub use oha::{Measured, find_oha, parse_oha_json};
pub use report::TARGET_RATIO;
use report::{Report, Round};

/// Stock set for the benchmark goods: more than any run can take.
const BENCH_STOCK: i64 = 1_000_000_000_000;

/// Options of `seckill-bench gate`.
#[derive(Debug, Clone, Parser)]
pub struct GateArgs {
    /// Base URL of a running seckill-web (ignored with --local).
    #[arg(long, env = "SECKILL_WEB_URL", default_value = "http://127.0.0.1:8081")]
    pub url: String,

    /// Start a name server, a broker and the gate in this process instead of using --url.
    #[arg(long)]
    pub local: bool,

    /// Concurrent connections (oha -c), the same for both endpoints.
    #[arg(short = 'c', long, default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub concurrency: u32,

    /// Seconds each endpoint is driven per round (oha -z), the same for both.
    #[arg(short = 'd', long, default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,

    /// Rounds of both endpoints, alternating which goes first; the median round is reported.
    #[arg(short = 'r', long, default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: u32,

    /// Goods the bench puts on sale (its keys are overwritten, then deleted).
    #[arg(long, default_value_t = 900_000_001,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub goods_id: i64,

    /// Redis of the target gate.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,

    /// Key prefix of the target gate (with --local the bench uses one of its own).
    #[arg(long, env = "SECKILL_REDIS_KEY_PREFIX", default_value = seckill_order::keys::DEFAULT_PREFIX)]
    pub redis_key_prefix: String,

    /// The oha executable [default: ~/.cargo/bin/oha, else oha on PATH].
    #[arg(long, env = "OHA")]
    pub oha: Option<PathBuf>,

    /// Print one SPEC §6 JSON object per line and scenario instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: GateArgs) -> Result<()> {
    let oha_bin = find_oha(args.oha.as_deref())?;
    if args.local {
        let local = LocalGate::start(&args).await?;
        let outcome = measure(&args, &oha_bin, &local.base_url, &local.prefix).await;
        local.stop().await?;
        outcome
    } else {
        let base = args.url.trim_end_matches('/').to_owned();
        measure(&args, &oha_bin, &base, &args.redis_key_prefix).await
    }
}

async fn measure(args: &GateArgs, oha_bin: &Path, base: &str, prefix: &str) -> Result<()> {
    let mut redis = seckill_web::server::redis_connection(&args.redis_url, Duration::from_secs(5))?;
    let keys = GoodsKeys::new(prefix, args.goods_id)?;
    gate::warm(&mut redis, &keys, BENCH_STOCK, true).await?;
    let outcome = drive(args, oha_bin, base, &mut redis, &keys).await;
    let cleaned = forget(&mut redis, &keys).await;
    let report = outcome?;
    cleaned?;
    report.print(args)
}

async fn drive(
    args: &GateArgs,
    oha_bin: &Path,
    base: &str,
    redis: &mut ConnectionManager,
    keys: &GoodsKeys,
) -> Result<Report> {
    let healthz_url = format!("{base}/healthz");
    // `?` starts a regex quantifier in oha's URL pattern: escape it.
    let seckill_pattern = format!(
        "{base}/seckill\\?goodsId={}&userId=[1-9][0-9]{{11}}",
        args.goods_id
    );
    let mut rounds = Vec::new();
    for round in 0..args.rounds {
        // ABBA order: the reference goes first in even rounds, second in odd ones.
        let reference_first = round % 2 == 0;
        let early = if reference_first {
            Some(oha::run(oha_bin, args, &healthz_url, false).await?)
        } else {
            None
        };
        let before = gate::stock(redis, keys).await?.unwrap_or(BENCH_STOCK);
        let seckill = oha::run(oha_bin, args, &seckill_pattern, true).await?;
        let after = gate::stock(redis, keys).await?.unwrap_or(BENCH_STOCK);
        let healthz = match early {
            Some(healthz) => healthz,
            None => oha::run(oha_bin, args, &healthz_url, false).await?,
        };
        rounds.push(Round {
            healthz,
            seckill,
            queued: before - after,
        });
    }
    Ok(Report::new(rounds))
}

async fn forget(redis: &mut ConnectionManager, keys: &GoodsKeys) -> Result<()> {
    let _deleted: i64 = redis::cmd("DEL")
        .arg(&keys.all()[..])
        .query_async(redis)
        .await?;
    Ok(())
}

/// The `--local` set-up: a cluster and a gate in this process.
struct LocalGate {
    base_url: String,
    prefix: String,
    cluster: LocalCluster,
    _dir: tempfile::TempDir,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    consumer: StockConsumer,
}

impl LocalGate {
    async fn start(args: &GateArgs) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let cluster = LocalCluster::builder()
            .production_index_sizes()
            .start(dir.path())
            .await
            .map_err(|e| process_error("mq-core cluster", e))?;
        let prefix = format!("seckill-bench-{}", std::process::id());
        let offsets = dir.path().join("offsets");
        let config = seckill_web::Config::try_parse_from([
            "seckill-web",
            "--listen",
            "127.0.0.1:0",
            "--redis-url",
            &args.redis_url,
            "--namesrv-addr",
            &cluster.namesrv_addr().to_string(),
            "--redis-key-prefix",
            &prefix,
            "--offset-dir",
            &offsets.to_string_lossy(),
        ])
        .map_err(|e| Error::Config(e.to_string()))?;
        let web = |e| process_error("seckill-web", e);
        let publisher = Arc::new(
            MqOrderPublisher::connect(&config.publisher_settings(), config.startup_timeout())
                .await
                .map_err(web)?,
        );
        let (listener, state) = match seckill_web::server::prepare(&config, publisher.clone()).await
        {
            Ok(prepared) => prepared,
            Err(e) => {
                publisher.shutdown().await;
                return Err(web(e));
            }
        };
        let addr: SocketAddr = listener.local_addr()?;
        let consumer =
            match StockConsumer::start(&config.stock_consumer_settings(), state.sold_out_flags())
                .await
            {
                Ok(consumer) => consumer,
                Err(e) => {
                    publisher.shutdown().await;
                    return Err(web(e));
                }
            };
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(seckill_web::server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            base_url: format!("http://{addr}"),
            prefix,
            cluster,
            _dir: dir,
            stop,
            server,
            consumer,
        })
    }

    async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        let served = self
            .server
            .await
            .map_err(|e| process_error("seckill-web", e))?;
        self.consumer.shutdown().await;
        self.cluster
            .shutdown()
            .await
            .map_err(|e| process_error("mq-core cluster", e))?;
        served.map_err(Error::Io)
    }
}

fn process_error(component: &'static str, error: impl std::fmt::Display) -> Error {
    Error::Process {
        component,
        reason: error.to_string(),
    }
}
