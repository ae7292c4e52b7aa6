//! The stored-message layout of RocketMQ's `MessageDecoder`: one CommitLog record, also the pull wire format.
//!
//! One record, all integers big-endian (RocketMQ 4.x, `MessageDecoder`/`CommitLog`):
//!
//! ```text
//!  0 TOTALSIZE i32        4 MAGICCODE i32       8 BODYCRC i32       12 QUEUEID i32
//! 16 FLAG i32            20 QUEUEOFFSET i64    28 PHYSICALOFFSET i64 36 SYSFLAG i32
//! 40 BORNTIMESTAMP i64   48 BORNHOST 8|20      .. STORETIMESTAMP i64  .. STOREHOST 8|20
//! .. RECONSUMETIMES i32  .. PREPAREDTXOFFSET i64 .. BODYLEN i32 + BODY
//! .. TOPICLEN u8 + TOPIC .. PROPLEN i16 + PROPERTIES
//! ```
//!
//! A host is 4 address bytes + i32 port, or 16 + 4 when its sysFlag v6 bit is set. The
//! properties are the `name \u{1} value \u{2} ...` string of [`parse_properties`]. The batch
//! body a producer sends (`MessageDecoder.encodeMessages`) is decoded by [`decode_batch`].
//! Nothing here does I/O; decoders answer `Ok(None)` when the slice is still too short.
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | the layout constants, [`CodecError`], the shared bounds-checked reader |
//! | `record.rs` | [`StoredMessageRef`], [`StoredMessage`], [`decode_messages`], sizes and positions |
//! | `properties.rs` | the properties string: separators, `PROPERTY_*` names, parse and encode |
//! | `batch.rs` | [`BatchItem`], [`encode_batch`], [`decode_batch`] |

mod batch;
mod properties;
mod record;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub use batch::{BatchItem, decode_batch, encode_batch};
pub use properties::{
    KEY_SEPARATOR, NAME_VALUE_SEPARATOR, PROPERTY_DELAY_TIME_LEVEL, PROPERTY_KEYS,
    PROPERTY_REAL_QUEUE_ID, PROPERTY_REAL_TOPIC, PROPERTY_RETRY_TOPIC, PROPERTY_SEPARATOR,
    PROPERTY_TAGS, PROPERTY_UNIQ_KEY, PROPERTY_WAIT_STORE_MSG_OK, Properties, encode_properties,
    parse_properties, properties_iter, properties_to_string, property,
};
pub use record::{
    StoredMessage, StoredMessageRef, body_crc, decode_messages, record_len, store_timestamp_pos,
};

/// MAGICCODE of a message record (RocketMQ's `MESSAGE_MAGIC_CODE`, V1).
pub const MESSAGE_MAGIC: i32 = 0xDAA3_20A7_u32 as i32;
/// MAGICCODE of the blank record that fills the unusable end of a CommitLog segment.
pub const BLANK_MAGIC: i32 = 0xCBD4_3194_u32 as i32;
/// sysFlag bit: the body is compressed.
pub const FLAG_COMPRESSED: i32 = 0x1;
/// sysFlag bit: the born host is IPv6.
pub const FLAG_BORNHOST_V6: i32 = 0x10;
/// sysFlag bit: the store host is IPv6.
pub const FLAG_STOREHOST_V6: i32 = 0x20;
/// sysFlag mask of the transaction type (0 = not a transaction, 0x4 prepared, 0x8 commit, 0xC rollback).
pub const TRANSACTION_TYPE_MASK: i32 = 0xC;
/// Byte position of QUEUEOFFSET in a record.
pub const QUEUE_OFFSET_POS: usize = 20;
/// Byte position of PHYSICALOFFSET in a record.
pub const PHYSICAL_OFFSET_POS: usize = 28;
/// Byte position of SYSFLAG in a record.
pub const SYS_FLAG_POS: usize = 36;
/// Byte position of BORNHOST in a record.
pub const BORN_HOST_POS: usize = 48;
/// Longest topic the layout can carry (its length is one signed byte in Java).
pub const MAX_TOPIC_LEN: usize = 127;
/// Longest properties string the layout can carry (its length is an i16).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Why bytes are not a valid stored message or batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// MAGICCODE is neither a message nor (where allowed) a blank.
    #[error("bad magic code {0:#010x}")]
    BadMagic(i32),
    /// A length field is negative or disagrees with the record's TOTALSIZE.
    #[error("inconsistent length: {0}")]
    BadLength(&'static str),
    /// A field is too long for the layout.
    #[error("{field} is {len} bytes, the layout allows {max}")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The layout's maximum.
        max: usize,
    },
    /// The topic or properties are not UTF-8.
    #[error("{0} is not UTF-8")]
    NotUtf8(&'static str),
}

fn check_len(field: &'static str, len: usize, max: usize) -> Result<(), CodecError> {
    if len > max {
        return Err(CodecError::TooLong { field, len, max });
    }
    Ok(())
}

/// A bounds-checked big-endian cursor: every read answers `None` past the end.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }
    fn i16(&mut self) -> Option<i16> {
        self.array().map(i16::from_be_bytes)
    }
    fn i32(&mut self) -> Option<i32> {
        self.array().map(i32::from_be_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_be_bytes)
    }
    /// A field after its length, read by `length` (`Reader::i32` for BODYLEN, `Reader::i16` for
    /// PROPLEN): `short` if either runs past the end, `BadLength(negative)` for a length below
    /// zero.
    fn length_prefixed<L: Into<i64>>(
        &mut self,
        length: fn(&mut Self) -> Option<L>,
        short: &CodecError,
        negative: &'static str,
    ) -> Result<&'a [u8], CodecError> {
        let len: i64 = length(self).ok_or_else(|| short.clone())?.into();
        let len = usize::try_from(len).map_err(|_| CodecError::BadLength(negative))?;
        self.bytes(len).ok_or_else(|| short.clone())
    }
    fn host(&mut self, v6: bool) -> Option<SocketAddr> {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(self.array::<16>()?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.array::<4>()?))
        };
        // Java writes the port as an int; anything outside u16 is garbage we keep readable.
        let port = self.i32()?;
        Some(SocketAddr::new(ip, port as u16))
    }
}
