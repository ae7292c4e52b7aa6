//! Start-up and shut-down: the clean-shutdown marker, recovery from the checkpoint, rebuilding
//! damaged ConsumeQueues, and the checkpoint itself.
//!
//! A file `abort` exists while the store is open. Start-up then decides where to begin
//! verifying the CommitLog:
//!
//! * clean shutdown (no `abort`): the checkpoint's end, so nothing is scanned;
//! * unclean: the lower of the checkpoint's flushed and dispatched offsets;
//! * either way, if the last record the checkpoint names is not intact or does not end where
//!   the checkpoint says (a file was cut or changed while the store was down): the start of
//!   that record's segment;
//! * no usable checkpoint: the first segment.
//!
//! Every record from there on is verified and re-dispatched into its ConsumeQueue (entries a
//! queue already has are skipped), the log is cut at the first invalid byte, and queue entries
//! pointing past the cut are dropped. So start-up reads only what lies after the checkpoint.
//! A queue found damaged (a hole in its files, or fewer entries than the checkpoint recorded,
//! e.g. a deleted file) is rebuilt from its last good entry by one more scan.

use std::collections::HashSet;
use std::fs;
use std::sync::atomic::{AtomicBool, AtomicU64};

use parking_lot::{Mutex, RwLock};

use super::Inner;
use super::checkpoint::Checkpoint;
use super::commit_log::CommitLog;
use super::commit_log::frame::TRAILER_LEN;
use super::commit_log::reader::{Scan, Scanner};
use super::commit_log::recovery::recover;
use super::commit_log::writer::Writer;
use super::config::StoreConfig;
use super::consume_queue::Put;
use super::dispatch::redispatch;
use super::error::{IoContext, Result};
use super::flush::{Flusher, flush_log};
use super::index::Index;
use super::queues::ConsumeQueues;
use super::segment::sync_dir;

const ABORT_FILE: &str = "abort";

/// Opens the directory, recovers, and answers the shared state (threads not started yet).
pub(crate) fn open(config: StoreConfig) -> Result<Inner> {
    config.validate()?;
    let dir = config.dir.clone();
    fs::create_dir_all(&dir).at(&dir)?;
    let abort = dir.join(ABORT_FILE);
    let clean = !abort.exists();
    let cp = Checkpoint::read(&dir)?;
    let log = CommitLog::open(&dir.join("commitlog"), config.commit_log_segment_size)?;
    let (queues, holed) = ConsumeQueues::open(
        &dir.join("consumequeue"),
        config.consume_queue_entries_per_file,
    )?;
    fs::File::create(&abort).at(&abort)?;
    sync_dir(&dir)?;

    let from = scan_start(&log, cp.as_ref(), clean)?;
    let log_dir = log.files.dir().to_path_buf();
    let mut damaged: HashSet<(String, i32)> = holed
        .iter()
        .map(|q| (q.topic.clone(), q.queue_id))
        .collect();
    let recovered = recover(&log, from, |rec| {
        if let Some((Put::Gap, topic, qid)) =
            redispatch(&queues, rec, &config.delay_levels, &log_dir, None)?
        {
            damaged.insert((topic, qid));
        }
        Ok(())
    })?;
    let end = recovered.end;
    let log_min = log.min_offset();
    for cq in queues.all() {
        cq.truncate_to_commit_log(end)?;
        // Entries into segments retention deleted are below the queue's min (RocketMQ's
        // correctMinOffset); a binary search, not a scan.
        cq.delete_below(log_min)?;
    }
    if let Some(cp) = &cp {
        for (topic, qid, max) in &cp.queues {
            if queues.get(topic, *qid).map_or(0, |q| q.max_offset()) < *max {
                damaged.insert((topic.clone(), *qid));
            }
        }
    }
    if !damaged.is_empty() {
        rebuild(&log, &queues, &damaged, &config, end)?;
    }
    // What recovery accepted may still sit in the page cache only: make it durable first.
    log.files.sync_range(from, end)?;
    tracing::info!(
        clean,
        from,
        end,
        scanned = recovered.scanned,
        cut_at = recovered.cut.as_ref().map(|c| c.0),
        rebuilt_queues = damaged.len(),
        "store recovered"
    );
    let last_record = recovered
        .last_record
        .or(cp.as_ref().and_then(|c| c.last_record).filter(|l| *l < end));
    let index = if config.index_enabled {
        Some(Index::open(
            &dir.join("index"),
            config.index_hash_slots,
            config.index_max_entries,
            log.min_offset(),
            end,
        )?)
    } else {
        None
    };
    let inner = Inner {
        flusher: Flusher::new(config.flush_disk_type, end),
        writer: Mutex::new(Writer::new(end, last_record)),
        config,
        log,
        queues,
        index,
        listener: RwLock::new(None),
        disk_full: AtomicU64::new(0),
        closed: AtomicBool::new(false),
        index_thread: Mutex::new(None),
        housekeeping_thread: Mutex::new(None),
    };
    checkpoint(&inner, true)?;
    Ok(inner)
}

/// Where verification must begin (see the module doc).
fn scan_start(log: &CommitLog, cp: Option<&Checkpoint>, clean: bool) -> Result<u64> {
    let log_min = log.files.first().map_or(0, |s| s.start);
    let Some(cp) = cp else { return Ok(log_min) };
    let base = if clean {
        cp.cq_dispatched
    } else {
        cp.commit_log_flushed.min(cp.cq_dispatched)
    };
    // The checkpoint's last record is re-verified in any case: it is one read, and it catches
    // a file cut or changed below the checkpoint while the store was down.
    let from = match cp.last_record {
        Some(last) if !tail_intact(log, last, cp.cq_dispatched)? => {
            tracing::warn!(
                last,
                "the checkpoint's last record is not intact; rescanning its segment"
            );
            base.min(log.files.segment_start(last))
        }
        _ => base,
    };
    let from = from.max(log_min);
    // The start must have data before it; if the file was cut below it, start at its segment.
    Ok(match log.files.segment_for(from) {
        Some(seg) if seg.len()? >= from - seg.start => from,
        Some(seg) => seg.start,
        None => log.files.last().map_or(log_min, |l| l.start.min(from)),
    })
}

/// Whether the record at `last` is valid and ends exactly at `end`.
fn tail_intact(log: &CommitLog, last: u64, end: u64) -> Result<bool> {
    let mut scanner = Scanner::with_chunk(log, last, u64::MAX, 4096);
    Ok(matches!(scanner.next()?, Scan::Record(r) if r.offset == last && r.end() == end))
}

/// Re-dispatches the records of `damaged` queues from the earliest point any of them lacks.
fn rebuild(
    log: &CommitLog,
    queues: &ConsumeQueues,
    damaged: &HashSet<(String, i32)>,
    config: &StoreConfig,
    end: u64,
) -> Result<()> {
    let log_min = log.files.first().map_or(0, |s| s.start);
    let mut start = end;
    for (topic, qid) in damaged {
        let resume = match queues
            .get(topic, *qid)
            .map(|q| q.last_entry())
            .transpose()?
            .flatten()
        {
            Some(e) => e.commit_log_offset + u64::from(e.size) + TRAILER_LEN,
            None => log_min,
        };
        start = start.min(resume.max(log_min));
    }
    tracing::warn!(
        queues = damaged.len(),
        from = start,
        "rebuilding damaged consume queues from the commit log"
    );
    let is_damaged = |t: &str, q: i32| damaged.contains(&(t.to_owned(), q));
    let mut scanner = Scanner::new(log, start, end);
    let log_dir = log.files.dir().to_path_buf();
    while let Scan::Record(rec) = scanner.next()? {
        if let Some((Put::Gap, topic, qid)) = redispatch(
            queues,
            &rec,
            &config.delay_levels,
            &log_dir,
            Some(&is_damaged),
        )? {
            tracing::error!(
                topic,
                qid,
                offset = rec.offset,
                "consume queue still has a gap after rebuild"
            );
        }
    }
    Ok(())
}

/// Persists every ConsumeQueue (and the index when `with_index`), then writes the checkpoint.
/// The index keeps its own recovery point (END_PHYS), so it may be persisted less often.
pub(crate) fn checkpoint(inner: &Inner, with_index: bool) -> Result<()> {
    let (dispatched, last_record, queues) = {
        let w = inner.writer.lock();
        let queues: Vec<_> = inner.queues.all();
        let maxes = queues
            .iter()
            .map(|q| (q.topic.clone(), q.queue_id, q.max_offset()))
            .collect::<Vec<_>>();
        (w.pos, w.last_record, maxes)
    };
    for cq in inner.queues.all() {
        cq.persist()?;
    }
    if with_index && let Some(index) = &inner.index {
        index.persist()?;
    }
    Checkpoint {
        commit_log_flushed: inner.flusher.flushed(),
        cq_dispatched: dispatched,
        last_record,
        queues,
    }
    .write(&inner.config.dir)
}

/// The last steps of [`super::Store::close`], after the threads stopped.
pub(crate) fn shutdown(inner: &Inner) -> Result<()> {
    if inner.flusher.failure().is_none() {
        inner.flusher.publish(flush_log(inner));
    }
    checkpoint(inner, true)?;
    if let Some(e) = inner.flusher.failure() {
        // Keep the abort marker: the next start must verify what this run wrote.
        return Err(super::StoreError::FlushFailed(e));
    }
    let abort = inner.config.dir.join(ABORT_FILE);
    fs::remove_file(&abort).at(&abort)?;
    sync_dir(&inner.config.dir)
}
