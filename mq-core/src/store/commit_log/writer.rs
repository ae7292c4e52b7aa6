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
    /// Answers the placements of the appends written, always a prefix of `batches` (so the
    /// queue offsets the caller gave them stay dense), and the error that stopped the rest.
    /// An I/O error unplaces the whole segment chunk it hit; earlier chunks stay written.
    pub fn append_group(
        &mut self,
        log: &CommitLog,
        batches: &mut [EncodedBatch],
        first_queue_offsets: &[u64],
        store_timestamp: i64,
    ) -> (Vec<Placement>, Option<StoreError>) {
        let seg_size = log.files.segment_size();
        let mut placed = Vec::with_capacity(batches.len());
        let mut failure = None;
        // The chunk not written yet: batches [chunk_from..placed.len()] from log offset
        // chunk_start; `last_record` as it was before it, restored if its write fails.
        let (mut chunk_from, mut chunk_start, mut last_before_chunk) =
            (0, self.pos, self.last_record);
        for i in 0..batches.len() {
            let len = batches[i].len();
            // Room for a blank after the batch, so every segment ends with a readable marker.
            // Callers check this before taking the lock.
            if len + BLANK_LEN > seg_size {
                failure = Some(StoreError::LargerThanSegment {
                    size: len,
                    segment_size: seg_size,
                });
                break;
            }
            let seg_end = log.files.segment_start(self.pos) + seg_size;
            if self.pos + len + BLANK_LEN > seg_end {
                let rolled = self
                    .write_chunk(log, chunk_start, &batches[chunk_from..i])
                    .and_then(|()| self.write_blank(log, seg_end));
                if let Err(e) = rolled {
                    failure = Some(e);
                    break;
                }
                (chunk_from, chunk_start, last_before_chunk) = (i, self.pos, self.last_record);
            }
            let start = self.pos;
            let batch = &mut batches[i];
            stamp(batch, start, first_queue_offsets[i], store_timestamp);
            self.last_record = batch.slots.last().map(|s| start + s.at as u64);
            self.pos = start + len;
            placed.push(Placement {
                start,
                end: self.pos,
            });
        }
        // The last chunk is written now, unless a roll failed: then it is the chunk that
        // failed to be written. An unwritten chunk is unplaced; its first append gets the error.
        let roll_failed = failure
            .as_ref()
            .is_some_and(|e| !matches!(e, StoreError::LargerThanSegment { .. }));
        let mut chunk_written = !roll_failed;
        if chunk_written {
            if let Err(e) = self.write_chunk(log, chunk_start, &batches[chunk_from..placed.len()]) {
                failure = Some(e);
                chunk_written = false;
            }
        }
        if !chunk_written {
            placed.truncate(chunk_from);
            self.pos = chunk_start;
            self.last_record = last_before_chunk;
        }
        log.set_written(self.pos);
        (placed, failure)
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
                let mut joined = Vec::with_capacity(many.iter().map(|b| b.buf.len()).sum());
                for batch in many {
                    joined.extend_from_slice(&batch.buf);
                }
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
