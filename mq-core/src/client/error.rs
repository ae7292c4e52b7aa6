//! The client's error type, [`ClientError`]: what a producer, consumer or admin call can fail with.

use std::time::Duration;

use crate::protocol::ProtocolError;
use crate::protocol::code::ResponseCode;
use crate::protocol::message::CodecError;

/// Everything a client call can fail with, by the part that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No response arrived within the request's timeout (the request may still have been applied).
    #[error("request timed out")]
    Timeout,
    /// A TCP connection to the address could not be opened (refused, unreachable, backing off).
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// The `host:port` that could not be reached.
        addr: String,
        /// Why (the OS error, or the back-off after recent failures).
        reason: String,
    },
    /// The connection closed while the request was waiting for its response.
    #[error("connection to {addr} closed")]
    ConnectionClosed {
        /// The peer's `host:port`.
        addr: String,
    },
    /// The broker or name server refused the request with a response code.
    #[error("refused with code {code} ({}): {remark}", ResponseCode::name(*code).unwrap_or("UNKNOWN"))]
    Broker {
        /// RocketMQ response code (e.g. 17 TOPIC_NOT_EXIST, 13 MESSAGE_ILLEGAL).
        code: i32,
        /// The peer's explanation.
        remark: String,
    },
    /// No name server knows a route for the topic, or the route has no usable queue.
    #[error("no route for topic {topic}")]
    NoRoute {
        /// The topic.
        topic: String,
    },
    /// An argument is invalid (topic or group name, empty body, mixed batch...); nothing was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A message (or batch) is larger than the configured maximum; nothing was sent.
    #[error("message of {size} bytes exceeds the maximum of {max} bytes")]
    MessageTooLarge {
        /// The body size (or encoded batch size) in bytes.
        size: usize,
        /// The configured maximum (`max_message_size`).
        max: usize,
    },
    /// The client (producer, consumer, admin) has been shut down.
    #[error("client is shut down")]
    Shutdown,
    /// A peer sent a frame, header or body this client cannot understand.
    #[error("protocol: {0}")]
    Protocol(#[from] ProtocolError),
    /// A message in a pull or query response is not in the stored-message layout.
    #[error("malformed message: {0}")]
    Message(#[from] CodecError),
    /// A local I/O operation failed (offset file, socket set-up).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl ClientError {
    /// A refused request from its response code and remark.
    pub fn broker(code: i32, remark: Option<String>) -> Self {
        Self::Broker {
            code,
            remark: remark.unwrap_or_default(),
        }
    }

    /// Whether the failure may go away on another broker or a later attempt (a producer
    /// retries these on another queue), as opposed to a problem with the request itself.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout | Self::Connect { .. } | Self::ConnectionClosed { .. } => true,
            Self::NoRoute { .. } | Self::Io(_) => true,
            // Java's DefaultMQProducerImpl retries exactly these broker codes.
            Self::Broker { code, .. } => matches!(
                *code,
                ResponseCode::TOPIC_NOT_EXIST
                    | ResponseCode::SERVICE_NOT_AVAILABLE
                    | ResponseCode::SYSTEM_ERROR
                    | ResponseCode::SYSTEM_BUSY
                    | ResponseCode::NO_PERMISSION
                    | ResponseCode::NO_BUYER_ID
                    | ResponseCode::NOT_IN_CURRENT_UNIT
            ),
            _ => false,
        }
    }

    /// The response code when the peer refused the request.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            Self::Broker { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// `Result` with [`ClientError`].
pub type ClientResult<T> = Result<T, ClientError>;

/// A deadline helper: the time left of a budget, or a timeout error once it is spent.
pub(crate) fn remaining(deadline: tokio::time::Instant) -> ClientResult<Duration> {
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    if left.is_zero() {
        Err(ClientError::Timeout)
    } else {
        Ok(left)
    }
}
