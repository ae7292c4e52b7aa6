//! One ConsumeQueue: the (topic, queue) index of fixed 20-byte entries into the CommitLog.
//!
//! Entry `n` (the message with queue offset `n`) lives at byte `n·20` of the queue's segmented
//! file: CommitLog offset i64 ‖ size i32 ‖ tag code i64, big-endian as in RocketMQ. New entries
//! first go to an in-memory tail (`pending`) and reach the files in batches (every checkpoint
//! or every [`PERSIST_BATCH`] bytes): the queue is rebuildable from the CommitLog, so a lost
//! tail costs a re-dispatch, not data, and appends avoid a second syscall per message.

use std::path::Path;

use parking_lot::Mutex;

use super::error::{Result, StoreError};
use super::segment::SegmentedFile;

/// Bytes of one entry.
pub(crate) const ENTRY_SIZE: u64 = 20;
/// Pending bytes above which the appender itself writes the tail out.
pub(crate) const PERSIST_BATCH: usize = 64 << 10;

/// One ConsumeQueue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqEntry {
    /// CommitLog offset of the record.
    pub commit_log_offset: u64,
    /// TOTALSIZE of the record (without the store's trailer).
    pub size: u32,
    /// Tag hash code (or a delayed message's due time in `SCHEDULE_TOPIC_XXXX`).
    pub tags_code: i64,
}

impl CqEntry {
    fn encode(&self) -> [u8; 20] {
        let mut b = [0u8; 20];
        b[..8].copy_from_slice(&self.commit_log_offset.to_be_bytes());
        b[8..12].copy_from_slice(&self.size.to_be_bytes());
        b[12..].copy_from_slice(&self.tags_code.to_be_bytes());
        b
    }

    fn decode(b: &[u8]) -> Self {
        let mut o = [0u8; 8];
        o.copy_from_slice(&b[..8]);
        let mut s = [0u8; 4];
        s.copy_from_slice(&b[8..12]);
        let mut t = [0u8; 8];
        t.copy_from_slice(&b[12..20]);
        Self {
            commit_log_offset: u64::from_be_bytes(o),
            size: u32::from_be_bytes(s),
            tags_code: i64::from_be_bytes(t),
        }
    }

    /// An all-zero slot: never written (a hole before the queue's first entry, or a torn tail).
    fn is_blank(&self) -> bool {
        self.size == 0
    }
}

#[derive(Debug)]
struct State {
    /// First readable queue offset.
    min: u64,
    /// Next queue offset to assign.
    max: u64,
    /// Entries below this are in the files.
    persisted: u64,
    /// Encoded entries `[persisted, max)`.
    pending: Vec<u8>,
    /// Entries from here to `persisted` are written but not yet fsynced.
    unsynced: u64,
}

/// The answer of [`ConsumeQueue::put_rebuilt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Put {
    /// The entry was added.
    Added,
    /// The queue already has this offset.
    Present,
    /// The offset lies beyond the queue's end: entries in between are missing.
    Gap,
}

/// One (topic, queue)'s ConsumeQueue.
#[derive(Debug)]
pub(crate) struct ConsumeQueue {
    /// The topic.
    pub topic: String,
    /// The queue id.
    pub queue_id: i32,
    files: SegmentedFile,
    state: Mutex<State>,
    /// Serialises writers of the files (flush thread vs. an appender persisting a large tail).
    persist_lock: Mutex<()>,
}

impl ConsumeQueue {
    /// Opens the queue in `dir`, finding its first and last valid entries.
    ///
    /// Answers the queue and whether a hole was found and cut (the queue needs a rebuild).
    pub fn open(
        dir: &Path,
        topic: &str,
        queue_id: i32,
        entries_per_file: u64,
    ) -> Result<(Self, bool)> {
        let files = SegmentedFile::open(dir, entries_per_file * ENTRY_SIZE)?;
        let segs = files.segments();
        let seg_size = files.segment_size();
        let mut damaged = false;
        // The files must be contiguous and all but the last full; cut at the first violation.
        let mut end = segs.first().map_or(0, |s| s.start);
        for seg in &segs {
            if seg.start != end {
                damaged = true;
                break;
            }
            let len = seg.len()?;
            end = seg.start + len - len % ENTRY_SIZE;
            if len < seg_size {
                break;
            }
        }
        let cq = Self {
            topic: topic.to_owned(),
            queue_id,
            files,
            state: Mutex::new(State {
                min: 0,
                max: 0,
                persisted: 0,
                pending: Vec::new(),
                unsynced: 0,
            }),
            persist_lock: Mutex::new(()),
        };
        cq.files.truncate(end)?;
        let start = segs.first().map_or(0, |s| s.start) / ENTRY_SIZE;
        let mut max = end / ENTRY_SIZE;
        // Trailing zero entries are a tail that never reached the disk.
        while max > start && cq.read_file_entry(max - 1)?.is_blank() {
            max -= 1;
        }
        // Leading zero entries are a hole before a queue that (re)started at a later offset.
        let mut min = start;
        while min < max && cq.read_file_entry(min)?.is_blank() {
            min += 1;
        }
        if max * ENTRY_SIZE < end {
            cq.files.truncate(max * ENTRY_SIZE)?;
        }
        *cq.state.lock() = State {
            min,
            max,
            persisted: max,
            pending: Vec::new(),
            unsynced: max,
        };
        Ok((cq, damaged))
    }

    fn read_file_entry(&self, n: u64) -> Result<CqEntry> {
        let mut b = [0u8; 20];
        let got = self.files.read_at(n * ENTRY_SIZE, &mut b)?;
        if got < b.len() {
            b = [0u8; 20];
        }
        Ok(CqEntry::decode(&b))
    }

    /// First readable queue offset.
    pub fn min_offset(&self) -> u64 {
        self.state.lock().min
    }

    /// Next queue offset (one past the last entry).
    pub fn max_offset(&self) -> u64 {
        self.state.lock().max
    }

    /// Appends entries for queue offsets `max, max+1, …`; answers the new max.
    pub fn push(&self, entries: &[CqEntry]) -> u64 {
        let mut st = self.state.lock();
        for e in entries {
            st.pending.extend_from_slice(&e.encode());
        }
        st.max += entries.len() as u64;
        st.max
    }

    /// Whether the in-memory tail is large enough to write out now.
    pub fn tail_is_large(&self) -> bool {
        self.state.lock().pending.len() >= PERSIST_BATCH
    }

    /// Adds the entry of a record re-read from the CommitLog, if the queue lacks it.
    pub fn put_rebuilt(&self, queue_offset: u64, entry: CqEntry) -> Put {
        let mut st = self.state.lock();
        if queue_offset < st.max {
            return Put::Present;
        }
        if queue_offset > st.max {
            if st.min < st.max || !st.pending.is_empty() {
                return Put::Gap;
            }
            // An empty queue (new, or all its entries expired) restarts at this offset.
            st.min = queue_offset;
            st.max = queue_offset;
            st.persisted = queue_offset;
            st.unsynced = queue_offset;
        }
        st.pending.extend_from_slice(&entry.encode());
        st.max += 1;
        Put::Added
    }

    /// Writes the in-memory tail to the files without fsync (an appender whose tail grew large).
    pub fn write_tail(&self) -> Result<()> {
        let _guard = self.persist_lock.lock();
        self.write_tail_locked()
    }

    fn write_tail_locked(&self) -> Result<()> {
        let (from, bytes) = {
            let st = self.state.lock();
            if st.pending.is_empty() {
                return Ok(());
            }
            (st.persisted, st.pending.clone())
        };
        self.files.write_at(from * ENTRY_SIZE, &bytes)?;
        let mut st = self.state.lock();
        st.pending.drain(..bytes.len());
        st.persisted = from + (bytes.len() as u64) / ENTRY_SIZE;
        Ok(())
    }

    /// Writes the in-memory tail and fsyncs everything written since the last persist
    /// (the checkpoint relies on it).
    pub fn persist(&self) -> Result<()> {
        let _guard = self.persist_lock.lock();
        self.write_tail_locked()?;
        let (from, to) = {
            let st = self.state.lock();
            (st.unsynced, st.persisted)
        };
        if from < to {
            self.files.sync_range(from * ENTRY_SIZE, to * ENTRY_SIZE)?;
            let mut st = self.state.lock();
            st.unsynced = st.unsynced.max(to);
        }
        Ok(())
    }

    /// Up to `max_count` entries from queue offset `from` (fewer at the end of the queue).
    pub fn entries(&self, from: u64, max_count: usize) -> Result<Vec<CqEntry>> {
        let mut out = Vec::with_capacity(max_count.min(1024));
        let mut cur = from;
        while out.len() < max_count {
            let want = (max_count - out.len()) as u64;
            let file_part = {
                let st = self.state.lock();
                if cur < st.min || cur >= st.max {
                    break;
                }
                if cur >= st.persisted {
                    let skip = ((cur - st.persisted) * ENTRY_SIZE) as usize;
                    let take = (want.min(st.max - cur) * ENTRY_SIZE) as usize;
                    out.extend(
                        st.pending[skip..skip + take]
                            .chunks_exact(20)
                            .map(CqEntry::decode),
                    );
                    break;
                }
                want.min(st.persisted - cur)
            };
            // Entries below `persisted` never change, so the file is read without the lock.
            let mut buf = vec![0u8; (file_part * ENTRY_SIZE) as usize];
            let mut done = 0;
            while done < buf.len() {
                let n = self
                    .files
                    .read_at(cur * ENTRY_SIZE + done as u64, &mut buf[done..])?;
                if n == 0 {
                    break; // deleted by retention meanwhile
                }
                done += n;
            }
            if done < buf.len() {
                let path = self.files.dir().to_path_buf();
                return Err(StoreError::corrupt(
                    &path,
                    cur * ENTRY_SIZE + done as u64,
                    "ConsumeQueue file ends early",
                ));
            }
            out.extend(buf.chunks_exact(20).map(CqEntry::decode));
            cur += file_part;
        }
        Ok(out)
    }

    /// The entry at queue offset `n`, if the queue holds it.
    pub fn entry(&self, n: u64) -> Result<Option<CqEntry>> {
        Ok(self.entries(n, 1)?.into_iter().next())
    }

    /// The first queue offset in `[min, max)` whose entry satisfies `pred` (monotone: false… true…).
    pub fn partition_point(&self, mut pred: impl FnMut(&CqEntry) -> Result<bool>) -> Result<u64> {
        let (mut lo, mut hi) = {
            let st = self.state.lock();
            (st.min, st.max)
        };
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.entry(mid)? {
                Some(e) if !pred(&e)? => lo = mid + 1,
                _ => hi = mid,
            }
        }
        Ok(lo)
    }

    /// Drops the entries pointing at or past CommitLog offset `end` (the log was cut there).
    pub fn truncate_to_commit_log(&self, end: u64) -> Result<()> {
        let keep = self.partition_point(|e| Ok(e.commit_log_offset >= end))?;
        let mut st = self.state.lock();
        if keep >= st.max {
            return Ok(());
        }
        let keep_pending = keep.saturating_sub(st.persisted);
        st.pending.truncate((keep_pending * ENTRY_SIZE) as usize);
        st.max = keep;
        st.min = st.min.min(keep);
        if keep < st.persisted {
            st.persisted = keep;
            st.unsynced = st.unsynced.min(keep);
            drop(st);
            self.files.truncate(keep * ENTRY_SIZE)?;
        }
        Ok(())
    }

    /// Retention: moves the min past entries below CommitLog offset `log_min` and deletes
    /// files holding only such entries (never the newest file, which keeps the max).
    pub fn delete_below(&self, log_min: u64) -> Result<usize> {
        let first_kept = self.partition_point(|e| Ok(e.commit_log_offset >= log_min))?;
        {
            let mut st = self.state.lock();
            st.min = st.min.max(first_kept);
        }
        let seg_size = self.files.segment_size();
        self.files
            .remove_front_while(|seg| Ok(seg.start + seg_size <= first_kept * ENTRY_SIZE))
    }

    /// The last entry, if any.
    pub fn last_entry(&self) -> Result<Option<CqEntry>> {
        let (min, max) = {
            let st = self.state.lock();
            (st.min, st.max)
        };
        if max == min {
            return Ok(None);
        }
        self.entry(max - 1)
    }
}
