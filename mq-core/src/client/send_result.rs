//! What a send returns: [`SendResult`] and its [`SendStatus`].

use crate::protocol::MessageQueue;
use crate::protocol::code::ResponseCode;

/// How the broker stored a message (RocketMQ's `SendStatus`); every status means it was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendStatus {
    /// Stored (and flushed, under SYNC_FLUSH).
    SendOk,
    /// Stored, but the flush to disk did not finish within the broker's timeout.
    FlushDiskTimeout,
    /// Stored, but replication to the slave did not finish in time.
    FlushSlaveTimeout,
    /// Stored, but no slave was available to replicate to.
    SlaveNotAvailable,
}

impl SendStatus {
    /// The status a send response code means, if it means the message was stored.
    pub(crate) fn from_code(code: i32) -> Option<Self> {
        match code {
            ResponseCode::SUCCESS => Some(Self::SendOk),
            ResponseCode::FLUSH_DISK_TIMEOUT => Some(Self::FlushDiskTimeout),
            ResponseCode::FLUSH_SLAVE_TIMEOUT => Some(Self::FlushSlaveTimeout),
            ResponseCode::SLAVE_NOT_AVAILABLE => Some(Self::SlaveNotAvailable),
            _ => None,
        }
    }
}

/// The broker's acknowledgement of a stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// How it was stored.
    pub status: SendStatus,
    /// The producer's unique id (`UNIQ_KEY`), what consumers see as `msg_id`; comma-joined for a batch.
    pub msg_id: String,
    /// The broker's offset msgId (comma-joined for a batch).
    pub offset_msg_id: String,
    /// The queue it went to.
    pub queue: MessageQueue,
    /// Its offset in that queue (the first message's, for a batch).
    pub queue_offset: i64,
}
