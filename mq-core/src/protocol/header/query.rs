//! Query headers: QUERY_MESSAGE (12) by key and VIEW_MESSAGE_BY_ID (33) by commit-log offset.

use super::command_header;

/// Extra ext key the client adds to QUERY_MESSAGE: `"true"` when `key` is a UNIQ_KEY.
pub const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";

command_header! {
    /// QUERY_MESSAGE (12) request (`QueryMessageRequestHeader`).
    pub struct QueryMessageRequestHeader {
        /// Topic.
        topic: req String = "topic",
        /// Key (or UNIQ_KEY with `_UNIQUE_KEY_QUERY=true`).
        key: req String = "key",
        /// At most this many messages.
        max_num: req i32 = "maxNum",
        /// Store time lower bound, ms.
        begin_timestamp: req i64 = "beginTimestamp",
        /// Store time upper bound, ms.
        end_timestamp: req i64 = "endTimestamp",
    }
}

command_header! {
    /// QUERY_MESSAGE (12) response (`QueryMessageResponseHeader`).
    pub struct QueryMessageResponseHeader {
        /// When the index was last updated, ms.
        index_last_update_timestamp: req i64 = "indexLastUpdateTimestamp",
        /// Commit-log offset the index covers.
        index_last_update_phyoffset: req i64 = "indexLastUpdatePhyoffset",
    }
}

command_header! {
    /// VIEW_MESSAGE_BY_ID (33) request (`ViewMessageRequestHeader`).
    pub struct ViewMessageRequestHeader {
        /// Commit-log offset decoded from the offset msgId.
        offset: req i64 = "offset",
    }
}
