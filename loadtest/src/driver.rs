//! The load driver: many concurrent `GET /seckill` requests over a set of goods and users,
//! every answer written to a [load log](crate::load_log) so `seckill-verify` knows who asked.
//!
//! A run is bounded twice: by the number of requests and by a deadline. Each request picks a
//! goods and a user at random (seeded, so a run can be repeated). A request answered
//! `UNAVAILABLE` (503) or not answered at all is retried after a pause, like a buyer pressing
//! the button again, until it gets another answer or `retry_for` has passed since its first
//! attempt — so a broker restarted during the run still ends with every user answered.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::load_log::{ERROR_STATUS, LoadLogSink, LoadRecord};

/// What one load run sends.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The gate, e.g. `http://127.0.0.1:8081` (load goes to this machine only).
    pub base_url: String,
    /// Goods ids, picked uniformly per request.
    pub goods: Vec<i64>,
    /// User ids are `first_user ..= first_user + users - 1`, picked uniformly per request.
    pub users: u64,
    /// The first user id.
    pub first_user: i64,
    /// Requests to send (retries not counted).
    pub requests: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Start at most this many requests per second (spread evenly); `None` = as fast as the
    /// gate answers. A paced run lasts a known time, so a chaos step lands mid-sale.
    pub rate_per_sec: Option<f64>,
    /// The run stops sending new requests after this long.
    pub max_duration: Duration,
    /// How long a request is retried after `UNAVAILABLE` or no answer; zero = never.
    pub retry_for: Duration,
    /// Pause between retries.
    pub retry_pause: Duration,
    /// Per-attempt HTTP timeout.
    pub request_timeout: Duration,
    /// Seed of the goods/user choice.
    pub seed: u64,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8081".into(),
            goods: vec![1, 2, 3],
            users: 1000,
            first_user: 1,
            requests: 10_000,
            concurrency: 64,
            rate_per_sec: None,
            max_duration: Duration::from_secs(120),
            retry_for: Duration::from_secs(30),
            retry_pause: Duration::from_millis(250),
            request_timeout: Duration::from_secs(10),
            seed: 1,
        }
    }
}

impl LoadConfig {
    /// Checks the settings before a run.
    pub fn validate(&self) -> Result<()> {
        if self.goods.is_empty() || self.goods.iter().any(|&g| g <= 0) {
            return Err(Error::Config(
                "goods must be a non-empty list of positive ids".into(),
            ));
        }
        if self.users == 0 || self.first_user <= 0 {
            return Err(Error::Config(
                "users must be at least 1, ids positive".into(),
            ));
        }
        if self
            .rate_per_sec
            .is_some_and(|r| !(r > 0.0 && r.is_finite()))
        {
            return Err(Error::Config("the rate must be a positive number".into()));
        }
        if self.concurrency == 0 {
            return Err(Error::Config("concurrency must be at least 1".into()));
        }
        if !(self.base_url.starts_with("http://127.")
            || self.base_url.starts_with("http://localhost"))
        {
            return Err(Error::Config(format!(
                "load goes to this machine only (http://127.x.x.x or http://localhost), not {}",
                self.base_url
            )));
        }
        Ok(())
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadSummary {
    /// Requests started (each counted once however often retried).
    pub requests: u64,
    /// HTTP attempts, retries included.
    pub attempts: u64,
    /// Final answer per `status` (the last attempt of each request).
    pub final_statuses: BTreeMap<String, u64>,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Attempts per second.
    pub attempts_per_sec: f64,
    /// Median and 99th-percentile attempt latency, milliseconds.
    pub p50_ms: f64,
    /// 99th-percentile attempt latency, milliseconds.
    pub p99_ms: f64,
}

impl fmt::Display for LoadSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests ({} attempts) in {:.1} s = {:.0} req/s; p50 {:.1} ms, p99 {:.1} ms; final answers:",
            self.requests,
            self.attempts,
            self.seconds,
            self.attempts_per_sec,
            self.p50_ms,
            self.p99_ms
        )?;
        for (status, n) in &self.final_statuses {
            write!(f, " {status}={n}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
struct GateAnswer {
    status: String,
}

struct Shared {
    config: LoadConfig,
    client: reqwest::Client,
    next: AtomicU64,
    started: Instant,
    sink: Option<LoadLogSink>,
}

#[derive(Default)]
struct WorkerTally {
    requests: u64,
    attempts: u64,
    finals: BTreeMap<String, u64>,
    latencies_us: Vec<u64>,
}

/// Runs `config`, writing every attempt to `sink` when given.
pub async fn run(config: LoadConfig, sink: Option<LoadLogSink>) -> Result<LoadSummary> {
    config.validate()?;
    let client = reqwest::Client::builder()
        .timeout(config.request_timeout)
        .pool_max_idle_per_host(config.concurrency)
        .no_proxy()
        .build()?;
    let shared = Arc::new(Shared {
        config,
        client,
        next: AtomicU64::new(0),
        started: Instant::now(),
        sink,
    });
    let workers: Vec<_> = (0..shared.config.concurrency)
        .map(|w| tokio::spawn(worker(shared.clone(), w as u64)))
        .collect();
    let mut total = WorkerTally::default();
    for joined in futures::future::join_all(workers).await {
        let tally =
            joined.map_err(|e| Error::Io(std::io::Error::other(format!("load worker: {e}"))))?;
        total.requests += tally.requests;
        total.attempts += tally.attempts;
        for (status, n) in tally.finals {
            *total.finals.entry(status).or_default() += n;
        }
        total.latencies_us.extend(tally.latencies_us);
    }
    let seconds = shared.started.elapsed().as_secs_f64();
    total.latencies_us.sort_unstable();
    Ok(LoadSummary {
        requests: total.requests,
        attempts: total.attempts,
        final_statuses: total.finals,
        seconds,
        attempts_per_sec: if seconds > 0.0 {
            total.attempts as f64 / seconds
        } else {
            0.0
        },
        p50_ms: percentile_ms(&total.latencies_us, 0.50),
        p99_ms: percentile_ms(&total.latencies_us, 0.99),
    })
}

fn percentile_ms(sorted_us: &[u64], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let index = ((sorted_us.len() - 1) as f64 * q).round() as usize;
    sorted_us[index.min(sorted_us.len() - 1)] as f64 / 1000.0
}

async fn worker(shared: Arc<Shared>, index: u64) -> WorkerTally {
    let config = &shared.config;
    let mut rng = StdRng::seed_from_u64(config.seed.wrapping_mul(1_000_003).wrapping_add(index));
    let mut tally = WorkerTally::default();
    let deadline = shared.started + config.max_duration;
    loop {
        let n = shared.next.fetch_add(1, Ordering::Relaxed);
        if n >= config.requests {
            break;
        }
        if let Some(rate) = config.rate_per_sec {
            let due = shared.started + Duration::from_secs_f64(n as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        if Instant::now() >= deadline {
            break;
        }
        let goods_id = config.goods[rng.random_range(0..config.goods.len())];
        let offset = i64::try_from(rng.random_range(0..config.users)).unwrap_or(0);
        let user_id = config.first_user.saturating_add(offset);
        tally.requests += 1;
        let first_attempt = Instant::now();
        loop {
            let (status, http, latency) = attempt(&shared, goods_id, user_id).await;
            tally.attempts += 1;
            tally
                .latencies_us
                .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
            if let Some(sink) = &shared.sink {
                sink.record(LoadRecord {
                    goods_id,
                    user_id,
                    status: status.clone(),
                    http,
                    ms: latency.as_secs_f64() * 1000.0,
                    at_ms: u64::try_from(shared.started.elapsed().as_millis()).unwrap_or(0),
                })
                .await;
            }
            let retry = (status == "UNAVAILABLE" || status == ERROR_STATUS)
                && first_attempt.elapsed() + config.retry_pause < config.retry_for;
            if !retry {
                *tally.finals.entry(status).or_default() += 1;
                break;
            }
            tokio::time::sleep(config.retry_pause).await;
        }
    }
    tally
}

async fn attempt(shared: &Shared, goods_id: i64, user_id: i64) -> (String, u16, Duration) {
    let url = format!(
        "{}/seckill?goodsId={goods_id}&userId={user_id}",
        shared.config.base_url.trim_end_matches('/')
    );
    let started = Instant::now();
    let answer = match shared.client.get(&url).send().await {
        Ok(response) => {
            let http = response.status().as_u16();
            match response.json::<GateAnswer>().await {
                Ok(body) => (body.status, http),
                Err(_) => (ERROR_STATUS.to_owned(), http),
            }
        }
        Err(_) => (ERROR_STATUS.to_owned(), 0),
    };
    (answer.0, answer.1, started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_only_goes_to_this_machine() {
        let mut config = LoadConfig::default();
        assert!(config.validate().is_ok());
        config.base_url = "http://10.0.0.1:8081".into();
        assert!(config.validate().is_err());
        config.base_url = "http://localhost:8081".into();
        assert!(config.validate().is_ok());
        config.goods.clear();
        assert!(config.validate().is_err());
    }

    #[test]
    fn percentiles_pick_from_sorted_latencies() {
        let us: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert!(
            (percentile_ms(&us, 0.5) - 51.0).abs() < 1e-9
                || (percentile_ms(&us, 0.5) - 50.0).abs() < 1e-9
        );
        assert!((percentile_ms(&us, 0.99) - 99.0).abs() < 1e-9);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
    }
}
