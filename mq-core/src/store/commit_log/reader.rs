//! Reading the CommitLog: one record by (offset, size) for pulls, and a sequential scanner for
//! recovery and the index dispatcher.

use bytes::Bytes;

use super::CommitLog;
use super::frame::{TRAILER_LEN, check_trailer};
use crate::protocol::message::{BLANK_MAGIC, MESSAGE_MAGIC, record_len};
use crate::store::error::{Result, StoreError};

/// How much the scanner reads at once.
const SCAN_CHUNK: usize = 1 << 20;

/// One verified record found by the [`Scanner`].
#[derive(Debug, Clone)]
pub(crate) struct ScannedRecord {
    /// CommitLog offset of the record.
    pub offset: u64,
    /// The RocketMQ record (TOTALSIZE bytes, no trailer).
    pub bytes: Bytes,
    /// Records after this one in the same batch.
    pub batch_follow: u32,
}

impl ScannedRecord {
    /// Offset just past this record's trailer.
    pub fn end(&self) -> u64 {
        self.offset + self.bytes.len() as u64 + TRAILER_LEN
    }
}

/// What the scanner found at its position.
#[derive(Debug)]
pub(crate) enum Scan {
    /// A record whose trailer checksum matches.
    Record(ScannedRecord),
    /// No more data: the limit, the end of the files, or zeros where nothing was written.
    End,
    /// Bytes that are not a valid record: a torn write or corruption.
    Invalid {
        /// CommitLog offset of the bad bytes.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

/// Walks records from an offset, stepping over blank segment ends, verifying each trailer.
#[derive(Debug)]
pub(crate) struct Scanner<'a> {
    log: &'a CommitLog,
    pos: u64,
    limit: u64,
    buf: Bytes,
    buf_start: u64,
    chunk: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner over `[from, limit)`.
    pub fn new(log: &'a CommitLog, from: u64, limit: u64) -> Self {
        Self::with_chunk(log, from, limit, SCAN_CHUNK)
    }

    /// A scanner reading `chunk` bytes at a time (small for a single look-up).
    pub fn with_chunk(log: &'a CommitLog, from: u64, limit: u64, chunk: usize) -> Self {
        Self {
            log,
            pos: from,
            limit,
            buf: Bytes::new(),
            buf_start: from,
            chunk,
        }
    }

    /// The offset of the next record to scan.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Bytes `[pos, pos + n)` if they can be read without crossing the segment end.
    fn window(&mut self, n: usize) -> Result<Option<Bytes>> {
        let have = self.buf_start <= self.pos
            && self.pos + n as u64 <= self.buf_start + self.buf.len() as u64;
        if !have {
            // Never read (or zero) more than the scan may use: the indexer calls this with
            // a few fresh records at a time.
            let room = usize::try_from(self.limit.saturating_sub(self.pos)).unwrap_or(usize::MAX);
            let mut v = vec![0u8; n.max(self.chunk.min(room))];
            let got = self.log.files.read_at(self.pos, &mut v)?;
            v.truncate(got);
            self.buf = Bytes::from(v);
            self.buf_start = self.pos;
        }
        let at = (self.pos - self.buf_start) as usize;
        Ok((self.buf.len() >= at + n).then(|| self.buf.slice(at..at + n)))
    }

    /// The next record, the end, or what is wrong at the current position.
    pub fn next(&mut self) -> Result<Scan> {
        let seg_size = self.log.files.segment_size();
        loop {
            if self.pos >= self.limit {
                return Ok(Scan::End);
            }
            let seg_end = self.log.files.segment_start(self.pos) + seg_size;
            let Some(head) = self.window(8)? else {
                // Data ends inside this segment. If a later segment exists, what lies between
                // is missing (a blank that was never written, or a cut file).
                return Ok(match self.log.files.last() {
                    Some(last) if last.start >= seg_end => {
                        self.invalid("segment ends without a blank record")
                    }
                    _ => Scan::End,
                });
            };
            let total = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            let magic = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
            if total == 0 && magic == 0 {
                return Ok(Scan::End);
            }
            if magic == BLANK_MAGIC {
                if u64::from(total as u32) != (seg_end - self.pos) & 0xFFFF_FFFF {
                    return Ok(self.invalid("blank record does not reach the segment end"));
                }
                self.pos = seg_end;
                continue;
            }
            if magic != MESSAGE_MAGIC {
                return Ok(self.invalid(format!("bad magic code {magic:#010x}")));
            }
            let min = record_len(0, 0, 0, 0) as i64;
            if i64::from(total) < min || self.pos + total as u64 + TRAILER_LEN > seg_end {
                return Ok(self.invalid(format!("record size {total} out of range")));
            }
            let total = total as usize;
            let Some(framed) = self.window(total + TRAILER_LEN as usize)? else {
                return Ok(self.invalid("record runs past the end of the data (torn write)"));
            };
            let Some(batch_follow) = check_trailer(&framed[..total], &framed[total..]) else {
                return Ok(self.invalid("checksum mismatch"));
            };
            let rec = ScannedRecord {
                offset: self.pos,
                bytes: framed.slice(..total),
                batch_follow,
            };
            self.pos = rec.end();
            return Ok(Scan::Record(rec));
        }
    }

    fn invalid(&self, reason: impl Into<String>) -> Scan {
        Scan::Invalid {
            offset: self.pos,
            reason: reason.into(),
        }
    }
}

impl CommitLog {
    /// The RocketMQ bytes of the record at `offset` with TOTALSIZE `size`.
    ///
    /// `Ok(None)` if its segment was deleted by retention. Checks the record's head (size and
    /// magic) so a stale ConsumeQueue entry is caught, not the full checksum (pulls are hot).
    pub(crate) fn read_record(&self, offset: u64, size: u32) -> Result<Option<Bytes>> {
        let Some(seg) = self.files.segment_for(offset) else {
            return Ok(None);
        };
        let mut buf = vec![0u8; size as usize];
        let got = seg.read_at(offset - seg.start, &mut buf)?;
        let pos = offset - seg.start;
        if got < buf.len() || buf.len() < 8 {
            return Err(StoreError::corrupt(
                &seg.path,
                pos,
                format!("record of {size} bytes is cut short at {got}"),
            ));
        }
        let total = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let magic = i32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
        if magic != MESSAGE_MAGIC || total as u32 != size {
            return Err(StoreError::corrupt(
                &seg.path,
                pos,
                format!(
                    "expected a record of {size} bytes, found size {total} magic {magic:#010x}"
                ),
            ));
        }
        Ok(Some(Bytes::from(buf)))
    }

    /// Reads the record at `offset` whose size is not known, verifying its trailer.
    ///
    /// `Ok(None)` if nothing valid is there (deleted, never written, or a different record's middle).
    pub(crate) fn read_record_at(&self, offset: u64) -> Result<Option<ScannedRecord>> {
        if offset < self.min_offset() || offset >= self.written() {
            return Ok(None);
        }
        let mut scanner = Scanner::with_chunk(self, offset, self.written(), 4096);
        Ok(match scanner.next()? {
            Scan::Record(r) if r.offset == offset => Some(r),
            _ => None,
        })
    }
}
