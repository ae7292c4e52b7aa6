//! Offset headers: consumer offsets, queue min/max offsets, search by time, reset by time.

use super::command_header;

command_header! {
    /// QUERY_CONSUMER_OFFSET (14) request (`QueryConsumerOffsetRequestHeader`).
    pub struct QueryConsumerOffsetRequestHeader {
        /// Consumer group.
        consumer_group: req String = "consumerGroup",
        /// Topic.
        topic: req String = "topic",
        /// Queue.
        queue_id: req i32 = "queueId",
        /// Broker name (4.9.5+).
        bname: opt String = "bname",
    }
}

command_header! {
    /// The `offset` response of QUERY_CONSUMER_OFFSET (14), GET_MAX_OFFSET (30),
    /// GET_MIN_OFFSET (31) and SEARCH_OFFSET_BY_TIMESTAMP (29) (`QueryConsumerOffsetResponseHeader`,
    /// `GetMaxOffsetResponseHeader`, `GetMinOffsetResponseHeader`, `SearchOffsetResponseHeader`).
    pub struct OffsetResponseHeader {
        /// The offset.
        offset: req i64 = "offset",
    }
}

command_header! {
    /// UPDATE_CONSUMER_OFFSET (15) request (`UpdateConsumerOffsetRequestHeader`); oneway from Java.
    pub struct UpdateConsumerOffsetRequestHeader {
        /// Consumer group.
        consumer_group: req String = "consumerGroup",
        /// Topic.
        topic: req String = "topic",
        /// Queue.
        queue_id: req i32 = "queueId",
        /// Offset to commit (the next offset to consume).
        commit_offset: req i64 = "commitOffset",
        /// Broker name (4.9.5+).
        bname: opt String = "bname",
    }
}

command_header! {
    /// GET_MAX_OFFSET (30), GET_MIN_OFFSET (31) and GET_EARLIEST_MSG_STORETIME (32) request
    /// (`GetMaxOffsetRequestHeader`, `GetMinOffsetRequestHeader`,
    /// `GetEarliestMsgStoretimeRequestHeader`: the same fields).
    pub struct QueueRequestHeader {
        /// Topic.
        topic: req String = "topic",
        /// Queue.
        queue_id: req i32 = "queueId",
        /// Broker name (4.9.5+).
        bname: opt String = "bname",
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME (32) response (`GetEarliestMsgStoretimeResponseHeader`).
    pub struct GetEarliestMsgStoretimeResponseHeader {
        /// Store time, ms.
        timestamp: req i64 = "timestamp",
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29) request (`SearchOffsetRequestHeader`).
    pub struct SearchOffsetRequestHeader {
        /// Topic.
        topic: req String = "topic",
        /// Queue.
        queue_id: req i32 = "queueId",
        /// Store time, ms.
        timestamp: req i64 = "timestamp",
        /// Broker name (4.9.5+).
        bname: opt String = "bname",
    }
}

command_header! {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222) and RESET_CONSUMER_CLIENT_OFFSET (220) request
    /// (`ResetOffsetRequestHeader`). The force key is literally `isForce`.
    pub struct ResetOffsetRequestHeader {
        /// Topic.
        topic: req String = "topic",
        /// Consumer group.
        group: req String = "group",
        /// Store time to reset to, ms; -1 = the max offset.
        timestamp: req i64 = "timestamp",
        /// Reset even forward.
        is_force: req bool = "isForce",
    }
}
