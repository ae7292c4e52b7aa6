//! Appending to the CommitLog: placing encoded records, stamping their offsets, rolling segments.
//!
//! The caller encodes records outside any lock ([`EncodedBatch`]); under the store's writer lock
//! [`Writer::append`] stamps QUEUEOFFSET, PHYSICALOFFSET and STORETIMESTAMP, computes the
//! trailers and writes the whole batch with one `pwrite`. A batch never straddles two segments:
//! if it does not fit, the segment's end gets a blank record and the batch starts the next one.

use std::sync::Arc;

use super::CommitLog;
use super::frame::{BLANK_LEN, TRAILER_LEN, blank, trailer};
use crate::protocol::message::{PHYSICAL_OFFSET_POS, QUEUE_OFFSET_POS, StoredMessageRef};
use crate::store::error::{Result, StoreError};
use crate::store::segment::Segment;

/// Where one record sits inside an [`EncodedBatch`] buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordSlot {
    /// Start of the record in the buffer.
    pub at: usize,
    /// TOTALSIZE.
    pub size: u32,
    /// Position of STORETIMESTAMP inside the record.
    pub store_timestamp_pos: usize,
}

/// Records of one append (one message or one batch), encoded back to back with room for trailers.
#[derive(Debug, Default)]
pub(crate) struct EncodedBatch {
    /// Record, trailer, record, trailer…
    pub buf: Vec<u8>,
    /// One slot per record, in order.
    pub slots: Vec<RecordSlot>,
}

impl EncodedBatch {
    /// Appends one record (its offsets and store time are stamped later) and trailer space.
    pub fn push(&mut self, msg: &StoredMessageRef<'_>) -> Result<()> {
        let at = self.buf.len();
        msg.encode(&mut self.buf)?;
        let size = (self.buf.len() - at) as u32;
        self.buf.extend_from_slice(&[0u8; TRAILER_LEN as usize]);
        let store_timestamp_pos =
            crate::protocol::message::store_timestamp_pos(msg.effective_sys_flag());
        self.slots.push(RecordSlot {
            at,
            size,
            store_timestamp_pos,
        });
        Ok(())
    }

    /// Bytes the batch takes in the CommitLog.
    pub fn len(&self) -> u64 {
        self.buf.len() as u64
    }
}

/// Where an append landed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placement {
    /// CommitLog offset of the first record.
    pub start: u64,
    /// CommitLog offset just past the last record's trailer.
    pub end: u64,
}

/// The append position; lives under the store's writer lock.
#[derive(Debug)]
pub(crate) struct Writer {
    /// Where the next record goes.
    pub pos: u64,
    /// Offset of the last record written, if any (the clean-shutdown tail check uses it).
    pub last_record: Option<u64>,
    segment: Option<Arc<Segment>>,
}

impl Writer {
    /// A writer continuing at `pos` (the end recovery found).
    pub fn new(pos: u64, last_record: Option<u64>) -> Self {
        Self {
            pos,
            last_record,
            segment: None,
        }
    }

    /// Writes several appends back to back with one `pwrite` per segment they touch (usually
    /// one), each stamped with its own first queue offset. A syscall per message was the
    /// largest single cost of the broker's send path; this is the group write that removes it.
    ///
    /// Answers one placement per batch, in order; the successes are always a prefix. An I/O
    /// error fails the appends of the segment chunk it hit and every later one; earlier
    /// chunks are written and stay placed.
    pub fn append_group(
        &mut self,
        log: &CommitLog,
        batches: &mut [EncodedBatch],
        first_queue_offsets: &[u64],
        store_timestamp: i64,
    ) -> Vec<Result<Placement>> {
        let seg_size = log.files.segment_size();
        let mut placed: Vec<Result<Placement>> = Vec::with_capacity(batches.len());
        // The chunk being assembled: batches [chunk_from..] starting at log offset chunk_start.
        let mut chunk_from = 0;
        let mut chunk_start = self.pos;
        // What `last_record` was before the chunk, restored if the chunk is not written.
        let mut last_before_chunk = self.last_record;
        let mut failed: Option<String> = None;
        for i in 0..batches.len() {
            if failed.is_some() {
                break;
            }
            let len = batches[i].len();
            // Room for a blank after the batch, so every segment ends with a readable marker.
            // Callers check this before taking the lock; failing the rest too keeps the
            // placed appends a prefix, so the queue offsets they were given stay dense.
            if len + BLANK_LEN > seg_size {
                placed.push(Err(StoreError::LargerThanSegment {
                    size: len,
                    segment_size: seg_size,
                }));
                failed = Some(format!(
                    "an earlier append of {len} bytes is larger than a segment"
                ));
                break;
            }
            let seg_end = log.files.segment_start(self.pos) + seg_size;
            if self.pos + len + BLANK_LEN > seg_end {
                let rolled = self
                    .write_chunk(log, chunk_start, &batches[chunk_from..i])
                    .and_then(|()| self.write_blank(log, seg_end));
                if let Err(e) = rolled {
                    failed = Some(e.to_string());
                    fail_chunk(&mut placed, chunk_from, &e);
                    self.pos = chunk_start;
                    self.last_record = last_before_chunk;
                    break;
                }
                last_before_chunk = self.last_record;
                chunk_from = i;
                chunk_start = self.pos;
            }
            let start = self.pos;
            let batch = &mut batches[i];
            stamp(batch, start, first_queue_offsets[i], store_timestamp);
            self.last_record = batch.slots.last().map(|s| start + s.at as u64);
            self.pos = start + len;
            placed.push(Ok(Placement {
                start,
                end: self.pos,
            }));
        }
        if failed.is_none() {
            let end = placed.len();
            if let Err(e) = self.write_chunk(log, chunk_start, &batches[chunk_from..end]) {
                fail_chunk(&mut placed, chunk_from, &e);
                self.pos = chunk_start;
                self.last_record = last_before_chunk;
                failed = Some(e.to_string());
            }
        }
        if let Some(reason) = failed {
            while placed.len() < batches.len() {
                placed.push(Err(io_failure(log, &reason)));
            }
        }
        log.set_written(self.pos);
        placed
    }

    /// Writes consecutive batches at `start` with one `pwrite` (a no-op when there are none).
    /// A lone batch is written from its own buffer; several are joined first.
    fn write_chunk(&mut self, log: &CommitLog, start: u64, chunk: &[EncodedBatch]) -> Result<()> {
        let seg = match chunk {
            [] => return Ok(()),
            _ => self.segment_at(log, start)?,
        };
        match chunk {
            [one] => seg.write_at(start - seg.start, &one.buf),
            many => {
                let joined: Vec<u8> = many.iter().flat_map(|b| b.buf.iter().copied()).collect();
                seg.write_at(start - seg.start, &joined)
            }
        }
    }

    /// Ends the current segment with a blank record and moves to the next one.
    fn write_blank(&mut self, log: &CommitLog, seg_end: u64) -> Result<()> {
        let seg = self.segment_at(log, self.pos)?;
        seg.write_at(self.pos - seg.start, &blank(seg_end - self.pos))?;
        self.pos = seg_end;
        Ok(())
    }

    fn segment_at(&mut self, log: &CommitLog, offset: u64) -> Result<Arc<Segment>> {
        match &self.segment {
            Some(seg) if seg.start == log.files.segment_start(offset) => Ok(Arc::clone(seg)),
            _ => {
                let seg = log.files.get_or_create(offset)?;
                self.segment = Some(Arc::clone(&seg));
                Ok(seg)
            }
        }
    }
}

/// Stamps QUEUEOFFSET, PHYSICALOFFSET, STORETIMESTAMP and the trailers of a batch placed at `start`.
fn stamp(batch: &mut EncodedBatch, start: u64, first_queue_offset: u64, store_timestamp: i64) {
    let n = batch.slots.len();
    for (i, slot) in batch.slots.iter().enumerate() {
        let rec = &mut batch.buf[slot.at..slot.at + slot.size as usize];
        rec[QUEUE_OFFSET_POS..QUEUE_OFFSET_POS + 8]
            .copy_from_slice(&(first_queue_offset + i as u64).to_be_bytes());
        rec[PHYSICAL_OFFSET_POS..PHYSICAL_OFFSET_POS + 8]
            .copy_from_slice(&(start + slot.at as u64).to_be_bytes());
        let ts = slot.store_timestamp_pos;
        rec[ts..ts + 8].copy_from_slice(&store_timestamp.to_be_bytes());
        let t = trailer(rec, (n - 1 - i) as u32);
        let t_at = slot.at + slot.size as usize;
        batch.buf[t_at..t_at + TRAILER_LEN as usize].copy_from_slice(&t);
    }
}

/// Turns the placements of a chunk that was not written into errors.
fn fail_chunk(placed: &mut [Result<Placement>], from: usize, e: &StoreError) {
    for p in placed.iter_mut().skip(from) {
        if p.is_ok() {
            *p = Err(io_failure_like(e));
        }
    }
}

/// The error every append of a failed group write answers (`StoreError` is not `Clone`).
fn io_failure(log: &CommitLog, reason: &str) -> StoreError {
    StoreError::Io {
        path: log.files.dir().to_path_buf(),
        source: std::io::Error::other(reason.to_owned()),
    }
}

fn io_failure_like(e: &StoreError) -> StoreError {
    match e {
        StoreError::Io { path, source } => StoreError::Io {
            path: path.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        other => StoreError::Io {
            path: std::path::PathBuf::new(),
            source: std::io::Error::other(other.to_string()),
        },
    }
}
