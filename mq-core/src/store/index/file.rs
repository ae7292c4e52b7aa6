//! The key index's bytes on disk: the file header, the 20-byte entries, and the slot table
//! kept in memory in its on-disk form (the layout is drawn in the parent module's doc).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use crate::store::error::{IoContext, Result};

const MAGIC: &[u8; 4] = b"MQIX";
const VERSION: u32 = 1;
pub(super) const HEADER_LEN: u64 = 64;
pub(super) const ENTRY_LEN: u64 = 20;

/// The 64-byte header: sizes, how many entries are used, and the time and CommitLog range indexed.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Header {
    pub(super) slots: u32,
    pub(super) max_entries: u32,
    pub(super) count: u32,
    pub(super) begin_ts: i64,
    pub(super) end_ts: i64,
    pub(super) begin_phys: u64,
    pub(super) end_phys: u64,
}

impl Header {
    pub(super) fn encode(&self) -> [u8; HEADER_LEN as usize] {
        let mut b = [0u8; HEADER_LEN as usize];
        b[..4].copy_from_slice(MAGIC);
        b[4..8].copy_from_slice(&VERSION.to_be_bytes());
        b[8..12].copy_from_slice(&self.slots.to_be_bytes());
        b[12..16].copy_from_slice(&self.max_entries.to_be_bytes());
        b[16..20].copy_from_slice(&self.count.to_be_bytes());
        b[24..32].copy_from_slice(&self.begin_ts.to_be_bytes());
        b[32..40].copy_from_slice(&self.end_ts.to_be_bytes());
        b[40..48].copy_from_slice(&self.begin_phys.to_be_bytes());
        b[48..56].copy_from_slice(&self.end_phys.to_be_bytes());
        let crc = crc32c::crc32c(&b[..56]);
        b[56..60].copy_from_slice(&crc.to_be_bytes());
        b
    }

    pub(super) fn decode(b: &[u8]) -> Option<Self> {
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_be_bytes(a)
        };
        if b.len() < HEADER_LEN as usize
            || &b[..4] != MAGIC
            || u32_at(4) != VERSION
            || u32_at(56) != crc32c::crc32c(&b[..56])
        {
            return None;
        }
        Some(Self {
            slots: u32_at(8),
            max_entries: u32_at(12),
            count: u32_at(16),
            begin_ts: u64_at(24) as i64,
            end_ts: u64_at(32) as i64,
            begin_phys: u64_at(40),
            end_phys: u64_at(48),
        })
    }

    /// Byte position of entry `n` (0-based) in the file.
    pub(super) fn entry_pos(&self, n: u32) -> u64 {
        HEADER_LEN + u64::from(self.slots) * 4 + u64::from(n) * ENTRY_LEN
    }
}

/// One entry: a key's hash, its record's CommitLog offset, seconds since the file's first
/// record, and the entry before it in the same slot's chain (entry number + 1; 0 ends it).
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub(super) key_hash: u32,
    pub(super) phys: u64,
    pub(super) time_diff_s: i32,
    pub(super) prev: u32,
}

impl Entry {
    pub(super) fn encode(&self) -> [u8; 20] {
        let mut b = [0u8; 20];
        b[..4].copy_from_slice(&self.key_hash.to_be_bytes());
        b[4..12].copy_from_slice(&self.phys.to_be_bytes());
        b[12..16].copy_from_slice(&self.time_diff_s.to_be_bytes());
        b[16..].copy_from_slice(&self.prev.to_be_bytes());
        b
    }
    pub(super) fn decode(b: &[u8]) -> Self {
        let mut p = [0u8; 8];
        p.copy_from_slice(&b[4..12]);
        Self {
            key_hash: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            phys: u64::from_be_bytes(p),
            time_diff_s: i32::from_be_bytes([b[12], b[13], b[14], b[15]]),
            prev: u32::from_be_bytes([b[16], b[17], b[18], b[19]]),
        }
    }
}

/// An index file and its header as last read or written.
#[derive(Debug)]
pub(super) struct IndexFile {
    pub(super) path: PathBuf,
    pub(super) file: File,
    pub(super) header: Header,
}

impl IndexFile {
    pub(super) fn read_u32(&self, pos: u64) -> Result<u32> {
        let mut b = [0u8; 4];
        self.file.read_exact_at(&mut b, pos).at(&self.path)?;
        Ok(u32::from_be_bytes(b))
    }

    pub(super) fn read_entry(&self, n: u32) -> Result<Entry> {
        let mut b = [0u8; 20];
        self.file
            .read_exact_at(&mut b, self.header.entry_pos(n))
            .at(&self.path)?;
        Ok(Entry::decode(&b))
    }
}

/// The active file's slot table, held in its on-disk form (big-endian u32s) so a persist
/// writes it straight from memory: converting 20 MB on every persist cost milliseconds.
#[derive(Debug)]
pub(super) struct SlotTable(Vec<u8>);

impl SlotTable {
    pub(super) fn zeroed(slots: usize) -> Self {
        Self(vec![0; slots * 4])
    }

    /// A table as read from a file whose header counts `count` entries. Slots written after
    /// the header's last update may name entries past COUNT; they are forgotten.
    pub(super) fn from_disk(bytes: Vec<u8>, count: u32) -> Self {
        let mut table = Self(bytes);
        for slot in 0..table.len() {
            if table.get(slot) > count {
                table.set(slot, 0);
            }
        }
        table
    }

    pub(super) fn len(&self) -> usize {
        self.0.len() / 4
    }

    pub(super) fn get(&self, slot: usize) -> u32 {
        let b = &self.0[slot * 4..slot * 4 + 4];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    pub(super) fn set(&mut self, slot: usize, value: u32) {
        self.0[slot * 4..slot * 4 + 4].copy_from_slice(&value.to_be_bytes());
    }

    /// The on-disk bytes of slots `[from, to)`.
    pub(super) fn bytes(&self, from: usize, to: usize) -> &[u8] {
        &self.0[from * 4..to * 4]
    }
}
