//! The remoting frame: [`RemotingCommand`], its builders, and the byte-level encode/decode.
//!
//! # Frame layout (all integers big-endian)
//!
//! ```text
//! offset  size       field
//! 0       4          length: i32 = 4 + headerLen + bodyLen (does not count itself)
//! 4       4          serializeType << 24 | headerLen   (type 0 = JSON, 1 = ROCKETMQ; headerLen 24 bits)
//! 8       headerLen  header: JSON object or compact binary (see header_json / header_compact)
//! 8+hl    rest       body: raw bytes, bodyLen = length - 4 - headerLen, may be empty
//! ```
//!
//! The whole frame, prefix included, may not exceed the maximum frame size (RocketMQ's
//! `NettyDecoder` default is 16 MiB = 16777216 bytes, applied to `length + 4`). The maximum is
//! checked from the length prefix alone, before any of the frame is buffered.

pub use super::ext_fields::ExtFields;
use std::sync::atomic::{AtomicI32, Ordering};

use bytes::{BufMut, Bytes, BytesMut};

use super::code::LanguageCode;
use super::error::{ProtocolError, Result};
use super::header::CommandHeader;
use super::{header_compact, header_json};

/// RocketMQ's default maximum frame size (`com.rocketmq.remoting.frameMaxLength`), prefix included.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 16 * 1024 * 1024;
/// Largest header length the 24-bit header-length field can carry.
pub const MAX_HEADER_LEN: usize = 0x00FF_FFFF;
/// `MQVersion.Version.V4_9_8.ordinal()`: the version mq-core announces. At ≥ 401 a Java name
/// server answers route queries in standard JSON.
pub const CURRENT_VERSION: i32 = 409;
/// Flag bit 0 (`RPC_TYPE`): the command is a response.
pub const FLAG_RESPONSE: i32 = 1;
/// Flag bit 1 (`RPC_ONEWAY`): the request expects no response.
pub const FLAG_ONEWAY: i32 = 2;

/// Size of the length prefix plus the header-length word.
const PREFIX_LEN: usize = 8;

/// How the header of a frame is serialized (the high byte of the header-length word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SerializeType {
    /// fastjson-style JSON object (byte 0); what Java sends by default.
    Json,
    /// RocketMQ's compact binary form (byte 1); what mq-core's client sends.
    #[default]
    RocketMq,
}

impl SerializeType {
    /// The byte written in the high byte of the header-length word.
    pub fn code(self) -> u8 {
        match self {
            Self::Json => 0,
            Self::RocketMq => 1,
        }
    }

    /// The serialize type of a header-length word's high byte.
    pub fn from_code(code: u8) -> Result<Self> {
        match code {
            0 => Ok(Self::Json),
            1 => Ok(Self::RocketMq),
            other => Err(ProtocolError::UnknownSerializeType(other)),
        }
    }

    /// The Java enum name (`"JSON"`, `"ROCKETMQ"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "JSON",
            Self::RocketMq => "ROCKETMQ",
        }
    }
}

/// One request or response of the remoting protocol.
///
/// Requests carry a request code, responses a response code; `opaque` pairs them on one
/// connection. Custom header fields travel as strings in `ext_fields`; typed views of them are
/// the [`CommandHeader`] implementations in [`super::header`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    /// Request code or response code.
    pub code: i32,
    /// Sender's language.
    pub language: LanguageCode,
    /// Sender's `MQVersion` ordinal.
    pub version: i32,
    /// Request id, echoed by the response.
    pub opaque: i32,
    /// Bit 0 = response, bit 1 = oneway.
    pub flag: i32,
    /// Free text, usually the error description of a failed response.
    pub remark: Option<String>,
    /// Custom header fields.
    pub ext_fields: ExtFields,
    /// Header serialization of this frame; responses use their request's.
    pub serialize_type: SerializeType,
    /// Frame body (message bytes or a JSON document), possibly empty.
    pub body: Bytes,
}

/// Source of request ids, like Java's `RemotingCommand.requestId`.
static NEXT_OPAQUE: AtomicI32 = AtomicI32::new(1);

impl RemotingCommand {
    /// A new request with a fresh opaque, language RUST, version [`CURRENT_VERSION`], compact header.
    pub fn request(code: i32) -> Self {
        Self {
            code,
            language: LanguageCode::Rust,
            version: CURRENT_VERSION,
            opaque: NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed),
            flag: 0,
            remark: None,
            ext_fields: ExtFields::default(),
            serialize_type: SerializeType::RocketMq,
            body: Bytes::new(),
        }
    }

    /// A new request whose ext fields are `header`'s.
    pub fn request_with_header(code: i32, header: &impl CommandHeader) -> Self {
        Self::request(code).with_header(header)
    }

    /// A response to `request`: same opaque and header serialization, response flag set.
    pub fn response_to(request: &RemotingCommand, code: i32) -> Self {
        Self {
            code,
            language: LanguageCode::Rust,
            version: CURRENT_VERSION,
            opaque: request.opaque,
            flag: FLAG_RESPONSE,
            remark: None,
            ext_fields: ExtFields::default(),
            serialize_type: request.serialize_type,
            body: Bytes::new(),
        }
    }

    /// Adds `header`'s fields to the ext fields (keys already set stay unless the header overwrites them).
    #[must_use]
    pub fn with_header(mut self, header: &impl CommandHeader) -> Self {
        let fields = header.to_ext_fields();
        // Usually the first fields set: take the header's map rather than re-inserting each.
        if self.ext_fields.is_empty() {
            self.ext_fields = fields;
        } else {
            self.ext_fields.extend(fields);
        }
        self
    }

    /// Sets one ext field.
    #[must_use]
    pub fn with_ext(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.ext_fields.insert(key.into(), value.into());
        self
    }

    /// Sets the remark.
    #[must_use]
    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the opaque (request id).
    #[must_use]
    pub fn with_opaque(mut self, opaque: i32) -> Self {
        self.opaque = opaque;
        self
    }

    /// Sets the header serialization.
    #[must_use]
    pub fn with_serialize_type(mut self, serialize_type: SerializeType) -> Self {
        self.serialize_type = serialize_type;
        self
    }

    /// Marks the request oneway: the peer sends no response.
    #[must_use]
    pub fn oneway(mut self) -> Self {
        self.flag |= FLAG_ONEWAY;
        self
    }

    /// Whether this is a response (flag bit 0).
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// Whether this is a oneway request (flag bit 1).
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// Reads the typed custom header `H` from the ext fields.
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H> {
        H::from_ext_fields(&self.ext_fields)
    }

    /// One ext field, if present.
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.get(key).map(String::as_str)
    }

    /// Appends this command as one frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        let start = dst.len();
        dst.reserve(PREFIX_LEN + 64 + self.body.len());
        dst.put_u64(0); // placeholder for length and header-length word
        let written = match self.serialize_type {
            SerializeType::Json => header_json::encode(self, dst),
            SerializeType::RocketMq => header_compact::encode(self, dst),
        };
        let header_len = dst.len() - start - PREFIX_LEN;
        let lengths = written.and_then(|()| frame_lengths(header_len, self.body.len()));
        let (length, header_word) = match lengths {
            Ok(lengths) => lengths,
            Err(e) => {
                dst.truncate(start);
                return Err(e);
            }
        };
        let word = (u32::from(self.serialize_type.code()) << 24) | header_word;
        dst[start..start + 4].copy_from_slice(&length.to_be_bytes());
        dst[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
        dst.extend_from_slice(&self.body);
        Ok(())
    }

    /// This command as one frame.
    pub fn to_bytes(&self) -> Result<Bytes> {
        let mut buf = BytesMut::new();
        self.encode(&mut buf)?;
        Ok(buf.freeze())
    }
}

/// The length prefix and the 24-bit header length for a header and body of these sizes.
fn frame_lengths(header_len: usize, body_len: usize) -> Result<(i32, u32)> {
    let header_word = u32::try_from(header_len)
        .ok()
        .filter(|&h| h as usize <= MAX_HEADER_LEN)
        .ok_or(ProtocolError::ValueOutOfRange {
            field: "header length",
            value: i64::try_from(header_len).unwrap_or(i64::MAX),
        })?;
    let length = header_len
        .checked_add(body_len)
        .and_then(|n| n.checked_add(4))
        .and_then(|n| i32::try_from(n).ok())
        .ok_or(ProtocolError::ValueOutOfRange {
            field: "frame length",
            value: i64::try_from(body_len).unwrap_or(i64::MAX),
        })?;
    Ok((length, header_word))
}

/// Reads the length prefix of the frame at the start of `buf`, before any of it is buffered.
///
/// Answers `Ok(None)` while fewer than 4 bytes are present, else the total frame size
/// (prefix included), which may exceed `buf.len()`. Rejects a length below 4, a frame above
/// `max_frame_size`, and, once 8 bytes are present, an unknown serialize type or a header
/// length beyond the frame.
pub fn peek_frame_len(buf: &[u8], max_frame_size: usize) -> Result<Option<usize>> {
    let Some(prefix) = buf.first_chunk::<4>() else {
        return Ok(None);
    };
    let length = i32::from_be_bytes(*prefix);
    if length < 4 {
        return Err(ProtocolError::InvalidFrameLength(i64::from(length)));
    }
    // Non-negative i32, so the conversion is lossless; +4 cannot overflow u64.
    let length = u64::from(length.unsigned_abs());
    let total = length + 4;
    if total > max_frame_size as u64 {
        return Err(ProtocolError::FrameTooLarge {
            size: total,
            max: max_frame_size,
        });
    }
    let total = usize::try_from(total).map_err(|_| ProtocolError::FrameTooLarge {
        size: total,
        max: max_frame_size,
    })?;
    if let Some(word) = buf.get(4..PREFIX_LEN) {
        let word = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        SerializeType::from_code(word.to_be_bytes()[0])?;
        let header_len = (word & 0x00FF_FFFF) as usize;
        let frame_len = total - 4;
        if header_len > frame_len - 4 {
            return Err(ProtocolError::HeaderLengthOutOfBounds {
                header_len,
                frame_len,
            });
        }
    }
    Ok(Some(total))
}

/// Decodes one frame from the start of `buf` with the default maximum frame size.
///
/// `Ok(None)` means more bytes are needed; `Ok(Some((command, consumed)))` gives the command
/// and the number of bytes it took.
pub fn decode(buf: &[u8]) -> Result<Option<(RemotingCommand, usize)>> {
    decode_with_limit(buf, DEFAULT_MAX_FRAME_SIZE)
}

/// [`decode`] with an explicit maximum frame size.
pub fn decode_with_limit(
    buf: &[u8],
    max_frame_size: usize,
) -> Result<Option<(RemotingCommand, usize)>> {
    let Some(total) = peek_frame_len(buf, max_frame_size)? else {
        return Ok(None);
    };
    let Some(frame) = buf.get(..total) else {
        return Ok(None);
    };
    let (mut command, body_start) = decode_header_part(frame)?;
    command.body = Bytes::copy_from_slice(&frame[body_start..]);
    Ok(Some((command, total)))
}

/// Decodes one complete frame held in `frame` (exactly one frame, prefix included) without
/// copying the body.
pub fn decode_complete(frame: Bytes) -> Result<RemotingCommand> {
    let (mut command, body_start) = decode_header_part(&frame)?;
    command.body = frame.slice(body_start..);
    Ok(command)
}

/// Parses the prefix and header of a complete frame; returns the command (empty body) and
/// the offset where the body starts.
fn decode_header_part(frame: &[u8]) -> Result<(RemotingCommand, usize)> {
    let (Some(prefix), Some(word)) = (frame.first_chunk::<4>(), frame.get(4..PREFIX_LEN)) else {
        return Err(ProtocolError::InvalidFrameLength(frame.len() as i64));
    };
    let length = i32::from_be_bytes(*prefix);
    if usize::try_from(length).ok().and_then(|l| l.checked_add(4)) != Some(frame.len()) {
        return Err(ProtocolError::InvalidFrameLength(i64::from(length)));
    }
    let word = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
    let serialize_type = SerializeType::from_code(word.to_be_bytes()[0])?;
    let header_len = (word & 0x00FF_FFFF) as usize;
    let body_start = PREFIX_LEN
        .checked_add(header_len)
        .filter(|&end| end <= frame.len())
        .ok_or(ProtocolError::HeaderLengthOutOfBounds {
            header_len,
            frame_len: frame.len() - 4,
        })?;
    let header = &frame[PREFIX_LEN..body_start];
    let command = match serialize_type {
        SerializeType::Json => header_json::decode(header)?,
        SerializeType::RocketMq => header_compact::decode(header)?,
    };
    Ok((command, body_start))
}
