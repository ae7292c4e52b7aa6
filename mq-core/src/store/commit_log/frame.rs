//! The store's framing around RocketMQ records: the 8-byte trailer and the blank end-of-segment record.
//!
//! On disk each message is RocketMQ's record (`protocol::message`, TOTALSIZE bytes) followed by
//! a trailer that is ours and never leaves the broker:
//!
//! ```text
//! RECORD (TOTALSIZE bytes) ‖ BATCH_FOLLOW u32 BE ‖ CRC32C u32 BE
//! ```
//!
//! * CRC32C covers the record and BATCH_FOLLOW, so a torn or flipped byte anywhere is caught
//!   (RocketMQ's own BODYCRC only covers the body).
//! * BATCH_FOLLOW counts the records after this one that belong to the same batch (0 for a
//!   single message or a batch's last record). Recovery keeps a batch only if all of it is
//!   intact, which makes a batch atomic across a crash.
//!
//! A ConsumeQueue entry's size is TOTALSIZE, without the trailer, so a pull copies exactly the
//! RocketMQ bytes. The next record starts at `offset + TOTALSIZE + TRAILER_LEN`.
//! A segment's unusable end holds a blank record: TOTALSIZE = bytes left in the segment,
//! MAGICCODE = [`BLANK_MAGIC`]; only those 8 bytes are written.

use crate::protocol::message::BLANK_MAGIC;

/// Bytes of the trailer after each record.
pub(crate) const TRAILER_LEN: u64 = 8;
/// Bytes of a blank record that are actually written.
pub(crate) const BLANK_LEN: u64 = 8;

/// The trailer of `record` (its bytes without trailer) with `batch_follow` later batch members.
pub(crate) fn trailer(record: &[u8], batch_follow: u32) -> [u8; 8] {
    let follow = batch_follow.to_be_bytes();
    let crc = crc32c::crc32c_append(crc32c::crc32c(record), &follow);
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&follow);
    out[4..].copy_from_slice(&crc.to_be_bytes());
    out
}

/// Checks a trailer; answers BATCH_FOLLOW if the checksum matches.
pub(crate) fn check_trailer(record: &[u8], trailer_bytes: &[u8]) -> Option<u32> {
    let mut follow = [0u8; 4];
    follow.copy_from_slice(trailer_bytes.get(..4)?);
    let follow = u32::from_be_bytes(follow);
    (trailer(record, follow)[..] == trailer_bytes[..8]).then_some(follow)
}

/// The written bytes of a blank record filling `remaining` bytes.
pub(crate) fn blank(remaining: u64) -> [u8; 8] {
    let mut out = [0u8; 8];
    // A segment is at most i64::MAX, but a blank's TOTALSIZE is an i32 as in RocketMQ:
    // segments above 2 GiB store the low bits, and readers trust the segment end instead.
    out[..4].copy_from_slice(&(remaining as u32).to_be_bytes());
    out[4..].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_catches_any_flipped_bit() {
        let record = b"0123456789abcdef".to_vec();
        let t = trailer(&record, 2);
        assert_eq!(check_trailer(&record, &t), Some(2));
        for i in 0..record.len() {
            let mut bad = record.clone();
            bad[i] ^= 0x40;
            assert_eq!(check_trailer(&bad, &t), None);
        }
        let mut bad_t = t;
        bad_t[3] ^= 1;
        assert_eq!(check_trailer(&record, &bad_t), None);
    }
}
