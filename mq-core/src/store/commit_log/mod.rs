//! The CommitLog: one append-only log of every topic's records in segment files.
//!
//! [`frame`] is the on-disk framing (trailer, blank), [`writer`] appends, [`reader`] reads and
//! scans, [`recovery`] finds the valid end after a crash and cuts what lies past it.

pub(crate) mod frame;
pub(crate) mod reader;
pub(crate) mod recovery;
pub(crate) mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::Result;
use super::segment::SegmentedFile;

/// The segment files plus how far they hold complete records.
#[derive(Debug)]
pub(crate) struct CommitLog {
    /// The segment files (`commitlog/`).
    pub files: SegmentedFile,
    /// End of the last completely written record: everything below may be read.
    written: AtomicU64,
}

impl CommitLog {
    /// Opens the segment files in `dir`; the written end is set by recovery.
    pub fn open(dir: &Path, segment_size: u64) -> Result<Self> {
        Ok(Self {
            files: SegmentedFile::open(dir, segment_size)?,
            written: AtomicU64::new(0),
        })
    }

    /// End of the complete records.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Publishes a new end of complete records (after the bytes are written).
    pub fn set_written(&self, end: u64) {
        self.written.store(end, Ordering::Release);
    }

    /// The oldest offset still stored (start of the first segment).
    pub fn min_offset(&self) -> u64 {
        self.files
            .first()
            .map_or_else(|| self.written(), |s| s.start)
    }
}
