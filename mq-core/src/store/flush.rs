//! Making appends durable: the flush thread, group commit for SYNC_FLUSH, and the periodic
//! checkpoint.
//!
//! ASYNC_FLUSH: the thread fsyncs whatever was written every `flush_interval`.
//! SYNC_FLUSH: an appender asks for its end offset to be flushed and waits; the thread fsyncs
//! everything written so far in one call and releases every waiter it covered, so concurrent
//! appenders share fsyncs (group commit). Waiting is either blocking ([`Flusher::wait_blocking`])
//! or async through a `tokio::sync::watch` ([`Flusher::wait`]) so the broker's runtime never
//! blocks on an fsync.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use super::Inner;
use super::config::FlushDiskType;
use super::error::{Result, StoreError};

/// Flush progress as seen by waiters.
#[derive(Debug, Clone, Default)]
struct Progress {
    flushed: u64,
    failed: Option<String>,
}

#[derive(Debug, Default)]
struct Control {
    requested: u64,
    progress: Progress,
    shutdown: bool,
}

/// Shared flush state between appenders, waiters and the flush thread.
#[derive(Debug)]
pub(crate) struct Flusher {
    mode: FlushDiskType,
    ctl: Mutex<Control>,
    /// The flush thread sleeps here.
    wake: Condvar,
    /// Blocking waiters sleep here.
    done: Condvar,
    progress_tx: watch::Sender<Progress>,
}

impl Flusher {
    /// A flusher whose data up to `flushed` is already on disk.
    pub fn new(mode: FlushDiskType, flushed: u64) -> Self {
        let progress = Progress {
            flushed,
            failed: None,
        };
        Self {
            mode,
            ctl: Mutex::new(Control {
                requested: flushed,
                progress: progress.clone(),
                shutdown: false,
            }),
            wake: Condvar::new(),
            done: Condvar::new(),
            progress_tx: watch::channel(progress).0,
        }
    }

    /// The CommitLog offset below which everything is fsynced.
    pub fn flushed(&self) -> u64 {
        self.ctl.lock().progress.flushed
    }

    /// The error of a failed fsync, if one happened (the store then refuses appends).
    pub fn failure(&self) -> Option<String> {
        self.ctl.lock().progress.failed.clone()
    }

    /// After an append ending at `end`: in SYNC_FLUSH, asks the flush thread to flush it now.
    pub fn appended(&self, end: u64) {
        if self.mode == FlushDiskType::SyncFlush {
            let mut ctl = self.ctl.lock();
            if end > ctl.requested {
                ctl.requested = end;
                self.wake.notify_one();
            }
        }
    }

    /// Blocks until `end` is durable (at once in ASYNC_FLUSH).
    pub fn wait_blocking(&self, end: u64) -> Result<()> {
        if self.mode == FlushDiskType::AsyncFlush {
            return Ok(());
        }
        let mut ctl = self.ctl.lock();
        loop {
            if let Some(e) = &ctl.progress.failed {
                return Err(StoreError::FlushFailed(e.clone()));
            }
            if ctl.progress.flushed >= end {
                return Ok(());
            }
            if ctl.shutdown {
                return Err(StoreError::Closed);
            }
            self.done.wait(&mut ctl);
        }
    }

    /// Resolves when `end` is durable (at once in ASYNC_FLUSH); does not block the runtime.
    pub async fn wait(&self, end: u64) -> Result<()> {
        if self.mode == FlushDiskType::AsyncFlush {
            return Ok(());
        }
        let mut rx = self.progress_tx.subscribe();
        let progress = rx
            .wait_for(|p| p.flushed >= end || p.failed.is_some())
            .await
            .map_err(|_| StoreError::Closed)?
            .clone();
        match progress.failed {
            Some(e) if progress.flushed < end => Err(StoreError::FlushFailed(e)),
            _ => Ok(()),
        }
    }

    /// Records the outcome of one fsync and releases the waiters it covered.
    pub fn publish(&self, outcome: Result<u64>) {
        let mut ctl = self.ctl.lock();
        match outcome {
            Ok(flushed) => ctl.progress.flushed = ctl.progress.flushed.max(flushed),
            Err(e) => {
                tracing::error!(error = %e, "commit log fsync failed; refusing further appends");
                ctl.progress.failed = Some(e.to_string());
            }
        }
        let progress = ctl.progress.clone();
        drop(ctl);
        self.done.notify_all();
        self.progress_tx.send_replace(progress);
    }

    /// Asks the flush thread to stop; waiters still pending are answered [`StoreError::Closed`].
    pub fn shutdown(&self) {
        self.ctl.lock().shutdown = true;
        self.wake.notify_all();
        self.done.notify_all();
    }

    /// Sleeps until a flush is due: a SYNC request, the interval, or shutdown.
    /// Answers false on shutdown.
    fn wait_for_work(&self, timeout: Duration, flushed: u64) -> bool {
        let mut ctl = self.ctl.lock();
        if ctl.shutdown {
            return false;
        }
        if ctl.requested <= flushed {
            self.wake.wait_for(&mut ctl, timeout);
        }
        !ctl.shutdown
    }
}

/// fsyncs the CommitLog from what is flushed to what is written; answers the new flushed offset.
pub(crate) fn flush_log(inner: &Inner) -> Result<u64> {
    let from = inner.flusher.flushed();
    let to = inner.log.written();
    inner.log.files.sync_range(from, to)?;
    Ok(to)
}

/// The flush thread's loop.
pub(crate) fn run(inner: &Inner) {
    let cfg = &inner.config;
    let interval = match cfg.flush_disk_type {
        FlushDiskType::AsyncFlush => cfg.flush_interval,
        // In SYNC_FLUSH requests wake the thread; the timeout only paces checkpoints.
        FlushDiskType::SyncFlush => cfg.checkpoint_interval,
    };
    let least_bytes = cfg.flush_least_pages.saturating_mul(4096);
    let mut last_checkpoint = Instant::now();
    let mut last_index_persist = Instant::now();
    let mut last_flush = Instant::now();
    loop {
        let running = inner.flusher.wait_for_work(
            interval.min(cfg.checkpoint_interval),
            inner.flusher.flushed(),
        );
        if !running {
            break;
        }
        let dirty = inner.log.written().saturating_sub(inner.flusher.flushed());
        // Like RocketMQ: an interval with little new data skips its fsync, but never for long.
        let due = cfg.flush_disk_type == FlushDiskType::SyncFlush
            || dirty >= least_bytes
            || last_flush.elapsed() >= cfg.flush_interval * 20;
        if dirty > 0 && due && inner.flusher.failure().is_none() {
            inner.flusher.publish(flush_log(inner));
            last_flush = Instant::now();
        }
        if last_checkpoint.elapsed() >= cfg.checkpoint_interval {
            last_checkpoint = Instant::now();
            let with_index = last_index_persist.elapsed() >= cfg.index_persist_interval;
            if with_index {
                last_index_persist = last_checkpoint;
            }
            if let Err(e) = super::open::checkpoint(inner, with_index) {
                tracing::error!(error = %e, "checkpoint failed");
            }
        }
    }
}
