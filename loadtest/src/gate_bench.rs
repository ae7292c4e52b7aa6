//! `seckill-bench gate` (SPEC §6): `/seckill` req/s and p99 under `oha`, with stock that never
//! runs out, against `/healthz` of the same process measured in the same run.
//!
//! Each `/seckill` request carries a random 12-digit user id (`oha --rand-regex-url`), so
//! nearly every request is a new buyer: the full gate path (Lua dedup + stock step, order
//! message acknowledged by the broker), not the cheap DUPLICATE answer. The bench sets the
//! goods' stock itself (`seckill_order::gate::warm`, overwriting) under the target gate's key
//! prefix, and deletes the goods' keys afterwards.
//!
//! With `--local` it runs everything it needs in this process: a `LocalCluster` (name server
//! and broker in a temp dir) and the gate on an ephemeral port, built by the same start-up
//! path as the `seckill-web` binary, against `REDIS_URL` with a key prefix of its own.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use mq_core::cluster::LocalCluster;
use redis::aio::ConnectionManager;
use seckill_order::{GoodsKeys, gate};
use seckill_web::{MqOrderPublisher, OrderPublisher, StockConsumer};
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};

/// Stock set for the benchmark goods: more than any run can take.
const BENCH_STOCK: i64 = 1_000_000_000_000;
/// The figure the gate is held to: `/seckill` at least this share of `/healthz` req/s.
pub const TARGET_RATIO: f64 = 0.5;
const BENCH_NAME: &str = "seckill-bench gate";
const REFERENCE_NAME: &str = "/healthz of the same process";

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

    /// Seconds each endpoint is driven (oha -z), the same for both.
    #[arg(short = 'd', long, default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,

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

/// What oha measured for one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Successful requests per second.
    pub requests_per_sec: f64,
    /// 99th percentile latency in microseconds.
    pub p99_us: f64,
    /// Responses by HTTP status code.
    pub status_codes: Vec<(String, u64)>,
    /// Requests that ended in an error (connect, read, aborted at the deadline).
    pub errors: u64,
}

impl Measured {
    /// Responses other than `200`.
    pub fn non_200(&self) -> u64 {
        self.status_codes
            .iter()
            .filter(|(code, _)| code != "200")
            .map(|(_, n)| n)
            .sum()
    }
}

/// One SPEC §6 line.
#[derive(Debug, Serialize)]
struct Line<'a> {
    bench: &'a str,
    scenario: String,
    value: f64,
    unit: &'a str,
    reference: f64,
    reference_name: &'a str,
    ratio: f64,
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: GateArgs) -> Result<()> {
    let oha = find_oha(args.oha.as_deref())?;
    if args.local {
        let local = LocalGate::start(&args).await?;
        let outcome = measure(&args, &oha, &local.base_url, &local.prefix).await;
        local.stop().await?;
        outcome
    } else {
        let base = args.url.trim_end_matches('/').to_owned();
        measure(&args, &oha, &base, &args.redis_key_prefix).await
    }
}

async fn measure(args: &GateArgs, oha: &Path, base: &str, prefix: &str) -> Result<()> {
    let mut redis = seckill_web::server::redis_connection(&args.redis_url, Duration::from_secs(5))?;
    let keys = GoodsKeys::new(prefix, args.goods_id)?;
    gate::warm(&mut redis, &keys, BENCH_STOCK, true).await?;
    let outcome = drive(args, oha, base, &mut redis, &keys).await;
    let cleaned = forget(&mut redis, &keys).await;
    let report = outcome?;
    cleaned?;
    report.print(args)
}

async fn drive(
    args: &GateArgs,
    oha: &Path,
    base: &str,
    redis: &mut ConnectionManager,
    keys: &GoodsKeys,
) -> Result<Report> {
    let healthz = run_oha(oha, args, &format!("{base}/healthz"), false).await?;
    let before = gate::stock(redis, keys).await?.unwrap_or(BENCH_STOCK);
    // `?` starts a regex quantifier in oha's URL pattern: escape it.
    let pattern = format!(
        "{base}/seckill\\?goodsId={}&userId=[1-9][0-9]{{11}}",
        args.goods_id
    );
    let seckill = run_oha(oha, args, &pattern, true).await?;
    let after = gate::stock(redis, keys).await?.unwrap_or(BENCH_STOCK);
    Ok(Report {
        healthz,
        seckill,
        queued: before - after,
    })
}

async fn forget(redis: &mut ConnectionManager, keys: &GoodsKeys) -> Result<()> {
    let _deleted: i64 = redis::cmd("DEL")
        .arg(&keys.all()[..])
        .query_async(redis)
        .await?;
    Ok(())
}

/// Both endpoints' figures.
#[derive(Debug)]
struct Report {
    healthz: Measured,
    seckill: Measured,
    /// Units of stock taken during the /seckill run: orders queued (and not given back).
    queued: i64,
}

impl Report {
    fn print(&self, args: &GateArgs) -> Result<()> {
        let ratio = ratio_of(self.seckill.requests_per_sec, self.healthz.requests_per_sec);
        let p99_ratio = ratio_of(self.seckill.p99_us, self.healthz.p99_us);
        if args.json {
            let shape = format!("c={}, {}s", args.concurrency, args.duration);
            let lines = [
                Line {
                    bench: BENCH_NAME,
                    scenario: format!("/seckill req/s, random users, {shape}"),
                    value: round(self.seckill.requests_per_sec),
                    unit: "req/s",
                    reference: round(self.healthz.requests_per_sec),
                    reference_name: REFERENCE_NAME,
                    ratio: round3(ratio),
                },
                Line {
                    bench: BENCH_NAME,
                    scenario: format!("/seckill p99, random users, {shape}"),
                    value: round(self.seckill.p99_us),
                    unit: "us",
                    reference: round(self.healthz.p99_us),
                    reference_name: REFERENCE_NAME,
                    ratio: round3(p99_ratio),
                },
            ];
            for line in lines {
                let text = serde_json::to_string(&line)
                    .map_err(|e| Error::Config(format!("cannot encode a result line: {e}")))?;
                println!("{text}");
            }
        } else {
            println!(
                "seckill-bench gate: c={} for {} s per endpoint",
                args.concurrency, args.duration
            );
            for (name, m) in [("/healthz", &self.healthz), ("/seckill", &self.seckill)] {
                println!(
                    "  {name:<9} {:>10.0} req/s   p99 {:>9.0} us   non-200 {}   errors {}",
                    m.requests_per_sec,
                    m.p99_us,
                    m.non_200(),
                    m.errors
                );
            }
            println!("  orders queued during the /seckill run: {}", self.queued);
            let verdict = if ratio >= TARGET_RATIO {
                "meets"
            } else {
                "BELOW"
            };
            println!(
                "  ratio /seckill ÷ /healthz: {ratio:.3} ({verdict} the target ≥ {TARGET_RATIO})"
            );
        }
        if self.seckill.non_200() > 0 {
            eprintln!(
                "seckill-bench gate: warning: {} /seckill answers were not 200 ({:?}); the gate shed or failed requests",
                self.seckill.non_200(),
                self.seckill.status_codes
            );
        }
        Ok(())
    }
}

fn ratio_of(value: f64, reference: f64) -> f64 {
    if reference > 0.0 {
        value / reference
    } else {
        0.0
    }
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `oha` as given, else `~/.cargo/bin/oha`, else the first `oha` on `PATH`.
pub fn find_oha(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = given {
        return if path.is_file() {
            Ok(path.to_owned())
        } else {
            Err(oha_missing(&format!("{} does not exist", path.display())))
        };
    }
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin").join("oha"));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("oha"));
    cargo_bin
        .into_iter()
        .chain(on_path)
        .find(|p| p.is_file())
        .ok_or_else(|| oha_missing("not in ~/.cargo/bin nor on PATH"))
}

fn oha_missing(detail: &str) -> Error {
    Error::Process {
        component: "oha",
        reason: format!(
            "the HTTP load generator oha was not found ({detail}); install it with `cargo install oha`"
        ),
    }
}

/// Runs oha for `args.duration` seconds at `args.concurrency` and parses its JSON summary.
async fn run_oha(oha: &Path, args: &GateArgs, url: &str, regex: bool) -> Result<Measured> {
    let mut command = tokio::process::Command::new(oha);
    command
        .arg("-z")
        .arg(format!("{}s", args.duration))
        .arg("-c")
        .arg(args.concurrency.to_string())
        .args(["--no-tui", "--output-format", "json"]);
    if regex {
        command.arg("--rand-regex-url");
    }
    let output = command
        .arg(url)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await?;
    if !output.status.success() {
        return Err(Error::Process {
            component: "oha",
            reason: format!(
                "exited with {} on {url}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    parse_oha_json(&output.stdout).map_err(|reason| Error::Process {
        component: "oha",
        reason: format!("unexpected JSON output on {url}: {reason}"),
    })
}

/// Reads oha's `--output-format json` summary: `summary.requestsPerSec` (successful requests
/// only), `latencyPercentiles.p99` (seconds), `statusCodeDistribution`, `errorDistribution`.
pub fn parse_oha_json(bytes: &[u8]) -> std::result::Result<Measured, String> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let number = |pointer: &str| {
        doc.pointer(pointer)
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| format!("no number at {pointer}"))
    };
    let requests_per_sec = number("/summary/requestsPerSec")?;
    let p99_us = number("/latencyPercentiles/p99")? * 1e6;
    let mut status_codes: Vec<(String, u64)> = doc
        .get("statusCodeDistribution")
        .and_then(serde_json::Value::as_object)
        .map(|codes| {
            codes
                .iter()
                .map(|(code, n)| (code.clone(), n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    status_codes.sort();
    let errors = doc
        .get("errorDistribution")
        .and_then(serde_json::Value::as_object)
        .map(|errors| errors.values().filter_map(serde_json::Value::as_u64).sum())
        .unwrap_or(0);
    Ok(Measured {
        requests_per_sec,
        p99_us,
        status_codes,
        errors,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oha_json_is_read_for_rate_latency_and_answers() {
        let sample = br#"{"summary":{"successRate":1.0,"total":10.0,"slowest":0.01,
            "fastest":0.0001,"average":0.001,"requestsPerSec":12345.6,"totalData":100,
            "sizePerRequest":20,"sizePerSec":2000.0},
            "latencyPercentiles":{"p50":0.001,"p99":0.0025,"p99.9":0.004},
            "statusCodeDistribution":{"503":3,"200":1000},
            "errorDistribution":{"aborted due to deadline":7}}"#;
        let m = parse_oha_json(sample).unwrap_or_else(|e| panic!("{e}"));
        assert!((m.requests_per_sec - 12345.6).abs() < 1e-9);
        assert!((m.p99_us - 2500.0).abs() < 1e-6);
        assert_eq!(
            m.status_codes,
            vec![("200".to_owned(), 1000), ("503".to_owned(), 3)]
        );
        assert_eq!((m.non_200(), m.errors), (3, 7));
    }

    #[test]
    fn a_summary_without_a_rate_is_an_error() {
        assert!(parse_oha_json(br#"{"summary":{}}"#).is_err());
        assert!(parse_oha_json(b"not json").is_err());
    }

    #[test]
    fn a_given_oha_path_that_does_not_exist_says_how_to_install_it() {
        let error = find_oha(Some(Path::new("/nonexistent/oha")))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("cargo install oha"), "{error}");
    }
}
