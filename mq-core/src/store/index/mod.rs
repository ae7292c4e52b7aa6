//! The key index: topic + key (a `KEYS` entry or `UNIQ_KEY`) → CommitLog offsets, newest first.
//!
//! Hash-slot files like RocketMQ's `IndexFile`, named by the CommitLog offset of the first
//! record they index (`index/{offset:020}`), big-endian:
//!
//! ```text
//! HEADER 64 B: MAGIC "MQIX" ‖ VERSION u32 ‖ SLOTS u32 ‖ MAX_ENTRIES u32 ‖ COUNT u32 ‖ 0 u32
//!              ‖ BEGIN_TS i64 ‖ END_TS i64 ‖ BEGIN_PHYS u64 ‖ END_PHYS u64 ‖ CRC32C u32 ‖ 0…
//! SLOTS × u32        entry number + 1 of the newest entry whose key hashes here (0 = none)
//! MAX_ENTRIES × 20 B KEY_HASH u32 ‖ PHYS u64 ‖ TIME_DIFF_S i32 (vs BEGIN_TS) ‖ PREV u32
//! ```
//!
//! `END_PHYS` is how far the CommitLog has been indexed into this file; after a crash the
//! indexer resumes there. Memory stays bounded: only the active file's slot table and its
//! not-yet-written entries are held; full files are read with `pread`. Hits are always
//! re-checked against the record itself, so a stale or colliding entry costs a read, never a
//! wrong answer.

mod file;

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use self::file::{ENTRY_LEN, Entry, HEADER_LEN, Header, IndexFile, SlotTable};
use super::error::{IoContext, Result};
use super::segment::sync_dir;

/// Slots per dirty-tracking page (4 KiB of slots).
const SLOTS_PER_PAGE: usize = 1024;
/// Dirty pages written by one `pwrite` at most (1 MiB).
const PAGES_PER_WRITE: usize = 256;

/// The file being filled: slot table in memory, entries past `persisted` not yet written.
#[derive(Debug)]
struct Active {
    f: IndexFile,
    slots: SlotTable,
    dirty: Vec<bool>,
    pending: Vec<u8>,
    persisted: u32,
}

impl Active {
    /// The active file `f` with its slot table; every entry it counts is on disk, every slot
    /// page is to be written at the next persist.
    fn new(f: IndexFile, slots: SlotTable) -> Self {
        let pages = slots.len().div_ceil(SLOTS_PER_PAGE);
        let persisted = f.header.count;
        Self {
            f,
            slots,
            dirty: vec![true; pages],
            pending: Vec::new(),
            persisted,
        }
    }
}

#[derive(Debug)]
struct State {
    sealed: Vec<IndexFile>,
    active: Option<Active>,
    indexed_to: u64,
}

/// The on-disk key index.
#[derive(Debug)]
pub(crate) struct Index {
    dir: PathBuf,
    slots: u32,
    max_entries: u32,
    state: Mutex<State>,
}

/// The hash of an index key (`topic#key`).
fn key_hash(key: &str) -> u32 {
    crc32c::crc32c(key.as_bytes())
}

impl Index {
    /// Opens `dir`; indexing resumes at the last file's end (at most `log_end`, at least `log_min`).
    pub fn open(
        dir: &Path,
        slots: u32,
        max_entries: u32,
        log_min: u64,
        log_end: u64,
    ) -> Result<Self> {
        fs::create_dir_all(dir).at(dir)?;
        let mut names: Vec<(u64, PathBuf)> = fs::read_dir(dir)
            .at(dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let n = e
                    .file_name()
                    .to_str()
                    .filter(|n| n.len() == 20)?
                    .parse::<u64>()
                    .ok()?;
                Some((n, e.path()))
            })
            .collect();
        names.sort();
        let mut sealed = Vec::new();
        for (_, path) in names {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .at(&path)?;
            let mut hb = [0u8; HEADER_LEN as usize];
            let header = file
                .read_exact_at(&mut hb, 0)
                .ok()
                .and_then(|()| Header::decode(&hb));
            match header {
                Some(header) => sealed.push(IndexFile { path, file, header }),
                None => {
                    // A file whose header never reached the disk indexes nothing we can trust.
                    tracing::warn!(path = %path.display(), "index file header is damaged; dropping the file");
                    fs::remove_file(&path).at(&path)?;
                }
            }
        }
        let mut active = None;
        if sealed
            .last()
            .is_some_and(|f| f.header.count < f.header.max_entries && f.header.slots == slots)
        {
            if let Some(f) = sealed.pop() {
                active = Some(Self::load_active(f)?);
            }
        }
        let last_end = active
            .as_ref()
            .map(|a| a.f.header.end_phys)
            .or(sealed.last().map(|f| f.header.end_phys));
        let indexed_to = last_end
            .unwrap_or(log_min)
            .clamp(log_min, log_end.max(log_min));
        Ok(Self {
            dir: dir.to_path_buf(),
            slots,
            max_entries,
            state: Mutex::new(State {
                sealed,
                active,
                indexed_to,
            }),
        })
    }

    fn load_active(f: IndexFile) -> Result<Active> {
        let mut raw = vec![0u8; f.header.slots as usize * 4];
        f.file.read_exact_at(&mut raw, HEADER_LEN).at(&f.path)?;
        let slots = SlotTable::from_disk(raw, f.header.count);
        Ok(Active::new(f, slots))
    }

    /// CommitLog offset up to which records have been indexed.
    pub fn indexed_to(&self) -> u64 {
        self.state.lock().indexed_to
    }

    /// Records `key` (already `topic#key`) of the record at `phys` stored at `store_ts`.
    pub fn add(&self, key: &str, phys: u64, store_ts: i64) -> Result<()> {
        let mut st = self.state.lock();
        let full = st
            .active
            .as_ref()
            .is_some_and(|a| a.f.header.count >= a.f.header.max_entries);
        if full {
            if let Some(mut a) = st.active.take() {
                Self::persist_active(&mut a)?;
                st.sealed.push(a.f);
            }
        }
        if st.active.is_none() {
            st.active = Some(self.create_active(phys, store_ts)?);
        }
        let Some(a) = st.active.as_mut() else {
            return Ok(());
        };
        let hash = key_hash(key);
        let slot = (hash % a.f.header.slots) as usize;
        let diff = (store_ts.saturating_sub(a.f.header.begin_ts) / 1000)
            .clamp(0, i64::from(i32::MAX)) as i32;
        let entry = Entry {
            key_hash: hash,
            phys,
            time_diff_s: diff,
            prev: a.slots.get(slot),
        };
        a.pending.extend_from_slice(&entry.encode());
        a.f.header.count += 1;
        a.slots.set(slot, a.f.header.count);
        a.dirty[slot / SLOTS_PER_PAGE] = true;
        a.f.header.end_ts = a.f.header.end_ts.max(store_ts);
        Ok(())
    }

    /// Notes that every record below `end` has been indexed.
    pub fn set_indexed_to(&self, end: u64) {
        let mut st = self.state.lock();
        st.indexed_to = end;
        if let Some(a) = st.active.as_mut() {
            a.f.header.end_phys = end;
        }
    }

    fn create_active(&self, phys: u64, store_ts: i64) -> Result<Active> {
        let path = self.dir.join(format!("{phys:020}"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .at(&path)?;
        sync_dir(&self.dir)?;
        let header = Header {
            slots: self.slots,
            max_entries: self.max_entries,
            count: 0,
            begin_ts: store_ts,
            end_ts: store_ts,
            begin_phys: phys,
            end_phys: phys,
        };
        Ok(Active::new(
            IndexFile { path, file, header },
            SlotTable::zeroed(self.slots as usize),
        ))
    }

    /// Entries, then dirty slot pages, fsync, then the header, fsync: the header never
    /// promises more than is on disk.
    fn persist_active(a: &mut Active) -> Result<()> {
        let f = &a.f;
        if !a.pending.is_empty() {
            f.file
                .write_all_at(&a.pending, f.header.entry_pos(a.persisted))
                .at(&f.path)?;
        }
        // Keys hash all over the table, so after a second of traffic nearly every page is
        // dirty: runs of dirty pages go out in writes of up to a MiB, not a `pwrite` per 4 KiB
        // page (5,000,000 slots made that 4,883 syscalls per persist).
        let mut page = 0;
        while page < a.dirty.len() {
            if !a.dirty[page] {
                page += 1;
                continue;
            }
            let first = page;
            while page < a.dirty.len() && page - first < PAGES_PER_WRITE && a.dirty[page] {
                page += 1;
            }
            a.dirty[first..page].fill(false);
            let from = first * SLOTS_PER_PAGE;
            let to = (page * SLOTS_PER_PAGE).min(a.slots.len());
            f.file
                .write_all_at(a.slots.bytes(from, to), HEADER_LEN + from as u64 * 4)
                .at(&f.path)?;
        }
        f.file.sync_data().at(&f.path)?;
        f.file.write_all_at(&f.header.encode(), 0).at(&f.path)?;
        f.file.sync_data().at(&f.path)?;
        a.pending.clear();
        a.persisted = f.header.count;
        Ok(())
    }

    /// Writes the active file's new entries, slots and header to disk.
    pub fn persist(&self) -> Result<()> {
        let mut st = self.state.lock();
        if let Some(a) = st.active.as_mut() {
            Self::persist_active(a)?;
        }
        Ok(())
    }

    /// CommitLog offsets of entries for `key` (`topic#key`) stored within `[begin_ms, end_ms]`,
    /// newest first, at most `max` (duplicates removed; the caller re-checks each record).
    pub fn lookup(&self, key: &str, max: usize, begin_ms: i64, end_ms: i64) -> Result<Vec<u64>> {
        let hash = key_hash(key);
        let st = self.state.lock();
        let mut out: Vec<u64> = Vec::new();
        let in_range =
            |h: &Header| h.end_ts >= begin_ms.saturating_sub(1000) && h.begin_ts <= end_ms;
        let push = |e: &Entry, h: &Header, out: &mut Vec<u64>| {
            let ts = h.begin_ts + i64::from(e.time_diff_s) * 1000;
            // Entry times are truncated to seconds; compare at that resolution.
            if e.key_hash == hash && ts <= end_ms && ts + 999 >= begin_ms && !out.contains(&e.phys)
            {
                out.push(e.phys);
            }
        };
        if let Some(a) = st.active.as_ref().filter(|a| in_range(&a.f.header)) {
            let slot = (hash % a.f.header.slots) as usize;
            let mut n = a.slots.get(slot);
            while n > 0 && out.len() < max {
                let idx = n - 1;
                let e = if idx >= a.persisted {
                    let at = ((idx - a.persisted) as u64 * ENTRY_LEN) as usize;
                    Entry::decode(&a.pending[at..at + ENTRY_LEN as usize])
                } else {
                    a.f.read_entry(idx)?
                };
                push(&e, &a.f.header, &mut out);
                if e.prev >= n {
                    break; // chains only point backwards; anything else is damage
                }
                n = e.prev;
            }
        }
        for f in st.sealed.iter().rev().filter(|f| in_range(&f.header)) {
            if out.len() >= max {
                break;
            }
            let slot = u64::from(hash % f.header.slots);
            let mut n = f.read_u32(HEADER_LEN + slot * 4)?;
            while n > 0 && n <= f.header.count && out.len() < max {
                let e = f.read_entry(n - 1)?;
                push(&e, &f.header, &mut out);
                if e.prev >= n {
                    break;
                }
                n = e.prev;
            }
        }
        Ok(out)
    }

    /// Retention: deletes full files whose records all lie below CommitLog offset `log_min`.
    pub fn delete_below(&self, log_min: u64) -> Result<usize> {
        let mut st = self.state.lock();
        let before = st.sealed.len();
        let mut kept = Vec::new();
        for f in st.sealed.drain(..) {
            if f.header.end_phys <= log_min {
                fs::remove_file(&f.path).at(&f.path)?;
            } else {
                kept.push(f);
            }
        }
        let removed = before - kept.len();
        st.sealed = kept;
        if st.indexed_to < log_min {
            st.indexed_to = log_min;
        }
        drop(st);
        if removed > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(removed)
    }
}
