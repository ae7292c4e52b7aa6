//! The checkpoint file: how far each structure is known to be on disk, so recovery rescans only
//! what lies after it.
//!
//! Layout (big-endian), written to `checkpoint.tmp`, fsynced, renamed over `checkpoint`, and the
//! directory fsynced, so a crash leaves either the old or the new one:
//!
//! ```text
//! MAGIC "MQCP" ‖ VERSION u32 ‖ COMMIT_LOG_FLUSHED u64 ‖ CQ_DISPATCHED u64 ‖ LAST_RECORD u64
//! ‖ QUEUE_COUNT u32 ‖ { TOPIC_LEN u8 ‖ TOPIC ‖ QUEUE_ID i32 ‖ MAX_OFFSET u64 } × QUEUE_COUNT ‖ CRC32C u32
//! ```
//!
//! `CQ_DISPATCHED`: every record below it has its ConsumeQueue entry in a fsynced file.
//! `LAST_RECORD` (u64::MAX = none): the last record's offset, re-verified on a clean start.
//! The queue table lets recovery notice a ConsumeQueue whose files went missing.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::error::{IoContext, Result};
use super::segment::sync_dir;

const MAGIC: &[u8; 4] = b"MQCP";
const VERSION: u32 = 1;

/// What the checkpoint records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    /// CommitLog bytes below this were fsynced.
    pub commit_log_flushed: u64,
    /// CommitLog records below this have fsynced ConsumeQueue entries.
    pub cq_dispatched: u64,
    /// Offset of the last record when the checkpoint was taken.
    pub last_record: Option<u64>,
    /// (topic, queue id, max offset) of every queue at that moment.
    pub queues: Vec<(String, i32, u64)>,
}

impl Checkpoint {
    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(40 + self.queues.len() * 32);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&VERSION.to_be_bytes());
        b.extend_from_slice(&self.commit_log_flushed.to_be_bytes());
        b.extend_from_slice(&self.cq_dispatched.to_be_bytes());
        b.extend_from_slice(&self.last_record.unwrap_or(u64::MAX).to_be_bytes());
        b.extend_from_slice(&(self.queues.len() as u32).to_be_bytes());
        for (topic, qid, max) in &self.queues {
            // Topics are validated to at most 127 bytes before they reach the store.
            b.push(topic.len().min(255) as u8);
            b.extend_from_slice(&topic.as_bytes()[..topic.len().min(255)]);
            b.extend_from_slice(&qid.to_be_bytes());
            b.extend_from_slice(&max.to_be_bytes());
        }
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_be_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let (body, crc) = b.split_at(b.len().checked_sub(4)?);
        if crc32c::crc32c(body).to_be_bytes() != crc || body.get(..4)? != MAGIC {
            return None;
        }
        let mut pos = 4;
        let mut take = |n: usize| {
            let s = body.get(pos..pos + n);
            pos += n;
            s
        };
        let u32_at = |s: &[u8]| u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
        let u64_at = |s: &[u8]| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_be_bytes(a)
        };
        if u32_at(take(4)?) != VERSION {
            return None;
        }
        let commit_log_flushed = u64_at(take(8)?);
        let cq_dispatched = u64_at(take(8)?);
        let last = u64_at(take(8)?);
        let count = u32_at(take(4)?);
        let mut queues = Vec::with_capacity(count.min(1 << 20) as usize);
        for _ in 0..count {
            let len = usize::from(take(1)?[0]);
            let topic = std::str::from_utf8(take(len)?).ok()?.to_owned();
            let qid = u32_at(take(4)?) as i32;
            let max = u64_at(take(8)?);
            queues.push((topic, qid, max));
        }
        Some(Self {
            commit_log_flushed,
            cq_dispatched,
            last_record: (last != u64::MAX).then_some(last),
            queues,
        })
    }

    /// Reads `dir/checkpoint`; `None` if absent or damaged (recovery then scans everything).
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join("checkpoint");
        match fs::read(&path) {
            Ok(b) => {
                let cp = Self::decode(&b);
                if cp.is_none() {
                    tracing::warn!(path = %path.display(), "checkpoint is damaged; recovering from the first segment");
                }
                Ok(cp)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).at(&path),
        }
    }

    /// Replaces `dir/checkpoint` atomically and durably.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let tmp = dir.join("checkpoint.tmp");
        let mut f = fs::File::create(&tmp).at(&tmp)?;
        f.write_all(&self.encode()).at(&tmp)?;
        f.sync_all().at(&tmp)?;
        let path = dir.join("checkpoint");
        fs::rename(&tmp, &path).at(&path)?;
        sync_dir(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let cp = Checkpoint {
            commit_log_flushed: 10,
            cq_dispatched: 9,
            last_record: Some(3),
            queues: vec![("T".into(), 1, 7), ("%RETRY%g".into(), 0, 0)],
        };
        let b = cp.encode();
        assert_eq!(Checkpoint::decode(&b), Some(cp));
        for i in 0..b.len() {
            let mut bad = b.clone();
            bad[i] ^= 0x10;
            assert_eq!(Checkpoint::decode(&bad), None);
        }
        assert_eq!(Checkpoint::decode(&b[..b.len() - 1]), None);
    }
}
