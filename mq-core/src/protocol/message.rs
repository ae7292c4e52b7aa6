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

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, Bytes};

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

/// Separator between a property's name and value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Separator between two properties.
pub const PROPERTY_SEPARATOR: char = '\u{2}';
/// Property: the message's keys, separated by [`KEY_SEPARATOR`].
pub const PROPERTY_KEYS: &str = "KEYS";
/// Property: the message's tag.
pub const PROPERTY_TAGS: &str = "TAGS";
/// Property: the producer-made unique id (the client's "msgId").
pub const PROPERTY_UNIQ_KEY: &str = "UNIQ_KEY";
/// Property: the delay level (1-based).
pub const PROPERTY_DELAY_TIME_LEVEL: &str = "DELAY";
/// Property: whether the producer waits for the store (absent = true).
pub const PROPERTY_WAIT_STORE_MSG_OK: &str = "WAIT";
/// Property: the original topic of a delayed or transactional message.
pub const PROPERTY_REAL_TOPIC: &str = "REAL_TOPIC";
/// Property: the original queue id of a delayed or transactional message.
pub const PROPERTY_REAL_QUEUE_ID: &str = "REAL_QID";
/// Property: the original topic of a retried message.
pub const PROPERTY_RETRY_TOPIC: &str = "RETRY_TOPIC";
/// Separator of the keys inside [`PROPERTY_KEYS`].
pub const KEY_SEPARATOR: char = ' ';

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

/// A message's properties, name to value (sorted, so encoding is deterministic).
pub type Properties = BTreeMap<String, String>;

/// Iterates `(name, value)` of a properties string, skipping malformed and empty entries as Java does.
pub fn properties_iter(properties: &str) -> impl Iterator<Item = (&str, &str)> {
    properties.split(PROPERTY_SEPARATOR).filter_map(|item| {
        let (name, value) = item.split_once(NAME_VALUE_SEPARATOR)?;
        (!name.is_empty() && !value.is_empty()).then_some((name, value))
    })
}

/// The value of one property in a properties string, without building a map.
pub fn property<'a>(properties: &'a str, name: &str) -> Option<&'a str> {
    properties_iter(properties).find_map(|(n, v)| (n == name).then_some(v))
}

/// Parses a properties string into a map (later duplicates win, as in Java's HashMap).
pub fn parse_properties(properties: &str) -> Properties {
    properties_iter(properties)
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

/// Encodes properties as `name \u{1} value \u{2} ...` without a trailing separator.
pub fn properties_to_string(properties: &Properties) -> String {
    encode_properties(properties.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Encodes (name, value) pairs, in the order given, into one string sized up front.
pub fn encode_properties<'a, I>(pairs: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
    I::IntoIter: Clone,
{
    let pairs = pairs.into_iter();
    let len = pairs.clone().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(len);
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push(PROPERTY_SEPARATOR);
        }
        out.push_str(name);
        out.push(NAME_VALUE_SEPARATOR);
        out.push_str(value);
    }
    out
}

/// A stored message borrowed from a buffer: every field of the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessageRef<'a> {
    /// QUEUEID.
    pub queue_id: i32,
    /// FLAG: the producer's user flag.
    pub flag: i32,
    /// QUEUEOFFSET: the message's offset in its ConsumeQueue.
    pub queue_offset: i64,
    /// PHYSICALOFFSET: the record's offset in the CommitLog.
    pub commit_log_offset: i64,
    /// SYSFLAG; the host v6 bits are derived from the addresses when encoding.
    pub sys_flag: i32,
    /// BORNTIMESTAMP, ms since the epoch.
    pub born_timestamp: i64,
    /// BORNHOST: the producer's address.
    pub born_host: SocketAddr,
    /// STORETIMESTAMP, ms since the epoch.
    pub store_timestamp: i64,
    /// STOREHOST: the broker's address.
    pub store_host: SocketAddr,
    /// RECONSUMETIMES.
    pub reconsume_times: i32,
    /// PREPARED TX OFFSET.
    pub prepared_transaction_offset: i64,
    /// BODYCRC as stored (ignored when encoding: it is computed from the body).
    pub body_crc: i32,
    /// BODY as stored (compressed if sysFlag says so).
    pub body: &'a [u8],
    /// TOPIC.
    pub topic: &'a str,
    /// PROPERTIES, the raw string.
    pub properties: &'a str,
}

/// RocketMQ's BODYCRC: CRC32 (IEEE) of the body with the sign bit cleared.
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

fn host_len(v6: bool) -> usize {
    if v6 { 20 } else { 8 }
}

/// Byte position of STORETIMESTAMP in a record with this sysFlag.
pub fn store_timestamp_pos(sys_flag: i32) -> usize {
    BORN_HOST_POS + host_len(sys_flag & FLAG_BORNHOST_V6 != 0)
}

/// TOTALSIZE of a record with these field lengths and host kinds.
pub fn record_len(
    body_len: usize,
    topic_len: usize,
    properties_len: usize,
    sys_flag: i32,
) -> usize {
    let hosts =
        host_len(sys_flag & FLAG_BORNHOST_V6 != 0) + host_len(sys_flag & FLAG_STOREHOST_V6 != 0);
    // 68 fixed bytes besides the hosts, then BODYLEN, TOPICLEN and PROPLEN.
    68 + hosts + 4 + body_len + 1 + topic_len + 2 + properties_len
}

fn put_host(out: &mut Vec<u8>, host: SocketAddr) {
    match host.ip() {
        IpAddr::V4(ip) => out.put_slice(&ip.octets()),
        IpAddr::V6(ip) => out.put_slice(&ip.octets()),
    }
    out.put_i32(i32::from(host.port()));
}

impl StoredMessageRef<'_> {
    /// The sysFlag as encoded: the caller's flags with the v6 bits set from the hosts.
    pub fn effective_sys_flag(&self) -> i32 {
        let mut flag = self.sys_flag & !(FLAG_BORNHOST_V6 | FLAG_STOREHOST_V6);
        if self.born_host.is_ipv6() {
            flag |= FLAG_BORNHOST_V6;
        }
        if self.store_host.is_ipv6() {
            flag |= FLAG_STOREHOST_V6;
        }
        flag
    }

    /// TOTALSIZE of this message once encoded.
    pub fn encoded_len(&self) -> usize {
        record_len(
            self.body.len(),
            self.topic.len(),
            self.properties.len(),
            self.effective_sys_flag(),
        )
    }

    /// Appends the record to `out`; BODYCRC is computed from the body.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        check_len("topic", self.topic.len(), MAX_TOPIC_LEN)?;
        check_len("properties", self.properties.len(), MAX_PROPERTIES_LEN)?;
        let total = self.encoded_len();
        check_len("message", total, i32::MAX as usize)?;
        out.reserve(total);
        out.put_i32(total as i32);
        out.put_i32(MESSAGE_MAGIC);
        out.put_i32(body_crc(self.body));
        out.put_i32(self.queue_id);
        out.put_i32(self.flag);
        out.put_i64(self.queue_offset);
        out.put_i64(self.commit_log_offset);
        out.put_i32(self.effective_sys_flag());
        out.put_i64(self.born_timestamp);
        put_host(out, self.born_host);
        out.put_i64(self.store_timestamp);
        put_host(out, self.store_host);
        out.put_i32(self.reconsume_times);
        out.put_i64(self.prepared_transaction_offset);
        out.put_i32(self.body.len() as i32);
        out.put_slice(self.body);
        out.put_u8(self.topic.len() as u8);
        out.put_slice(self.topic.as_bytes());
        out.put_i16(self.properties.len() as i16);
        out.put_slice(self.properties.as_bytes());
        Ok(())
    }

    /// Whether BODYCRC matches the body.
    pub fn body_crc_ok(&self) -> bool {
        self.body_crc == body_crc(self.body)
    }

    /// The `TAGS` property.
    pub fn tags(&self) -> Option<&str> {
        property(self.properties, PROPERTY_TAGS)
    }

    /// Parses one record at the start of `buf`; `Ok(None)` if `buf` holds less than TOTALSIZE.
    ///
    /// Returns the message and its TOTALSIZE. A blank record is an error here
    /// ([`CodecError::BadMagic`]); the store handles blanks before calling this.
    pub fn decode(buf: &[u8]) -> Result<Option<(StoredMessageRef<'_>, usize)>, CodecError> {
        let mut r = Reader { buf, pos: 0 };
        let Some(total) = r.i32() else {
            return Ok(None);
        };
        let total = usize::try_from(total).map_err(|_| CodecError::BadLength("TOTALSIZE < 0"))?;
        if total < record_len(0, 0, 0, 0) {
            return Err(CodecError::BadLength("TOTALSIZE below the minimum"));
        }
        let Some(magic) = r.i32() else {
            return Ok(None);
        };
        if magic != MESSAGE_MAGIC {
            return Err(CodecError::BadMagic(magic));
        }
        if buf.len() < total {
            return Ok(None);
        }
        let mut r = Reader {
            buf: &buf[..total],
            pos: 8,
        };
        let short = CodecError::BadLength("fields run past TOTALSIZE");
        let body_crc = r.i32().ok_or_else(|| short.clone())?;
        let queue_id = r.i32().ok_or_else(|| short.clone())?;
        let flag = r.i32().ok_or_else(|| short.clone())?;
        let queue_offset = r.i64().ok_or_else(|| short.clone())?;
        let commit_log_offset = r.i64().ok_or_else(|| short.clone())?;
        let sys_flag = r.i32().ok_or_else(|| short.clone())?;
        let born_timestamp = r.i64().ok_or_else(|| short.clone())?;
        let born_host = r
            .host(sys_flag & FLAG_BORNHOST_V6 != 0)
            .ok_or_else(|| short.clone())?;
        let store_timestamp = r.i64().ok_or_else(|| short.clone())?;
        let store_host = r
            .host(sys_flag & FLAG_STOREHOST_V6 != 0)
            .ok_or_else(|| short.clone())?;
        let reconsume_times = r.i32().ok_or_else(|| short.clone())?;
        let prepared_transaction_offset = r.i64().ok_or_else(|| short.clone())?;
        let body_len = r.i32().ok_or_else(|| short.clone())?;
        let body_len =
            usize::try_from(body_len).map_err(|_| CodecError::BadLength("BODYLEN < 0"))?;
        let body = r.bytes(body_len).ok_or_else(|| short.clone())?;
        let topic_len = usize::from(r.u8().ok_or_else(|| short.clone())?);
        let topic = r.bytes(topic_len).ok_or_else(|| short.clone())?;
        let prop_len = r.i16().ok_or_else(|| short.clone())?;
        let prop_len =
            usize::try_from(prop_len).map_err(|_| CodecError::BadLength("PROPLEN < 0"))?;
        let properties = r.bytes(prop_len).ok_or_else(|| short.clone())?;
        if r.pos != total {
            return Err(CodecError::BadLength("fields end before TOTALSIZE"));
        }
        let msg = StoredMessageRef {
            queue_id,
            flag,
            queue_offset,
            commit_log_offset,
            sys_flag,
            born_timestamp,
            born_host,
            store_timestamp,
            store_host,
            reconsume_times,
            prepared_transaction_offset,
            body_crc,
            body,
            topic: std::str::from_utf8(topic).map_err(|_| CodecError::NotUtf8("topic"))?,
            properties: std::str::from_utf8(properties)
                .map_err(|_| CodecError::NotUtf8("properties"))?,
        };
        Ok(Some((msg, total)))
    }

    /// Copies the message into an owned [`StoredMessage`].
    pub fn to_owned_message(&self) -> StoredMessage {
        StoredMessage {
            queue_id: self.queue_id,
            flag: self.flag,
            queue_offset: self.queue_offset,
            commit_log_offset: self.commit_log_offset,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            store_timestamp: self.store_timestamp,
            store_host: self.store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body_crc: self.body_crc,
            body: Bytes::copy_from_slice(self.body),
            topic: self.topic.to_owned(),
            properties: self.properties.to_owned(),
        }
    }
}

/// An owned stored message (RocketMQ's `MessageExt`), as a pull or query answer carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// QUEUEID.
    pub queue_id: i32,
    /// FLAG.
    pub flag: i32,
    /// QUEUEOFFSET.
    pub queue_offset: i64,
    /// PHYSICALOFFSET.
    pub commit_log_offset: i64,
    /// SYSFLAG.
    pub sys_flag: i32,
    /// BORNTIMESTAMP.
    pub born_timestamp: i64,
    /// BORNHOST.
    pub born_host: SocketAddr,
    /// STORETIMESTAMP.
    pub store_timestamp: i64,
    /// STOREHOST.
    pub store_host: SocketAddr,
    /// RECONSUMETIMES.
    pub reconsume_times: i32,
    /// PREPARED TX OFFSET.
    pub prepared_transaction_offset: i64,
    /// BODYCRC as stored.
    pub body_crc: i32,
    /// BODY.
    pub body: Bytes,
    /// TOPIC.
    pub topic: String,
    /// PROPERTIES, the raw string.
    pub properties: String,
}

impl StoredMessage {
    /// Borrows the message as a [`StoredMessageRef`] (to encode it).
    pub fn as_ref(&self) -> StoredMessageRef<'_> {
        StoredMessageRef {
            queue_id: self.queue_id,
            flag: self.flag,
            queue_offset: self.queue_offset,
            commit_log_offset: self.commit_log_offset,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            store_timestamp: self.store_timestamp,
            store_host: self.store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body_crc: self.body_crc,
            body: &self.body,
            topic: &self.topic,
            properties: &self.properties,
        }
    }

    /// The value of one property.
    pub fn property(&self, name: &str) -> Option<&str> {
        property(&self.properties, name)
    }
}

/// Decodes back-to-back records (a pull or query response body) until the buffer is used up.
pub fn decode_messages(buf: &[u8]) -> Result<Vec<StoredMessage>, CodecError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        match StoredMessageRef::decode(&buf[pos..])? {
            Some((msg, len)) => {
                out.push(msg.to_owned_message());
                pos += len;
            }
            None => {
                return Err(CodecError::BadLength(
                    "truncated record at the end of the body",
                ));
            }
        }
    }
    Ok(out)
}

/// One message of a producer's batch body (`MessageDecoder.encodeMessages`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    /// FLAG.
    pub flag: i32,
    /// BODY.
    pub body: Bytes,
    /// PROPERTIES, the raw string.
    pub properties: String,
}

/// Size of a batch item's fixed fields: TOTALSIZE, MAGIC, BODYCRC, FLAG, BODYLEN, PROPLEN.
const BATCH_ITEM_FIXED: usize = 22;

/// Encodes a batch body: per message TOTALSIZE ‖ MAGIC 0 ‖ BODYCRC 0 ‖ FLAG ‖ BODYLEN ‖ BODY ‖ PROPLEN i16 ‖ PROPERTIES.
pub fn encode_batch(items: &[BatchItem], out: &mut Vec<u8>) -> Result<(), CodecError> {
    // Sized once: the gate's batches of a few hundred orders reallocated as they grew.
    out.reserve(
        items
            .iter()
            .map(|i| BATCH_ITEM_FIXED + i.body.len() + i.properties.len())
            .fold(0usize, usize::saturating_add),
    );
    for item in items {
        check_len("properties", item.properties.len(), MAX_PROPERTIES_LEN)?;
        let total = BATCH_ITEM_FIXED + item.body.len() + item.properties.len();
        check_len("batch message", total, i32::MAX as usize)?;
        out.put_i32(total as i32);
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(item.flag);
        out.put_i32(item.body.len() as i32);
        out.put_slice(&item.body);
        out.put_i16(item.properties.len() as i16);
        out.put_slice(item.properties.as_bytes());
    }
    Ok(())
}

/// Splits a batch body into its messages; bodies are zero-copy slices of `body`.
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchItem>, CodecError> {
    let mut items = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let mut r = Reader {
            buf: &body[pos..],
            pos: 0,
        };
        let short = CodecError::BadLength("batch message runs past the body");
        let total = r.i32().ok_or_else(|| short.clone())?;
        let total =
            usize::try_from(total).map_err(|_| CodecError::BadLength("batch TOTALSIZE < 0"))?;
        if total < BATCH_ITEM_FIXED || body.len() - pos < total {
            return Err(CodecError::BadLength("batch TOTALSIZE out of range"));
        }
        let mut r = Reader {
            buf: &body[pos..pos + total],
            pos: 12,
        };
        let flag = r.i32().ok_or_else(|| short.clone())?;
        let body_len = r.i32().ok_or_else(|| short.clone())?;
        let body_len =
            usize::try_from(body_len).map_err(|_| CodecError::BadLength("batch BODYLEN < 0"))?;
        let body_start = pos + r.pos;
        r.bytes(body_len).ok_or_else(|| short.clone())?;
        let prop_len = r.i16().ok_or_else(|| short.clone())?;
        let prop_len =
            usize::try_from(prop_len).map_err(|_| CodecError::BadLength("batch PROPLEN < 0"))?;
        let props = r.bytes(prop_len).ok_or_else(|| short.clone())?;
        if r.pos != total {
            return Err(CodecError::BadLength("batch fields end before TOTALSIZE"));
        }
        items.push(BatchItem {
            flag,
            body: body.slice(body_start..body_start + body_len),
            properties: std::str::from_utf8(props)
                .map_err(|_| CodecError::NotUtf8("batch properties"))?
                .to_owned(),
        });
        pos += total;
    }
    Ok(items)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(body: &'a [u8], topic: &'a str, props: &'a str) -> StoredMessageRef<'a> {
        StoredMessageRef {
            queue_id: 3,
            flag: 7,
            queue_offset: 42,
            commit_log_offset: 4096,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: SocketAddr::from(([10, 0, 0, 1], 5555)),
            store_timestamp: 1_700_000_000_001,
            store_host: SocketAddr::from(([127, 0, 0, 1], 10911)),
            reconsume_times: 1,
            prepared_transaction_offset: 0,
            body_crc: body_crc(body),
            body,
            topic,
            properties: props,
        }
    }

    #[test]
    fn ipv4_record_has_rocketmq_size_and_positions() {
        let msg = sample(b"hello", "TopicTest", "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2");
        let mut out = Vec::new();
        msg.encode(&mut out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.len(), 91 + 5 + 9 + msg.properties.len());
        assert_eq!(out[4..8], MESSAGE_MAGIC.to_be_bytes());
        assert_eq!(
            out[QUEUE_OFFSET_POS..QUEUE_OFFSET_POS + 8],
            42i64.to_be_bytes()
        );
        assert_eq!(
            out[PHYSICAL_OFFSET_POS..PHYSICAL_OFFSET_POS + 8],
            4096i64.to_be_bytes()
        );
        let (back, len) = StoredMessageRef::decode(&out)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("complete"));
        assert_eq!(len, out.len());
        assert_eq!(back, msg);
        assert!(back.body_crc_ok());
        assert_eq!(back.tags(), Some("TagA"));
        assert_eq!(StoredMessageRef::decode(&out[..out.len() - 1]), Ok(None));
    }

    #[test]
    fn ipv6_hosts_set_flags() {
        let mut msg = sample(b"", "T", "");
        msg.born_host = "[::1]:1".parse().unwrap_or_else(|_| unreachable!());
        let mut out = Vec::new();
        msg.encode(&mut out).unwrap_or_else(|e| panic!("{e}"));
        let (back, _) = StoredMessageRef::decode(&out)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("complete"));
        assert_eq!(back.sys_flag, FLAG_BORNHOST_V6);
        assert_eq!(back.born_host, msg.born_host);
        assert_eq!(store_timestamp_pos(back.sys_flag), 68);
    }

    #[test]
    fn corrupt_lengths_are_errors_not_panics() {
        let msg = sample(b"abc", "T", "A\u{1}B");
        let mut out = Vec::new();
        msg.encode(&mut out).unwrap_or_else(|e| panic!("{e}"));
        let mut bad = out.clone();
        bad[4] ^= 1;
        assert!(matches!(
            StoredMessageRef::decode(&bad),
            Err(CodecError::BadMagic(_))
        ));
        let mut bad = out.clone();
        let body_len_pos = 84;
        bad[body_len_pos..body_len_pos + 4].copy_from_slice(&1000i32.to_be_bytes());
        assert!(StoredMessageRef::decode(&bad).is_err());
        assert!(StoredMessageRef::decode(&(-5i32).to_be_bytes()).is_err());
    }

    #[test]
    fn properties_codec_follows_java_rules() {
        let raw = "KEYS\u{1}a b\u{2}x\u{2}\u{1}v\u{2}E\u{1}\u{2}TAGS\u{1}T";
        let map = parse_properties(raw);
        assert_eq!(map.len(), 2);
        assert_eq!(property(raw, PROPERTY_TAGS), Some("T"));
        assert_eq!(properties_to_string(&map), "KEYS\u{1}a b\u{2}TAGS\u{1}T");
    }

    #[test]
    fn batch_round_trip() {
        let items = vec![
            BatchItem {
                flag: 1,
                body: Bytes::from_static(b"one"),
                properties: "K\u{1}V".into(),
            },
            BatchItem {
                flag: 0,
                body: Bytes::new(),
                properties: String::new(),
            },
        ];
        let mut out = Vec::new();
        encode_batch(&items, &mut out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.len(), 22 * 2 + 3 + 3);
        assert_eq!(decode_batch(&Bytes::from(out.clone())), Ok(items));
        out.pop();
        assert!(decode_batch(&Bytes::from(out)).is_err());
    }
}
