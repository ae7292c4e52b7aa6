//! The compact binary header form (serialize type 1, `RocketMQSerializable`).
//!
//! ```text
//! offset  size  field
//! 0       2     code       i16
//! 2       1     language   u8 (LanguageCode byte)
//! 3       2     version    i16
//! 5       4     opaque     i32
//! 9       4     flag       i32
//! 13      4     remarkLen  i32 (0 = no remark)
//! 17      r     remark     UTF-8
//! 17+r    4     extLen     i32 = byte count of the map section (0 = no extFields)
//! 21+r    e     entries:   keyLen i16, key, valLen i32, value — until extLen bytes are consumed
//! ```
//!
//! An empty remark decodes as no remark (as in Java). An empty ext value is kept as `""`
//! (Java would store null; keeping the key loses nothing).

use bytes::{BufMut, Bytes, BytesMut};

use super::code::LanguageCode;
use super::error::{ProtocolError, Result};
use super::frame::{ExtFields, RemotingCommand, SerializeType};

/// Appends `command`'s header in the compact form to `dst`.
pub(crate) fn encode(command: &RemotingCommand, dst: &mut BytesMut) -> Result<()> {
    let code = narrow_i16("code", command.code)?;
    let version = narrow_i16("version", command.version)?;
    dst.put_i16(code);
    dst.put_u8(command.language.code());
    dst.put_i16(version);
    dst.put_i32(command.opaque);
    dst.put_i32(command.flag);
    match command.remark.as_deref() {
        Some(remark) if !remark.is_empty() => {
            dst.put_i32(len_i32("remark", remark.len())?);
            dst.put_slice(remark.as_bytes());
        }
        _ => dst.put_i32(0),
    }
    let mut ext_len: usize = 0;
    for (k, v) in &command.ext_fields {
        ext_len = ext_len
            .checked_add(2 + k.len())
            .and_then(|n| n.checked_add(4 + v.len()))
            .ok_or(ProtocolError::ValueOutOfRange {
                field: "extFields length",
                value: i64::MAX,
            })?;
    }
    dst.put_i32(len_i32("extFields length", ext_len)?);
    for (k, v) in &command.ext_fields {
        let key_len = i16::try_from(k.len()).map_err(|_| ProtocolError::ValueOutOfRange {
            field: "extFields key length",
            value: k.len() as i64,
        })?;
        dst.put_i16(key_len);
        dst.put_slice(k.as_bytes());
        dst.put_i32(len_i32("extFields value length", v.len())?);
        dst.put_slice(v.as_bytes());
    }
    Ok(())
}

fn narrow_i16(field: &'static str, value: i32) -> Result<i16> {
    i16::try_from(value).map_err(|_| ProtocolError::ValueOutOfRange {
        field,
        value: i64::from(value),
    })
}

fn len_i32(field: &'static str, len: usize) -> Result<i32> {
    i32::try_from(len).map_err(|_| ProtocolError::ValueOutOfRange {
        field,
        value: len as i64,
    })
}

/// A bounds-checked cursor over the header bytes.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if n > self.buf.len() {
            return Err(ProtocolError::CompactHeader(what));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn i16(&mut self, what: &'static str) -> Result<i16> {
        self.array(what).map(i16::from_be_bytes)
    }

    fn i32(&mut self, what: &'static str) -> Result<i32> {
        self.array(what).map(i32::from_be_bytes)
    }

    /// A length field followed by that many bytes, as UTF-8.
    fn string(&mut self, len: i64, what: &'static str) -> Result<String> {
        let len = usize::try_from(len).map_err(|_| ProtocolError::CompactHeader(what))?;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| ProtocolError::InvalidUtf8(what))
    }
}

/// Parses a compact header into a command with an empty body.
pub(crate) fn decode(header: &[u8]) -> Result<RemotingCommand> {
    let mut r = Reader { buf: header };
    let code = r.i16("code")?;
    let [language] = r.array::<1>("language")?;
    let version = r.i16("version")?;
    let opaque = r.i32("opaque")?;
    let flag = r.i32("flag")?;
    let remark_len = r.i32("remark length")?;
    let remark = r.string(i64::from(remark_len), "remark")?;
    let ext_len = r.i32("extFields length")?;
    let ext_len =
        usize::try_from(ext_len).map_err(|_| ProtocolError::CompactHeader("extFields length"))?;
    let mut map = Reader {
        buf: r.take(ext_len, "extFields")?,
    };
    let mut ext_fields = ExtFields::with_capacity(16);
    while !map.buf.is_empty() {
        let key_len = map.i16("extFields key length")?;
        let key = map.string(i64::from(key_len), "extFields key")?;
        let val_len = map.i32("extFields value length")?;
        let value = map.string(i64::from(val_len), "extFields value")?;
        ext_fields.push(key, value);
    }
    Ok(RemotingCommand {
        code: i32::from(code),
        language: LanguageCode::from_code(language).unwrap_or(LanguageCode::Other),
        version: i32::from(version),
        opaque,
        flag,
        remark: (!remark.is_empty()).then_some(remark),
        ext_fields,
        serialize_type: SerializeType::RocketMq,
        body: Bytes::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_rocketmq_serializable() {
        let cmd = RemotingCommand::request(105)
            .with_opaque(7)
            .with_remark("hi")
            .with_ext("k", "vv");
        let mut buf = BytesMut::new();
        assert!(encode(&cmd, &mut buf).is_ok());
        let expected: &[u8] = &[
            0, 105, 12, 0x01, 0x99, 0, 0, 0, 7, 0, 0, 0, 0, // code, RUST, 409, opaque, flag
            0, 0, 0, 2, b'h', b'i', // remark
            0, 0, 0, 9, 0, 1, b'k', 0, 0, 0, 2, b'v', b'v', // ext map
        ];
        assert_eq!(&buf[..], expected);
        assert_eq!(decode(&buf).ok(), Some(cmd.with_body(Bytes::new())));
    }

    #[test]
    fn rejects_lengths_beyond_the_header() {
        let mut buf = BytesMut::new();
        let cmd = RemotingCommand::request(10).with_ext("key", "value");
        assert!(encode(&cmd, &mut buf).is_ok());
        for cut in 0..buf.len() {
            assert!(decode(&buf[..cut]).is_err(), "cut at {cut}");
        }
        let mut negative = buf.clone();
        negative[13..17].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(decode(&negative).is_err());
    }

    #[test]
    fn code_beyond_i16_is_refused_on_encode() {
        let cmd = RemotingCommand::request(40_000);
        assert!(encode(&cmd, &mut BytesMut::new()).is_err());
    }
}
