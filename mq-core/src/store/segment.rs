//! A log split into fixed-size files named by their start offset (20 digits, like RocketMQ).
//!
//! The CommitLog and every ConsumeQueue are a [`SegmentedFile`]: a logical byte space where
//! segment `n` holds `[n·size, (n+1)·size)` in a file named `{start:020}`. Files grow as they
//! are written (no preallocation), so a file's length is where its data ends. Creating or
//! removing a file fsyncs the directory, so the file set itself survives a power cut.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use super::error::{IoContext, Result, StoreError};

/// One segment file.
#[derive(Debug)]
pub(crate) struct Segment {
    /// Logical offset of the file's first byte.
    pub start: u64,
    /// The file's path, for error messages.
    pub path: PathBuf,
    file: File,
}

impl Segment {
    /// Reads as many bytes as the file has at `pos` (file-relative), up to `buf.len()`.
    pub fn read_at(&self, pos: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], pos + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e).at(&self.path),
            }
        }
        Ok(done)
    }

    /// Writes all of `buf` at `pos` (file-relative).
    pub fn write_at(&self, pos: u64, buf: &[u8]) -> Result<()> {
        self.file.write_all_at(buf, pos).at(&self.path)
    }

    /// fdatasync: the data and the file length reach the disk.
    pub fn sync(&self) -> Result<()> {
        self.file.sync_data().at(&self.path)
    }

    /// Current file length.
    pub fn len(&self) -> Result<u64> {
        Ok(self.file.metadata().at(&self.path)?.len())
    }

    /// Last modification time, ms since the epoch.
    pub fn modified_millis(&self) -> Result<i64> {
        let modified = self
            .file
            .metadata()
            .and_then(|m| m.modified())
            .at(&self.path)?;
        Ok(modified
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0))
    }

    /// Cuts the file to `len` bytes.
    pub fn truncate(&self, len: u64) -> Result<()> {
        self.file.set_len(len).at(&self.path)?;
        self.sync()
    }
}

/// fsyncs a directory so a file created, renamed or removed in it stays so after a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

/// A logical byte space made of segment files in one directory.
#[derive(Debug)]
pub(crate) struct SegmentedFile {
    dir: PathBuf,
    segment_size: u64,
    segments: RwLock<Vec<Arc<Segment>>>,
}

impl SegmentedFile {
    /// Opens (creating the directory if needed) and lists the segment files, oldest first.
    pub fn open(dir: &Path, segment_size: u64) -> Result<Self> {
        fs::create_dir_all(dir).at(dir)?;
        let mut segments = Vec::new();
        for entry in fs::read_dir(dir).at(dir)? {
            let entry = entry.at(dir)?;
            let name = entry.file_name();
            let Some(start) = name
                .to_str()
                .filter(|n| n.len() == 20)
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue; // not a segment (e.g. a temporary file)
            };
            let path = entry.path();
            if start % segment_size != 0 {
                return Err(StoreError::corrupt(
                    &path,
                    0,
                    format!(
                        "segment start {start} is not a multiple of the segment size {segment_size}"
                    ),
                ));
            }
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .at(&path)?;
            let len = file.metadata().at(&path)?.len();
            if len > segment_size {
                return Err(StoreError::corrupt(
                    &path,
                    segment_size,
                    format!(
                        "file of {len} bytes is longer than the segment size {segment_size} (changed config?)"
                    ),
                ));
            }
            segments.push(Arc::new(Segment { start, path, file }));
        }
        segments.sort_by_key(|s| s.start);
        Ok(Self {
            dir: dir.to_path_buf(),
            segment_size,
            segments: RwLock::new(segments),
        })
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Size of every segment.
    pub fn segment_size(&self) -> u64 {
        self.segment_size
    }

    /// Start of the segment holding `offset`.
    pub fn segment_start(&self, offset: u64) -> u64 {
        offset - offset % self.segment_size
    }

    /// A snapshot of the segment list, oldest first.
    pub fn segments(&self) -> Vec<Arc<Segment>> {
        self.segments.read().clone()
    }

    /// The segment holding `offset`, if its file exists.
    pub fn segment_for(&self, offset: u64) -> Option<Arc<Segment>> {
        let start = self.segment_start(offset);
        let segs = self.segments.read();
        segs.binary_search_by_key(&start, |s| s.start)
            .ok()
            .map(|i| Arc::clone(&segs[i]))
    }

    /// The first segment, if any.
    pub fn first(&self) -> Option<Arc<Segment>> {
        self.segments.read().first().cloned()
    }

    /// The last segment, if any.
    pub fn last(&self) -> Option<Arc<Segment>> {
        self.segments.read().last().cloned()
    }

    /// The segment holding `offset`, creating its file (and fsyncing the directory) if missing.
    pub fn get_or_create(&self, offset: u64) -> Result<Arc<Segment>> {
        if let Some(seg) = self.segment_for(offset) {
            return Ok(seg);
        }
        let start = self.segment_start(offset);
        let mut segs = self.segments.write();
        if let Ok(i) = segs.binary_search_by_key(&start, |s| s.start) {
            return Ok(Arc::clone(&segs[i]));
        }
        let path = self.dir.join(format!("{start:020}"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .at(&path)?;
        sync_dir(&self.dir)?;
        let seg = Arc::new(Segment { start, path, file });
        let pos = segs.partition_point(|s| s.start < start);
        segs.insert(pos, Arc::clone(&seg));
        Ok(seg)
    }

    /// Reads up to `buf.len()` bytes at logical `offset`, never past its segment's end.
    ///
    /// Answers the number of bytes read: 0 where no segment or no data is.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let Some(seg) = self.segment_for(offset) else {
            return Ok(0);
        };
        let pos = offset - seg.start;
        let n = buf.len().min((self.segment_size - pos) as usize);
        seg.read_at(pos, &mut buf[..n])
    }

    /// Writes `buf` at logical `offset`, splitting it at segment boundaries.
    pub fn write_at(&self, offset: u64, mut buf: &[u8]) -> Result<()> {
        let mut offset = offset;
        while !buf.is_empty() {
            let seg = self.get_or_create(offset)?;
            let pos = offset - seg.start;
            let n = buf.len().min((self.segment_size - pos) as usize);
            seg.write_at(pos, &buf[..n])?;
            buf = &buf[n..];
            offset += n as u64;
        }
        Ok(())
    }

    /// fdatasyncs every segment overlapping `[from, to)`.
    pub fn sync_range(&self, from: u64, to: u64) -> Result<()> {
        if from >= to {
            return Ok(());
        }
        for seg in self.segments() {
            if seg.start < to && seg.start + self.segment_size > from {
                seg.sync()?;
            }
        }
        Ok(())
    }

    /// Drops everything at and after logical `offset`: cuts its segment, deletes later ones.
    pub fn truncate(&self, offset: u64) -> Result<()> {
        let mut segs = self.segments.write();
        let mut removed = false;
        while let Some(last) = segs.last() {
            if last.start >= offset && !(last.start == offset && segs.len() == 1) {
                fs::remove_file(&last.path).at(&last.path)?;
                segs.pop();
                removed = true;
            } else {
                if last.len()? > offset - last.start {
                    last.truncate(offset - last.start)?;
                }
                break;
            }
        }
        if removed {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Deletes the oldest segments while `pred(segment)` holds, never the last one.
    ///
    /// Answers how many files were deleted.
    pub fn remove_front_while(
        &self,
        mut pred: impl FnMut(&Segment) -> Result<bool>,
    ) -> Result<usize> {
        let mut segs = self.segments.write();
        let mut n = 0;
        while segs.len() > 1 && pred(&segs[0])? {
            let seg = segs.remove(0);
            fs::remove_file(&seg.path).at(&seg.path)?;
            n += 1;
        }
        drop(segs);
        if n > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(n)
    }
}
