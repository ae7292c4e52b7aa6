//! Idempotency, two layers: a bloom filter of processed dedup keys answers "certainly new"
//! without a database read; "maybe seen" is settled by the `order_dedup` table.
//!
//! Keys (see `migrations/20261125000003_order_dedup_attempts.sql`): one row per settled
//! attempt, under `<goodsId>-<userId>#<requestId>`, SUCCESS or FAILED. A FAILED attempt
//! gave the user's place back, so the same user's next attempt (new requestId) is a new key
//! and is never blocked; a redelivery of any attempt finds its row. "One order per user and
//! goods" is order_records' unique (goods_id, user_id).
//!
//! The filter only knows what this process wrote (or found at start-up); another instance of
//! the group may have settled a key since. That is why the table's unique keys stay the last
//! line: a batch that hits one falls back to per-message handling, which reads the table.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use fastbloom::AtomicBloomFilter;
use futures::TryStreamExt;
use sqlx::{MySql, MySqlPool, QueryBuilder};

use crate::incoming::Order;
use crate::metrics as m;

/// Outcome stored for an order that was written.
pub(crate) const SUCCESS: &str = "SUCCESS";
/// Outcome stored for an attempt that was refused.
pub(crate) const FAILED: &str = "FAILED";

/// The bloom filter of dedup keys already in the table.
#[derive(Debug)]
pub struct Dedup {
    bloom: AtomicBloomFilter,
    items: AtomicU64,
    fp_rate: f64,
}

/// The filter's size and expected accuracy, as exported to `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BloomStats {
    /// Size in bits.
    pub bits: usize,
    /// Hash functions per key.
    pub hashes: u32,
    /// Keys inserted.
    pub items: u64,
    /// The false-positive rate it was sized for.
    pub fp_rate_target: f64,
    /// The false-positive rate expected with `items` keys in it.
    pub fp_rate_current: f64,
}

impl Dedup {
    /// An empty filter sized for `expected_items` keys at `fp_rate` (0 < fp_rate < 1).
    pub fn new(expected_items: u64, fp_rate: f64) -> Self {
        let expected = usize::try_from(expected_items.max(1)).unwrap_or(usize::MAX);
        let dedup = Self {
            bloom: AtomicBloomFilter::with_false_pos(fp_rate).expected_items(expected),
            items: AtomicU64::new(0),
            fp_rate,
        };
        dedup.export_metrics();
        dedup
    }

    /// A filter holding every key of the dedup table, so a restarted process still answers
    /// "maybe seen" for what it wrote before. Sized for the configured `expected_items`, or
    /// for the table's rows when it already holds more (an undersized filter would answer
    /// "maybe" for nearly everything).
    pub async fn rebuild(
        pool: &MySqlPool,
        expected_items: u64,
        fp_rate: f64,
    ) -> Result<Self, sqlx::Error> {
        let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM order_dedup")
            .fetch_one(pool)
            .await?;
        let rows = u64::try_from(rows).unwrap_or(0);
        if rows > expected_items {
            tracing::warn!(
                rows,
                expected_items,
                "the dedup table holds more keys than --bloom-expected-items; sizing the bloom filter for twice the rows"
            );
        }
        let dedup = Self::new(expected_items.max(rows.saturating_mul(2)), fp_rate);
        let mut keys =
            sqlx::query_scalar::<_, String>("SELECT biz_key FROM order_dedup").fetch(pool);
        while let Some(key) = keys.try_next().await? {
            dedup.insert(&key);
        }
        dedup.export_metrics();
        tracing::info!(
            keys = dedup.stats().items,
            "bloom filter rebuilt from the dedup table"
        );
        Ok(dedup)
    }

    /// `false` means certainly never recorded; `true` means it may have been.
    pub fn maybe_seen(&self, key: &str) -> bool {
        self.bloom.contains(key)
    }

    /// Remembers a key that was committed to the dedup table.
    pub fn insert(&self, key: &str) {
        self.bloom.insert(key);
        self.items.fetch_add(1, Ordering::Relaxed);
    }

    /// Size and accuracy now.
    pub fn stats(&self) -> BloomStats {
        let items = self.items.load(Ordering::Relaxed);
        BloomStats {
            bits: self.bloom.num_bits(),
            hashes: self.bloom.num_hashes(),
            items,
            fp_rate_target: self.fp_rate,
            fp_rate_current: self
                .bloom
                .expected_false_pos(usize::try_from(items).unwrap_or(usize::MAX)),
        }
    }

    /// Publishes [`Self::stats`] as gauges.
    pub fn export_metrics(&self) {
        let stats = self.stats();
        // Gauges are f64; the precision lost above 2^53 bits or items does not matter here.
        metrics::gauge!(m::BLOOM_BITS).set(stats.bits as f64);
        metrics::gauge!(m::BLOOM_HASHES).set(f64::from(stats.hashes));
        metrics::gauge!(m::BLOOM_ITEMS).set(stats.items as f64);
        metrics::gauge!(m::BLOOM_FP_RATE_TARGET).set(stats.fp_rate_target);
        metrics::gauge!(m::BLOOM_FP_RATE_CURRENT).set(stats.fp_rate_current);
    }
}

/// One row of `order_dedup`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct DedupRow {
    pub biz_key: String,
    pub outcome: String,
    pub order_sn: Option<String>,
    pub stock_returned: i8,
}

/// What the dedup table says about one order message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Never settled: write it.
    New,
    /// This very attempt made the order before; its result may still need writing to Redis.
    RedeliveredSuccess { order_sn: Option<String> },
    /// This very attempt was refused before; the give-back may not have finished.
    RedeliveredFailure {
        stock_returned: bool,
        holder_sn: Option<String>,
    },
}

/// Reads the rows of `orders`' attempt keys in one statement.
pub(crate) async fn lookup<'e, E>(
    exec: E,
    orders: &[&Order],
) -> Result<HashMap<String, DedupRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = MySql>,
{
    if orders.is_empty() {
        return Ok(HashMap::new());
    }
    metrics::counter!(m::DEDUP_DB_LOOKUPS).increment(orders.len() as u64);
    let mut query = QueryBuilder::<MySql>::new(
        "SELECT biz_key, outcome, order_sn, stock_returned FROM order_dedup WHERE biz_key IN (",
    );
    let mut keys = query.separated(", ");
    for order in orders {
        keys.push_bind(&order.attempt_key);
    }
    query.push(")");
    let rows: Vec<DedupRow> = query.build_query_as().fetch_all(exec).await?;
    Ok(rows.into_iter().map(|r| (r.biz_key.clone(), r)).collect())
}

/// Settles `order` against the rows [`lookup`] found.
pub(crate) fn verdict(order: &Order, rows: &HashMap<String, DedupRow>) -> Verdict {
    match rows.get(&order.attempt_key) {
        None => Verdict::New,
        Some(row) if row.outcome == SUCCESS => Verdict::RedeliveredSuccess {
            order_sn: row.order_sn.clone(),
        },
        Some(row) => Verdict::RedeliveredFailure {
            stock_returned: row.stock_returned != 0,
            holder_sn: row.order_sn.clone(),
        },
    }
}
