//! The invariant checker behind `seckill-verify` (and the e2e tests): after a run, wait for
//! the queue to drain, then check SPEC §4's invariants per goods against MySQL, Redis and the
//! load log.
//!
//! | module | owns |
//! |---|---|
//! | `drain` | waiting for consumer lag 0 and no `PENDING` result |
//! | `facts` | reading `goods`, `order_records` and the goods' Redis keys |
//! | `check` | the invariants as pure functions over those facts |
//! | `report` | the per-goods table and the JSON document |

mod check;
mod drain;
mod facts;
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use seckill_order::GoodsKeys;
use serde::Serialize;
use sqlx::mysql::MySqlPoolOptions;

pub use check::{GoodsReport, Invariant, Source, Violation, check_goods};
pub use drain::{DrainReport, total_lag, wait_drained};
pub use facts::GoodsFacts;

use crate::error::{Error, Result};
use crate::load_log::LoadLogSummary;

/// The consumer group of seckill-service.
pub const DEFAULT_CONSUMER_GROUP: &str = "seckill-service-group";

/// What to verify and where.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// MySQL with `goods` and `order_records`.
    pub database_url: String,
    /// Redis with the gate state.
    pub redis_url: String,
    /// The services' Redis key prefix.
    pub redis_key_prefix: String,
    /// Name server to ask for the consumer lag; `None` skips the drain wait.
    pub namesrv_addr: Option<String>,
    /// seckill-service's consumer group.
    pub consumer_group: String,
    /// The order topic.
    pub order_topic: String,
    /// How long to wait for the drain.
    pub drain_timeout: Duration,
    /// The load log of the run, if there is one.
    pub load_log: Option<PathBuf>,
    /// S per goods, when known; otherwise derived as MySQL stock + orders.
    pub initial_stock: BTreeMap<i64, i64>,
    /// Only these goods; default every goods on sale, in the load log or with orders.
    pub goods: Option<Vec<i64>>,
}

impl VerifyConfig {
    /// Defaults of SPEC §2 with the given Redis key prefix.
    pub fn new(database_url: &str, redis_url: &str, redis_key_prefix: &str) -> Self {
        Self {
            database_url: database_url.to_owned(),
            redis_url: redis_url.to_owned(),
            redis_key_prefix: redis_key_prefix.to_owned(),
            namesrv_addr: None,
            consumer_group: DEFAULT_CONSUMER_GROUP.to_owned(),
            order_topic: seckill_order::message::ORDER_TOPIC.to_owned(),
            drain_timeout: Duration::from_secs(60),
            load_log: None,
            initial_stock: BTreeMap::new(),
            goods: None,
        }
    }
}

/// The load log a report was built with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadLogInfo {
    /// Its path.
    pub path: PathBuf,
    /// Records read.
    pub records: u64,
}

/// Everything `seckill-verify` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// No violation at all.
    pub ok: bool,
    /// How the drain wait ended.
    pub drain: DrainReport,
    /// The load log used.
    pub load_log: Option<LoadLogInfo>,
    /// One line per goods.
    pub goods: Vec<GoodsReport>,
    /// Every violation, named by invariant.
    pub violations: Vec<Violation>,
}

/// Waits for the drain (unless `namesrv_addr` is `None`), reads the stores and checks every
/// invariant. An `Err` means the check could not run (a store unreachable), not a violation.
pub async fn verify(config: &VerifyConfig) -> Result<Report> {
    seckill_order::keys::validate_prefix(&config.redis_key_prefix)?;
    let log = match &config.load_log {
        Some(path) => Some(LoadLogSummary::read(path).await?),
        None => None,
    };
    let pool = MySqlPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&config.database_url)
        .await?;
    let client = redis::Client::open(config.redis_url.as_str())?;
    let mut redis = tokio::time::timeout(
        Duration::from_secs(10),
        client.get_multiplexed_async_connection(),
    )
    .await
    .map_err(|_| Error::Config(format!("Redis at {} did not answer", config.redis_url)))??;

    let goods: Vec<i64> = match &config.goods {
        Some(list) => list.clone(),
        None => {
            let mut set: BTreeSet<i64> = facts::goods_rows(&pool)
                .await?
                .iter()
                .filter(|(_, row)| row.on_sale)
                .map(|(&id, _)| id)
                .collect();
            if let Some(log) = &log {
                set.extend(log.goods.keys());
            }
            set.extend(config.initial_stock.keys());
            set.into_iter().collect()
        }
    };

    let drain = match &config.namesrv_addr {
        Some(namesrv) => {
            wait_drained(
                namesrv,
                &config.consumer_group,
                &config.order_topic,
                &mut redis,
                &config.redis_key_prefix,
                &goods,
                config.drain_timeout,
            )
            .await?
        }
        None => DrainReport::skipped(),
    };

    // Read (again) after the drain so stock and orders are the settled ones, in one
    // transaction: under InnoDB's default REPEATABLE READ both reads see one snapshot.
    let mut tx = pool.begin().await?;
    let goods_rows = facts::goods_rows(&mut *tx).await?;
    let mut orders = facts::orders(&mut *tx).await?;
    tx.rollback().await?;
    pool.close().await;
    let mut goods_reports = Vec::new();
    let mut violations = Vec::new();
    if drain.checked && !drain.drained {
        violations.push(Violation {
            invariant: Invariant::Drained,
            goods_id: None,
            detail: format!(
                "after {:.0} s: consumer lag {}, {} results PENDING{}",
                drain.waited_secs,
                drain.lag,
                drain.pending,
                drain
                    .last_error
                    .as_deref()
                    .map(|e| format!(", broker: {e}"))
                    .unwrap_or_default()
            ),
        });
    }
    for goods_id in goods {
        let keys = GoodsKeys::new(&config.redis_key_prefix, goods_id)?;
        let (redis_stock, buyers, results) = facts::redis_state(&mut redis, &keys).await?;
        let row = goods_rows.get(&goods_id);
        let goods_facts = GoodsFacts {
            goods_id,
            on_sale: row.is_some_and(|r| r.on_sale),
            mysql_stock: row.map(|r| r.stock),
            orders: orders.remove(&goods_id).unwrap_or_default(),
            redis_stock,
            buyers,
            results,
        };
        let answers = log
            .as_ref()
            .map(|l| l.goods.get(&goods_id).cloned().unwrap_or_default());
        let (report, found) = check_goods(
            &goods_facts,
            config.initial_stock.get(&goods_id).copied(),
            answers.as_ref(),
        );
        goods_reports.push(report);
        violations.extend(found);
    }
    Ok(Report {
        ok: violations.is_empty(),
        drain,
        load_log: log.map(|l| LoadLogInfo {
            path: l.path,
            records: l.records,
        }),
        goods: goods_reports,
        violations,
    })
}
