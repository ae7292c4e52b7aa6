//! Request codes, response codes and language codes of RocketMQ 4.9.8 (`RequestCode`,
//! `ResponseCode`, `RemotingSysResponseCode`, `LanguageCode`).
//!
//! Codes stay plain `i32` on [`RemotingCommand`](super::RemotingCommand) so unknown codes from newer
//! peers pass through; the constants live on uninhabited enums so `match` arms read
//! `RequestCode::SEND_MESSAGE`.

/// Declares an uninhabited namespace of `i32` constants plus a `name(code)` lookup.
macro_rules! code_table {
    ($(#[$meta:meta])* $name:ident { $($(#[$cmeta:meta])* $konst:ident = $value:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug)]
        pub enum $name {}

        impl $name {
            $($(#[$cmeta])* pub const $konst: i32 = $value;)*

            /// The RocketMQ constant name of `code`, if this table knows it.
            pub fn name(code: i32) -> Option<&'static str> {
                match code {
                    $($value => Some(stringify!($konst)),)*
                    _ => None,
                }
            }

            /// Every `(code, name)` pair of the table, in declaration order.
            pub const ALL: &'static [(i32, &'static str)] = &[$(($value, stringify!($konst)),)*];
        }
    };
}

code_table! {
    /// Request codes (`org.apache.rocketmq.common.protocol.RequestCode`, 4.9.8).
    RequestCode {
        /// Producer send, header `SendMessageRequestHeader` (long names).
        SEND_MESSAGE = 10,
        /// Pull messages from one queue (long polling).
        PULL_MESSAGE = 11,
        /// Query messages by key from the index.
        QUERY_MESSAGE = 12,
        /// Broker offset query (unused by 4.9.8 clients).
        QUERY_BROKER_OFFSET = 13,
        /// Read a group's committed offset for one queue.
        QUERY_CONSUMER_OFFSET = 14,
        /// Commit a group's offset for one queue (oneway from Java).
        UPDATE_CONSUMER_OFFSET = 15,
        /// Create or update a topic on a broker.
        UPDATE_AND_CREATE_TOPIC = 17,
        /// All topic configs of a broker.
        GET_ALL_TOPIC_CONFIG = 21,
        /// Topic config list.
        GET_TOPIC_CONFIG_LIST = 22,
        /// Topic name list.
        GET_TOPIC_NAME_LIST = 23,
        /// Update broker configuration.
        UPDATE_BROKER_CONFIG = 25,
        /// Read broker configuration.
        GET_BROKER_CONFIG = 26,
        /// Trigger file deletion.
        TRIGGER_DELETE_FILES = 27,
        /// Broker runtime statistics.
        GET_BROKER_RUNTIME_INFO = 28,
        /// Find the queue offset of a store timestamp.
        SEARCH_OFFSET_BY_TIMESTAMP = 29,
        /// Next offset to be written in a queue.
        GET_MAX_OFFSET = 30,
        /// Smallest offset still stored in a queue.
        GET_MIN_OFFSET = 31,
        /// Store time of the earliest message of a queue.
        GET_EARLIEST_MSG_STORETIME = 32,
        /// Read one message by commit-log offset (offset msgId).
        VIEW_MESSAGE_BY_ID = 33,
        /// Client heartbeat with producer and consumer groups.
        HEART_BEAT = 34,
        /// A client leaves its groups.
        UNREGISTER_CLIENT = 35,
        /// A consumer hands a failed message back for retry.
        CONSUMER_SEND_MSG_BACK = 36,
        /// Commit or roll back a half message (oneway).
        END_TRANSACTION = 37,
        /// Client ids of a consumer group.
        GET_CONSUMER_LIST_BY_GROUP = 38,
        /// Broker asks a producer for a transaction's state (oneway).
        CHECK_TRANSACTION_STATE = 39,
        /// Broker tells consumers a group's membership changed (oneway).
        NOTIFY_CONSUMER_IDS_CHANGED = 40,
        /// Lock queues for orderly consumption.
        LOCK_BATCH_MQ = 41,
        /// Unlock queues.
        UNLOCK_BATCH_MQ = 42,
        /// All consumer offsets of a broker.
        GET_ALL_CONSUMER_OFFSET = 43,
        /// All delay offsets of a broker.
        GET_ALL_DELAY_OFFSET = 45,
        /// Check a client's subscription config.
        CHECK_CLIENT_CONFIG = 46,
        /// ACL: create or update an access config.
        UPDATE_AND_CREATE_ACL_CONFIG = 50,
        /// ACL: delete an access config.
        DELETE_ACL_CONFIG = 51,
        /// ACL: broker cluster ACL info.
        GET_BROKER_CLUSTER_ACL_INFO = 52,
        /// ACL: update the global white list.
        UPDATE_GLOBAL_WHITE_ADDRS_CONFIG = 53,
        /// Name server: store a KV config entry.
        PUT_KV_CONFIG = 100,
        /// Name server: read a KV config entry.
        GET_KV_CONFIG = 101,
        /// Name server: delete a KV config entry.
        DELETE_KV_CONFIG = 102,
        /// Broker registers (and heartbeats) with the name server.
        REGISTER_BROKER = 103,
        /// Broker leaves the name server.
        UNREGISTER_BROKER = 104,
        /// Route of one topic.
        GET_ROUTEINFO_BY_TOPIC = 105,
        /// Brokers and clusters known to the name server.
        GET_BROKER_CLUSTER_INFO = 106,
        /// Create or update a subscription group.
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP = 200,
        /// All subscription group configs.
        GET_ALL_SUBSCRIPTIONGROUP_CONFIG = 201,
        /// Per-queue min/max offsets of a topic.
        GET_TOPIC_STATS_INFO = 202,
        /// Connections of a consumer group.
        GET_CONSUMER_CONNECTION_LIST = 203,
        /// Connections of a producer group.
        GET_PRODUCER_CONNECTION_LIST = 204,
        /// Remove write permission of a broker on the name server.
        WIPE_WRITE_PERM_OF_BROKER = 205,
        /// All topics known to the name server.
        GET_ALL_TOPIC_LIST_FROM_NAMESERVER = 206,
        /// Delete a subscription group.
        DELETE_SUBSCRIPTIONGROUP = 207,
        /// Consume progress of a group.
        GET_CONSUME_STATS = 208,
        /// Suspend a consumer.
        SUSPEND_CONSUMER = 209,
        /// Resume a consumer.
        RESUME_CONSUMER = 210,
        /// Unused in 4.9.8.
        RESET_CONSUMER_OFFSET_IN_CONSUMER = 211,
        /// Unused in 4.9.8.
        RESET_CONSUMER_OFFSET_IN_BROKER = 212,
        /// Adjust a consumer's thread pool.
        ADJUST_CONSUMER_THREAD_POOL = 213,
        /// Which groups consumed a message.
        WHO_CONSUME_THE_MESSAGE = 214,
        /// Delete a topic on a broker.
        DELETE_TOPIC_IN_BROKER = 215,
        /// Delete a topic's route on the name server.
        DELETE_TOPIC_IN_NAMESRV = 216,
        /// Name server: all KV entries of a namespace.
        GET_KVLIST_BY_NAMESPACE = 219,
        /// Broker tells a consumer to reset offsets (oneway).
        RESET_CONSUMER_CLIENT_OFFSET = 220,
        /// Broker asks a consumer for its status.
        GET_CONSUMER_STATUS_FROM_CLIENT = 221,
        /// Admin asks a broker to reset a group's offsets by time.
        INVOKE_BROKER_TO_RESET_OFFSET = 222,
        /// Admin asks a broker for consumer status.
        INVOKE_BROKER_TO_GET_CONSUMER_STATUS = 223,
        /// Name server: topics of a cluster.
        GET_TOPICS_BY_CLUSTER = 224,
        /// Which groups consume a topic.
        QUERY_TOPIC_CONSUME_BY_WHO = 300,
        /// Filter server registration.
        REGISTER_FILTER_SERVER = 301,
        /// Filter class registration.
        REGISTER_MESSAGE_FILTER_CLASS = 302,
        /// Consume time span of a group.
        QUERY_CONSUME_TIME_SPAN = 303,
        /// Name server: system topics.
        GET_SYSTEM_TOPIC_LIST_FROM_NS = 304,
        /// Broker: system topics.
        GET_SYSTEM_TOPIC_LIST_FROM_BROKER = 305,
        /// Clean expired consume queues.
        CLEAN_EXPIRED_CONSUMEQUEUE = 306,
        /// Runtime info of one consumer client (broker relays it to the client).
        GET_CONSUMER_RUNNING_INFO = 307,
        /// Correction offset query.
        QUERY_CORRECTION_OFFSET = 308,
        /// Consume one message directly on a client.
        CONSUME_MESSAGE_DIRECTLY = 309,
        /// Producer send with the short-named `SendMessageRequestHeaderV2`.
        SEND_MESSAGE_V2 = 310,
        /// Unit topics.
        GET_UNIT_TOPIC_LIST = 311,
        /// Unit-sub topics.
        GET_HAS_UNIT_SUB_TOPIC_LIST = 312,
        /// Unit-sub non-unit topics.
        GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST = 313,
        /// Clone a group's offsets.
        CLONE_GROUP_OFFSET = 314,
        /// Broker statistics.
        VIEW_BROKER_STATS_DATA = 315,
        /// Clean unused topics.
        CLEAN_UNUSED_TOPIC = 316,
        /// Broker-wide consume stats.
        GET_BROKER_CONSUME_STATS = 317,
        /// Update the name server configuration.
        UPDATE_NAMESRV_CONFIG = 318,
        /// Read the name server configuration.
        GET_NAMESRV_CONFIG = 319,
        /// Batch send (V2 header with `m=true`).
        SEND_BATCH_MESSAGE = 320,
        /// Read consume queue entries.
        QUERY_CONSUME_QUEUE = 321,
        /// Broker asks whether its topic config data version changed.
        QUERY_DATA_VERSION = 322,
        /// Resume checking a half message.
        RESUME_CHECK_HALF_MESSAGE = 323,
        /// Request-reply: send a reply.
        SEND_REPLY_MESSAGE = 324,
        /// Request-reply: send a reply (V2 header).
        SEND_REPLY_MESSAGE_V2 = 325,
        /// Request-reply: push a reply to the requester.
        PUSH_REPLY_MESSAGE_TO_CLIENT = 326,
        /// Restore write permission of a broker on the name server.
        ADD_WRITE_PERM_OF_BROKER = 327,
        /// All producer info.
        GET_ALL_PRODUCER_INFO = 328,
        /// Delete expired commit log files.
        DELETE_EXPIRED_COMMITLOG = 329,
    }
}

code_table! {
    /// Response codes (`ResponseCode` and `RemotingSysResponseCode`, 4.9.8).
    ResponseCode {
        /// Success.
        SUCCESS = 0,
        /// Any failure; the remark says what.
        SYSTEM_ERROR = 1,
        /// Flow control; retry later.
        SYSTEM_BUSY = 2,
        /// The request code is unknown to the server.
        REQUEST_CODE_NOT_SUPPORTED = 3,
        /// A transaction failed.
        TRANSACTION_FAILED = 4,
        /// Stored, but the disk flush timed out.
        FLUSH_DISK_TIMEOUT = 10,
        /// Stored, but no slave is available.
        SLAVE_NOT_AVAILABLE = 11,
        /// Stored, but the slave flush timed out.
        FLUSH_SLAVE_TIMEOUT = 12,
        /// Message too large or malformed.
        MESSAGE_ILLEGAL = 13,
        /// Store unavailable (disk full, shutting down, slave).
        SERVICE_NOT_AVAILABLE = 14,
        /// Version not supported.
        VERSION_NOT_SUPPORTED = 15,
        /// Permission denied.
        NO_PERMISSION = 16,
        /// The topic does not exist.
        TOPIC_NOT_EXIST = 17,
        /// The topic already exists.
        TOPIC_EXIST_ALREADY = 18,
        /// Pull: no new message.
        PULL_NOT_FOUND = 19,
        /// Pull: nothing matched the filter; pull again at once.
        PULL_RETRY_IMMEDIATELY = 20,
        /// Pull: the requested offset is out of range.
        PULL_OFFSET_MOVED = 21,
        /// Query: nothing found.
        QUERY_NOT_FOUND = 22,
        /// The subscription expression cannot be parsed.
        SUBSCRIPTION_PARSE_FAILED = 23,
        /// No subscription for this group and topic.
        SUBSCRIPTION_NOT_EXIST = 24,
        /// The client's subscription is newer than the broker's.
        SUBSCRIPTION_NOT_LATEST = 25,
        /// The subscription group does not exist.
        SUBSCRIPTION_GROUP_NOT_EXIST = 26,
        /// Filter data missing.
        FILTER_DATA_NOT_EXIST = 27,
        /// Filter data outdated.
        FILTER_DATA_NOT_LATEST = 28,
        /// Transaction check: commit.
        TRANSACTION_SHOULD_COMMIT = 200,
        /// Transaction check: roll back.
        TRANSACTION_SHOULD_ROLLBACK = 201,
        /// Transaction check: unknown.
        TRANSACTION_STATE_UNKNOW = 202,
        /// Transaction check: wrong group.
        TRANSACTION_STATE_GROUP_WRONG = 203,
        /// No buyer id.
        NO_BUYER_ID = 204,
        /// Not in the current unit.
        NOT_IN_CURRENT_UNIT = 205,
        /// No consumer of the group is online.
        CONSUMER_NOT_ONLINE = 206,
        /// Direct consumption timed out.
        CONSUME_MSG_TIMEOUT = 207,
        /// No message.
        NO_MESSAGE = 208,
        /// ACL update failed.
        UPDATE_AND_CREATE_ACL_CONFIG_FAILED = 209,
        /// ACL delete failed.
        DELETE_ACL_CONFIG_FAILED = 210,
        /// ACL white list update failed.
        UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED = 211,
        /// Flow control.
        FLOW_CONTROL = 215,
    }
}

/// The sender's implementation language (`LanguageCode`): a byte in compact headers, the
/// enum name in JSON headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum LanguageCode {
    /// Java (code 0); what Java's decoder assumes when the field is absent.
    Java,
    /// C++ (1).
    Cpp,
    /// .NET (2).
    Dotnet,
    /// Python (3).
    Python,
    /// Delphi (4).
    Delphi,
    /// Erlang (5).
    Erlang,
    /// Ruby (6).
    Ruby,
    /// Anything else (7); also what unknown codes decode to here.
    Other,
    /// HTTP (8).
    Http,
    /// Go (9).
    Go,
    /// PHP (10).
    Php,
    /// OMS (11).
    Oms,
    /// Rust (12, since RocketMQ 4.9.4); what mq-core sends.
    #[default]
    Rust,
}

impl LanguageCode {
    /// Every language, in code order.
    pub const ALL: [LanguageCode; 13] = [
        Self::Java,
        Self::Cpp,
        Self::Dotnet,
        Self::Python,
        Self::Delphi,
        Self::Erlang,
        Self::Ruby,
        Self::Other,
        Self::Http,
        Self::Go,
        Self::Php,
        Self::Oms,
        Self::Rust,
    ];

    /// The byte written in compact headers.
    pub fn code(self) -> u8 {
        match self {
            Self::Java => 0,
            Self::Cpp => 1,
            Self::Dotnet => 2,
            Self::Python => 3,
            Self::Delphi => 4,
            Self::Erlang => 5,
            Self::Ruby => 6,
            Self::Other => 7,
            Self::Http => 8,
            Self::Go => 9,
            Self::Php => 10,
            Self::Oms => 11,
            Self::Rust => 12,
        }
    }

    /// The language of a compact-header byte, `None` if unknown.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The Java enum name written in JSON headers (`"JAVA"`, `"RUST"` ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Java => "JAVA",
            Self::Cpp => "CPP",
            Self::Dotnet => "DOTNET",
            Self::Python => "PYTHON",
            Self::Delphi => "DELPHI",
            Self::Erlang => "ERLANG",
            Self::Ruby => "RUBY",
            Self::Other => "OTHER",
            Self::Http => "HTTP",
            Self::Go => "GO",
            Self::Php => "PHP",
            Self::Oms => "OMS",
            Self::Rust => "RUST",
        }
    }

    /// The language of a JSON-header name, `None` if unknown.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|l| l.name() == name)
    }
}

impl std::fmt::Display for LanguageCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_codes_round_trip_by_byte_and_name() {
        for (i, lang) in LanguageCode::ALL.iter().enumerate() {
            assert_eq!(usize::from(lang.code()), i);
            assert_eq!(LanguageCode::from_code(lang.code()), Some(*lang));
            assert_eq!(LanguageCode::from_name(lang.name()), Some(*lang));
        }
        assert_eq!(LanguageCode::from_code(13), None);
        assert_eq!(LanguageCode::from_name("COBOL"), None);
    }

    #[test]
    fn code_names_match_rocketmq() {
        assert_eq!(RequestCode::name(310), Some("SEND_MESSAGE_V2"));
        assert_eq!(RequestCode::name(105), Some("GET_ROUTEINFO_BY_TOPIC"));
        assert_eq!(ResponseCode::name(17), Some("TOPIC_NOT_EXIST"));
        assert_eq!(ResponseCode::name(9999), None);
        let mut seen = std::collections::HashSet::new();
        assert!(RequestCode::ALL.iter().all(|(c, _)| seen.insert(*c)));
    }
}
