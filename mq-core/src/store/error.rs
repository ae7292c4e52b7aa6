//! The store's error type: what can go wrong appending, reading, recovering or cleaning up.

use std::path::{Path, PathBuf};

use crate::protocol::message::CodecError;
use crate::protocol::msg_id::MsgIdError;

/// Everything the message store can answer instead of a result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An operating-system call on a store file or directory failed.
    #[error("i/o on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A store file holds bytes that are not what the store wrote there.
    #[error("corrupt {path} at offset {offset}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset inside that file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// One message's record is larger than `max_message_size`.
    #[error("message of {size} bytes exceeds the limit of {max} bytes")]
    MessageTooLarge {
        /// The record's size.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// A batch's records together exceed `max_batch_size`.
    #[error("batch of {size} bytes exceeds the limit of {max} bytes")]
    BatchTooLarge {
        /// The batch's size.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// A batch without messages.
    #[error("empty batch")]
    EmptyBatch,
    /// A record or batch cannot fit in one CommitLog segment, even an empty one.
    #[error("{size} bytes do not fit in a CommitLog segment of {segment_size} bytes")]
    LargerThanSegment {
        /// Bytes needed, including the store's trailers.
        size: u64,
        /// The configured segment size.
        segment_size: u64,
    },
    /// The disk is fuller than `disk_full_ratio`; appends are refused until space is freed.
    #[error("disk full: {used_percent:.1}% used, appends are refused above {limit_percent:.1}%")]
    DiskFull {
        /// Current use, percent.
        used_percent: f64,
        /// The configured limit, percent.
        limit_percent: f64,
    },
    /// A message field cannot be stored (topic or properties too long, negative queue id…).
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// The message layout could not be encoded or decoded.
    #[error("message codec: {0}")]
    Codec(#[from] CodecError),
    /// A msgId is not an offset msgId of this layout.
    #[error("bad msgId: {0}")]
    BadMsgId(#[from] MsgIdError),
    /// A configuration value is unusable.
    #[error("invalid store config: {0}")]
    InvalidConfig(String),
    /// An fsync failed earlier; the store no longer promises durability and refuses appends.
    #[error("store is read-only after a failed flush: {0}")]
    FlushFailed(String),
    /// The store was closed.
    #[error("store is closed")]
    Closed,
}

/// `Result` with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Attaches the path to an `io::Error`, so every I/O error names its file.
pub(crate) trait IoContext<T> {
    /// Maps the error to [`StoreError::Io`] for `path`.
    fn at(self, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

impl StoreError {
    /// A [`StoreError::Corrupt`] for `path` at `offset`.
    pub(crate) fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}
