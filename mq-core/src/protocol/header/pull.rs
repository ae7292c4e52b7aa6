//! Pull headers: PULL_MESSAGE (11) request and response, and the `PullSysFlag` bits.

use super::command_header;

/// `PullSysFlag` bit: the broker stores `commitOffset`.
pub const PULL_FLAG_COMMIT_OFFSET: i32 = 0x1;
/// `PullSysFlag` bit: long polling allowed.
pub const PULL_FLAG_SUSPEND: i32 = 0x2;
/// `PullSysFlag` bit: the header's subscription is authoritative.
pub const PULL_FLAG_SUBSCRIPTION: i32 = 0x4;
/// `PullSysFlag` bit: class filter mode.
pub const PULL_FLAG_CLASS_FILTER: i32 = 0x8;
/// `PullSysFlag` bit: lite pull consumer.
pub const PULL_FLAG_LITE_PULL_MESSAGE: i32 = 0x10;

command_header! {
    /// PULL_MESSAGE (11) request (`PullMessageRequestHeader`).
    pub struct PullMessageRequestHeader {
        /// Consumer group.
        consumer_group: req String = "consumerGroup",
        /// Topic.
        topic: req String = "topic",
        /// Queue.
        queue_id: req i32 = "queueId",
        /// First offset wanted.
        queue_offset: req i64 = "queueOffset",
        /// At most this many messages.
        max_msg_nums: req i32 = "maxMsgNums",
        /// `PULL_FLAG_*` bits.
        sys_flag: req i32 = "sysFlag",
        /// Offset to commit when the commit bit is set.
        commit_offset: req i64 = "commitOffset",
        /// How long the broker may hold an empty pull, ms.
        suspend_timeout_millis: req i64 = "suspendTimeoutMillis",
        /// Subscription expression.
        subscription: opt String = "subscription",
        /// Subscription version.
        sub_version: req i64 = "subVersion",
        /// `TAG` or `SQL92`.
        expression_type: opt String = "expressionType",
        /// Broker name (4.9.5+).
        bname: opt String = "bname",
    }
}

command_header! {
    /// PULL_MESSAGE (11) response (`PullMessageResponseHeader`).
    pub struct PullMessageResponseHeader {
        /// 0 = master, else the slave to read from.
        suggest_which_broker_id: req i64 = "suggestWhichBrokerId",
        /// Offset of the next pull.
        next_begin_offset: req i64 = "nextBeginOffset",
        /// Queue's min offset.
        min_offset: req i64 = "minOffset",
        /// Queue's max offset.
        max_offset: req i64 = "maxOffset",
    }
}
