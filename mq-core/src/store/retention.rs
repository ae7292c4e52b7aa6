//! Retention and the disk guard: deleting old CommitLog segments (and the queue and index
//! files that only point into them), and refusing appends when the disk is too full.
//!
//! Like RocketMQ's `CleanCommitLogService`: a segment last written more than
//! `file_reserved_time` ago is deleted at a `delete_when` hour, or at any hour once disk use
//! passes `disk_max_used_space_ratio`; above `disk_clean_forcibly_ratio` the oldest segments go
//! even if not expired. The newest segment is never deleted. Above `disk_full_ratio` appends
//! fail with [`StoreError::DiskFull`] until space is freed.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::error::{Result, StoreError};
use super::{Inner, Store};

/// Segments deleted per run when cleaning by force (not expired), so one run never empties the log.
const MAX_FORCED_DELETES: usize = 10;

/// What one housekeeping run saw and did.
#[derive(Debug, Clone, PartialEq)]
pub struct HousekeepingReport {
    /// Disk use read at the start, 0.0-1.0.
    pub disk_used_ratio: f64,
    /// CommitLog segments deleted.
    pub segments_deleted: usize,
    /// The CommitLog's min offset afterwards.
    pub commit_log_min_offset: u64,
    /// Whether appends are refused now.
    pub disk_full: bool,
}

fn read_ratio(inner: &Inner) -> f64 {
    match inner.config.disk_usage.used_ratio(&inner.config.dir) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read disk usage");
            0.0
        }
    }
}

fn set_disk_full(inner: &Inner, ratio: f64) -> bool {
    let full = ratio > inner.config.disk_full_ratio;
    let was = inner
        .disk_full
        .swap(if full { ratio.to_bits() } else { 0 }, Ordering::AcqRel)
        != 0;
    if full && !was {
        tracing::error!(
            used = ratio,
            limit = inner.config.disk_full_ratio,
            "disk full: refusing appends"
        );
    } else if !full && was {
        tracing::info!(
            used = ratio,
            "disk usage back under the limit: accepting appends"
        );
    }
    full
}

/// One run: disk guard, then deletion of what is due.
pub(crate) fn housekeep(inner: &Inner) -> Result<HousekeepingReport> {
    let cfg = &inner.config;
    let ratio = read_ratio(inner);
    set_disk_full(inner, ratio);
    let now = cfg.clock.now_millis();
    let hour = (now.rem_euclid(86_400_000) / 3_600_000) as u8;
    let at_delete_hour = cfg.delete_when.contains(&hour);
    let pressure = ratio > cfg.disk_max_used_space_ratio;
    let force = ratio > cfg.disk_clean_forcibly_ratio;
    let reserved = i64::try_from(cfg.file_reserved_time.as_millis()).unwrap_or(i64::MAX);
    let mut deleted = 0;
    if at_delete_hour || pressure || force {
        let mut forced = 0;
        deleted = inner.log.files.remove_front_while(|seg| {
            if seg.modified_millis()?.saturating_add(reserved) <= now {
                return Ok(true);
            }
            forced += 1;
            Ok(force && forced <= MAX_FORCED_DELETES)
        })?;
    }
    let log_min = inner.log.min_offset();
    if deleted > 0 {
        tracing::info!(
            deleted,
            log_min,
            used = ratio,
            "retention deleted commit log segments"
        );
        for cq in inner.queues.all() {
            cq.delete_below(log_min)?;
        }
        if let Some(index) = &inner.index {
            index.delete_below(log_min)?;
        }
    }
    let disk_full = if deleted > 0 {
        set_disk_full(inner, read_ratio(inner))
    } else {
        ratio > cfg.disk_full_ratio
    };
    Ok(HousekeepingReport {
        disk_used_ratio: ratio,
        segments_deleted: deleted,
        commit_log_min_offset: log_min,
        disk_full,
    })
}

/// The housekeeping thread's loop.
pub(crate) fn run(inner: &Inner) {
    let interval: Duration = inner.config.housekeeping_interval;
    while !inner.closed.load(Ordering::Acquire) {
        if let Err(e) = housekeep(inner) {
            tracing::error!(error = %e, "housekeeping failed");
        }
        std::thread::park_timeout(interval);
    }
}

impl Store {
    /// Runs retention and the disk guard now (they also run every `housekeeping_interval`).
    pub fn run_housekeeping(&self) -> Result<HousekeepingReport> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        housekeep(&self.inner)
    }
}
