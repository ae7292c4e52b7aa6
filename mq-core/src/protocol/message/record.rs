//! One CommitLog record as `StoredMessageRef` (borrowed) and `StoredMessage` (owned): encode, decode, sizes and positions.

use std::net::{IpAddr, SocketAddr};

use bytes::{BufMut, Bytes};

use super::{
    BORN_HOST_POS, CodecError, FLAG_BORNHOST_V6, FLAG_STOREHOST_V6, MAX_PROPERTIES_LEN,
    MAX_TOPIC_LEN, MESSAGE_MAGIC, PROPERTY_TAGS, Reader, check_len, property,
};

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
        let body = r.length_prefixed(Reader::i32, &short, "BODYLEN < 0")?;
        let topic_len = usize::from(r.u8().ok_or_else(|| short.clone())?);
        let topic = r.bytes(topic_len).ok_or_else(|| short.clone())?;
        let properties = r.length_prefixed(Reader::i16, &short, "PROPLEN < 0")?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::{PHYSICAL_OFFSET_POS, QUEUE_OFFSET_POS};

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
}
