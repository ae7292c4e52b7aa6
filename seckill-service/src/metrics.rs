//! The Prometheus recorder and the names of every metric the service exports.
//!
//! The recorder is process-global (the `metrics` facade allows one), so it is installed once
//! and every caller (the binary, each test's app) shares its handle.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Orders written to MySQL.
pub const ORDERS_WRITTEN: &str = "seckill_orders_written_total";
/// Orders that ended FAILED (MySQL stock exhausted, another attempt holds the order, dead letter).
pub const ORDERS_FAILED: &str = "seckill_orders_failed_total";
/// Redelivered messages recognised as already settled.
pub const DUPLICATES: &str = "seckill_duplicates_total";
/// Messages dropped because their body is not a valid order.
pub const POISON: &str = "seckill_poison_messages_total";
/// Messages answered "retry later" (transient MySQL or Redis failure).
pub const RETRY_LATER: &str = "seckill_retry_later_total";
/// Batches that could not apply as a whole and were written message by message.
pub const BATCH_FALLBACKS: &str = "seckill_batch_fallbacks_total";
/// Messages per batch.
pub const BATCH_SIZE: &str = "seckill_batch_size";
/// Seconds one batch took, from its first statement to its last Redis result.
pub const BATCH_SECONDS: &str = "seckill_batch_seconds";
/// Dedup-table reads made because the bloom filter answered "maybe seen".
pub const DEDUP_DB_LOOKUPS: &str = "seckill_dedup_db_lookups_total";
/// Redis places given back (stock + 1).
pub const STOCK_RETURNED: &str = "seckill_stock_returned_total";
/// The bloom filter's size in bits.
pub const BLOOM_BITS: &str = "seckill_bloom_bits";
/// The bloom filter's number of hash functions.
pub const BLOOM_HASHES: &str = "seckill_bloom_hashes";
/// Keys inserted into the bloom filter since it was built.
pub const BLOOM_ITEMS: &str = "seckill_bloom_items";
/// The false-positive rate the filter was sized for.
pub const BLOOM_FP_RATE_TARGET: &str = "seckill_bloom_fp_rate_target";
/// The false-positive rate expected at the current number of items.
pub const BLOOM_FP_RATE_CURRENT: &str = "seckill_bloom_fp_rate_current";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the global Prometheus recorder (once) and returns the handle that renders it.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (an embedding program); then this
            // handle renders nothing, which is better than refusing to start.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
            }
            handle
        })
        .clone()
}
