//! The protocol layer's error type: what can be wrong with bytes, headers and bodies on the wire.

/// Everything that can be wrong with a remoting frame, a header or a body.
///
/// A decode error means the peer sent something this side cannot understand; servers close
/// that connection (as Java's `NettyDecoder` does) and keep serving the others.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The length prefix announces a frame larger than the configured maximum.
    #[error("frame of {size} bytes exceeds the maximum of {max} bytes")]
    FrameTooLarge {
        /// Total frame size in bytes, length prefix included.
        size: u64,
        /// The configured maximum frame size.
        max: usize,
    },
    /// The length prefix is negative or too small to hold the header-length word.
    #[error("invalid frame length {0}")]
    InvalidFrameLength(i64),
    /// The header length does not fit inside the frame.
    #[error("header length {header_len} does not fit in a frame of length {frame_len}")]
    HeaderLengthOutOfBounds {
        /// The header length from the header-length word.
        header_len: usize,
        /// The frame length from the length prefix (not counting the prefix itself).
        frame_len: usize,
    },
    /// The high byte of the header-length word is neither 0 (JSON) nor 1 (ROCKETMQ).
    #[error("unknown header serialization type {0}")]
    UnknownSerializeType(u8),
    /// The JSON header is not a valid JSON object of the expected shape.
    #[error("malformed JSON header: {0}")]
    JsonHeader(#[source] serde_json::Error),
    /// The compact (ROCKETMQ) header is cut short or has lengths that do not add up.
    #[error("malformed compact header: {0}")]
    CompactHeader(&'static str),
    /// A string in a header is not valid UTF-8.
    #[error("header field {0} is not valid UTF-8")]
    InvalidUtf8(&'static str),
    /// A value does not fit the field's wire width on encode (e.g. a code beyond i16 in a compact header).
    #[error("value {value} of {field} does not fit its wire encoding")]
    ValueOutOfRange {
        /// The field being encoded.
        field: &'static str,
        /// The value that does not fit.
        value: i64,
    },
    /// A required custom header field (extFields entry) is absent.
    #[error("{header}: missing required field {field}")]
    MissingField {
        /// The header type being decoded.
        header: &'static str,
        /// The extFields key that is missing.
        field: &'static str,
    },
    /// A custom header field is present but cannot be parsed as its type.
    #[error("{header}: field {field} has invalid value {value:?}")]
    InvalidField {
        /// The header type being decoded.
        header: &'static str,
        /// The extFields key.
        field: &'static str,
        /// The offending value.
        value: String,
    },
    /// A JSON body cannot be read or written as the named RocketMQ type.
    #[error("malformed {body} body: {source}")]
    Body {
        /// The body type (RocketMQ class name).
        body: &'static str,
        /// What serde_json reported.
        #[source]
        source: serde_json::Error,
    },
    /// A body is structurally wrong in a way serde cannot describe (e.g. unbalanced fastjson keys).
    #[error("malformed {body} body: {reason}")]
    BodyShape {
        /// The body type (RocketMQ class name).
        body: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The transport failed while a codec was reading or writing.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// `Result` with [`ProtocolError`].
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;
