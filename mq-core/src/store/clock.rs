//! Where the store reads the time and the disk usage, so tests can inject both.
//!
//! Store timestamps, retention ages and the `deleteWhen` hour come from a [`Clock`]; the
//! disk guard reads a [`DiskUsage`]. Production uses the system clock and `statvfs`.

use std::fmt::Debug;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + Debug {
    /// Now, in ms since the epoch.
    fn now_millis(&self) -> i64;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock reading `millis`.
    pub fn new(millis: i64) -> Self {
        Self(AtomicI64::new(millis))
    }
    /// Sets the reading.
    pub fn set(&self, millis: i64) {
        self.0.store(millis, Ordering::SeqCst);
    }
    /// Moves the reading forward.
    pub fn advance(&self, millis: i64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// How full the file system holding the store is.
pub trait DiskUsage: Send + Sync + Debug {
    /// Used fraction (0.0..=1.0) of the file system that holds `path`.
    fn used_ratio(&self, path: &Path) -> std::io::Result<f64>;
}

/// Reads the real file system with `statvfs` (space usable by unprivileged users).
#[derive(Debug, Default, Clone, Copy)]
pub struct StatvfsDiskUsage;

impl DiskUsage for StatvfsDiskUsage {
    fn used_ratio(&self, path: &Path) -> std::io::Result<f64> {
        let st = rustix::fs::statvfs(path)?;
        // Like `df`: used / (used + available to users); root's reserve is not usable space.
        let used = st.f_blocks.saturating_sub(st.f_bfree) as f64;
        let usable = used + st.f_bavail as f64;
        Ok(if usable > 0.0 { used / usable } else { 0.0 })
    }
}

/// A disk-usage reading set by hand (tests).
#[derive(Debug, Default)]
pub struct FixedDiskUsage(AtomicU64);

impl FixedDiskUsage {
    /// A reading of `ratio`.
    pub fn new(ratio: f64) -> Self {
        Self(AtomicU64::new(ratio.to_bits()))
    }
    /// Changes the reading.
    pub fn set(&self, ratio: f64) {
        self.0.store(ratio.to_bits(), Ordering::SeqCst);
    }
}

impl DiskUsage for FixedDiskUsage {
    fn used_ratio(&self, _path: &Path) -> std::io::Result<f64> {
        Ok(f64::from_bits(self.0.load(Ordering::SeqCst)))
    }
}
