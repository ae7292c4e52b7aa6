//! Finding the CommitLog's valid end after a restart and cutting whatever lies past it.
//!
//! Recovery scans from a point known to be good (the checkpoint), verifying every trailer.
//! The first invalid byte ends the log: a torn write, a flipped bit, or a batch whose later
//! records are missing (a batch is kept whole or not at all). Everything after that point is
//! truncated, so later appends continue from a clean end.

use super::CommitLog;
use super::reader::{Scan, ScannedRecord, Scanner};
use crate::protocol::message::PHYSICAL_OFFSET_POS;
use crate::store::error::Result;

/// What a recovery scan found.
#[derive(Debug, Clone)]
pub(crate) struct Recovered {
    /// The valid end: the next append goes here.
    pub end: u64,
    /// Offset of the last valid record seen by the scan, if it saw any.
    pub last_record: Option<u64>,
    /// Offset and reason of the invalid bytes that were cut, if any.
    pub cut: Option<(u64, String)>,
    /// Bytes scanned.
    pub scanned: u64,
}

/// Verifies records from `from` on, hands each record of a complete batch to `on_record`
/// (in order), and truncates the files at the first invalid byte.
pub(crate) fn recover(
    log: &CommitLog,
    from: u64,
    mut on_record: impl FnMut(&ScannedRecord) -> Result<()>,
) -> Result<Recovered> {
    let mut scanner = Scanner::new(log, from, u64::MAX);
    let mut end = from;
    let mut last_record = None;
    let mut batch: Vec<ScannedRecord> = Vec::new();
    let cut = loop {
        let rec = match scanner.next()? {
            Scan::Record(rec) => rec,
            Scan::End if batch.is_empty() => break None,
            Scan::End => break Some((batch[0].offset, "batch cut short".to_owned())),
            Scan::Invalid { offset, reason } => {
                break Some((batch.first().map_or(offset, |r| r.offset), reason));
            }
        };
        let stamped = &rec.bytes[PHYSICAL_OFFSET_POS..PHYSICAL_OFFSET_POS + 8];
        if u64::from_be_bytes(stamped.try_into().unwrap_or_default()) != rec.offset {
            let at = batch.first().map_or(rec.offset, |r| r.offset);
            break Some((
                at,
                "record's PHYSICALOFFSET does not match its position".to_owned(),
            ));
        }
        if let Some(prev) = batch.last() {
            if prev.batch_follow != rec.batch_follow + 1 {
                break Some((batch[0].offset, "batch member count mismatch".to_owned()));
            }
        }
        let follow = rec.batch_follow;
        batch.push(rec);
        if follow == 0 {
            for r in batch.drain(..) {
                on_record(&r)?;
                last_record = Some(r.offset);
                end = r.end();
            }
        }
    };
    if let Some((at, reason)) = &cut {
        tracing::warn!(offset = at, reason = %reason, "commit log: cutting invalid tail");
    }
    log.files.truncate(end)?;
    log.set_written(end);
    Ok(Recovered {
        end,
        last_record,
        cut,
        scanned: scanner.position().saturating_sub(from),
    })
}
