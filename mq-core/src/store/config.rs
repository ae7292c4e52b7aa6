//! The store's settings, with RocketMQ's defaults (`MessageStoreConfig`), and their validation.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::clock::{Clock, DiskUsage, StatvfsDiskUsage, SystemClock};
use super::error::{Result, StoreError};

/// When an append counts as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushDiskType {
    /// Acknowledge once written to the page cache; a background thread fsyncs on an interval.
    #[default]
    AsyncFlush,
    /// Acknowledge only after fsync; concurrent appends share one fsync (group commit).
    SyncFlush,
}

impl FromStr for FlushDiskType {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ASYNC_FLUSH" => Ok(Self::AsyncFlush),
            "SYNC_FLUSH" => Ok(Self::SyncFlush),
            other => Err(StoreError::InvalidConfig(format!(
                "flush disk type {other:?}: expected ASYNC_FLUSH or SYNC_FLUSH"
            ))),
        }
    }
}

/// RocketMQ's default `messageDelayLevel`.
pub const DEFAULT_DELAY_LEVELS: &str = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// Parses a `messageDelayLevel` string (`1s 5s 1m 2h …`; units s, m, h, d).
pub fn parse_delay_levels(levels: &str) -> Result<Vec<Duration>> {
    levels
        .split_whitespace()
        .map(|level| {
            let bad = || StoreError::InvalidConfig(format!("delay level {level:?}"));
            let (num, unit) = level.split_at(level.len().saturating_sub(1));
            let n: u64 = num.parse().map_err(|_| bad())?;
            let secs = match unit {
                "s" => n,
                "m" => n * 60,
                "h" => n * 3600,
                "d" => n * 86_400,
                _ => return Err(bad()),
            };
            Ok(Duration::from_secs(secs))
        })
        .collect()
}

/// Everything [`super::Store::open`] needs.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Root directory (`commitlog/`, `consumequeue/`, `index/`, `checkpoint`, `abort`).
    pub dir: PathBuf,
    /// Size of one CommitLog segment file (RocketMQ: 1 GiB).
    pub commit_log_segment_size: u64,
    /// Entries per ConsumeQueue file (RocketMQ: 300,000 × 20 bytes).
    pub consume_queue_entries_per_file: u64,
    /// ASYNC_FLUSH or SYNC_FLUSH.
    pub flush_disk_type: FlushDiskType,
    /// ASYNC_FLUSH: fsync at least this often (RocketMQ: 500 ms). 100 ms by default: each
    /// fsync's write-back is a fifth as large, and at 15,000 msgs/s the end-to-end p99 was
    /// lower in 7 of 10 alternated pairs (docs/benchmarks.md, session 7).
    pub flush_interval: Duration,
    /// ASYNC_FLUSH: an interval's fsync is skipped while fewer 4 KiB pages than this are
    /// unflushed; a fsync still happens every 20 intervals (RocketMQ: 4 pages, 10 s; here 2 s).
    pub flush_least_pages: u64,
    /// How often ConsumeQueues are persisted and the checkpoint written.
    pub checkpoint_interval: Duration,
    /// How often the active index file is written out and fsynced (also when it fills up and
    /// at shutdown). Keys hash all over its 20 MB slot table, so each persist rewrites nearly
    /// all of it: done every second, that burst stalled deliveries for milliseconds. After a
    /// crash the indexer re-indexes the CommitLog from the last persist.
    pub index_persist_interval: Duration,
    /// Largest record of one message, in bytes (RocketMQ: 4 MiB).
    pub max_message_size: usize,
    /// Largest batch, all its records together, in bytes.
    pub max_batch_size: usize,
    /// Most bytes one `get_messages` call returns (at least one message is always returned).
    pub max_pull_bytes: usize,
    /// This broker's address, written as STOREHOST and into offset msgIds.
    pub store_host: SocketAddr,
    /// Whether keys and UNIQ_KEY are indexed.
    pub index_enabled: bool,
    /// Hash slots per index file (RocketMQ: 5,000,000).
    pub index_hash_slots: u32,
    /// Entries per index file (RocketMQ: 20,000,000).
    pub index_max_entries: u32,
    /// Delete CommitLog segments last written longer ago than this (RocketMQ: 72 h).
    pub file_reserved_time: Duration,
    /// Hours of the day (UTC, 0-23) when expired segments are deleted (RocketMQ `deleteWhen`: 04).
    pub delete_when: Vec<u8>,
    /// Above this disk use, expired segments are deleted at any hour (RocketMQ: 0.75).
    pub disk_max_used_space_ratio: f64,
    /// Above this disk use, the oldest segments are deleted even if not expired (RocketMQ: 0.85).
    pub disk_clean_forcibly_ratio: f64,
    /// Above this disk use, appends are refused (RocketMQ `diskSpaceWarningLevelRatio`: 0.90).
    pub disk_full_ratio: f64,
    /// How often retention and the disk guard run.
    pub housekeeping_interval: Duration,
    /// Delay levels, to compute a `SCHEDULE_TOPIC_XXXX` entry's due time (its tag code).
    pub delay_levels: Vec<Duration>,
    /// Source of time (injectable for tests).
    pub clock: Arc<dyn Clock>,
    /// Source of the disk-usage reading (injectable for tests).
    pub disk_usage: Arc<dyn DiskUsage>,
}

impl StoreConfig {
    /// RocketMQ's defaults, rooted at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            commit_log_segment_size: 1 << 30,
            consume_queue_entries_per_file: 300_000,
            flush_disk_type: FlushDiskType::AsyncFlush,
            flush_interval: Duration::from_millis(100),
            flush_least_pages: 4,
            checkpoint_interval: Duration::from_secs(1),
            index_persist_interval: Duration::from_secs(10),
            max_message_size: 4 << 20,
            max_batch_size: 4 << 20,
            max_pull_bytes: 256 << 10,
            store_host: SocketAddr::from(([127, 0, 0, 1], 10911)),
            index_enabled: true,
            index_hash_slots: 5_000_000,
            index_max_entries: 20_000_000,
            file_reserved_time: Duration::from_secs(72 * 3600),
            delete_when: vec![4],
            disk_max_used_space_ratio: 0.75,
            disk_clean_forcibly_ratio: 0.85,
            disk_full_ratio: 0.90,
            housekeeping_interval: Duration::from_secs(10),
            delay_levels: parse_delay_levels(DEFAULT_DELAY_LEVELS).unwrap_or_default(),
            clock: Arc::new(SystemClock),
            disk_usage: Arc::new(StatvfsDiskUsage),
        }
    }

    /// Checks the values against each other; [`super::Store::open`] calls it.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(StoreError::InvalidConfig(m));
        if self.commit_log_segment_size < 4096 || self.commit_log_segment_size > i64::MAX as u64 {
            return bad(format!(
                "commit_log_segment_size {} < 4096",
                self.commit_log_segment_size
            ));
        }
        if self.consume_queue_entries_per_file == 0 {
            return bad("consume_queue_entries_per_file is 0".into());
        }
        if self.max_message_size == 0 || self.max_batch_size == 0 {
            return bad("max_message_size and max_batch_size must be positive".into());
        }
        if self.index_hash_slots == 0 || self.index_max_entries == 0 {
            return bad("index_hash_slots and index_max_entries must be positive".into());
        }
        if let Some(h) = self.delete_when.iter().find(|h| **h > 23) {
            return bad(format!("delete_when hour {h} is not 0-23"));
        }
        for (name, r) in [
            ("disk_max_used_space_ratio", self.disk_max_used_space_ratio),
            ("disk_clean_forcibly_ratio", self.disk_clean_forcibly_ratio),
            ("disk_full_ratio", self.disk_full_ratio),
        ] {
            if !(0.0..=1.0).contains(&r) {
                return bad(format!("{name} {r} is not within 0.0-1.0"));
            }
        }
        if self.flush_interval.is_zero()
            || self.checkpoint_interval.is_zero()
            || self.index_persist_interval.is_zero()
            || self.housekeeping_interval.is_zero()
        {
            return bad(
                "flush, checkpoint, index persist and housekeeping intervals must be positive"
                    .into(),
            );
        }
        Ok(())
    }

    /// Parses a `deleteWhen` string like `04` or `04;05`.
    pub fn parse_delete_when(s: &str) -> Result<Vec<u8>> {
        s.split(';')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                p.trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|h| *h < 24)
                    .ok_or_else(|| StoreError::InvalidConfig(format!("deleteWhen hour {p:?}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_interval_must_be_positive() {
        let fields: [fn(&mut StoreConfig) -> &mut Duration; 4] = [
            |c| &mut c.flush_interval,
            |c| &mut c.checkpoint_interval,
            |c| &mut c.index_persist_interval,
            |c| &mut c.housekeeping_interval,
        ];
        for field in fields {
            let mut config = StoreConfig::new("/tmp/unused");
            assert!(config.validate().is_ok());
            *field(&mut config) = Duration::ZERO;
            assert!(matches!(
                config.validate(),
                Err(StoreError::InvalidConfig(m)) if m.contains("intervals must be positive")
            ));
        }
    }
}
