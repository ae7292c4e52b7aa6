//! Producer-side headers: send (V1 long names, V2 short names, batch), the send response, and
//! the transaction pair END_TRANSACTION / CHECK_TRANSACTION_STATE.

use super::{CommandHeader, command_header, flag, optional, required};
use crate::protocol::code::RequestCode;
use crate::protocol::error::Result;
use crate::protocol::frame::{ExtFields, RemotingCommand};

command_header! {
    /// SEND_MESSAGE (10) request (`SendMessageRequestHeader`); the same fields travel under
    /// short names in [`SendMessageRequestHeaderV2`].
    pub struct SendMessageRequestHeader {
        /// Producer group.
        producer_group: req String = "producerGroup",
        /// Target topic.
        topic: req String = "topic",
        /// Topic whose config is copied on auto-create (normally `TBW102`).
        default_topic: req String = "defaultTopic",
        /// Queue count for an auto-created topic.
        default_topic_queue_nums: req i32 = "defaultTopicQueueNums",
        /// Target queue; < 0 lets the broker pick.
        queue_id: req i32 = "queueId",
        /// Message sysFlag (compression, transaction type).
        sys_flag: req i32 = "sysFlag",
        /// Producer clock, ms.
        born_timestamp: req i64 = "bornTimestamp",
        /// User flag.
        flag: req i32 = "flag",
        /// Properties string (`name\u{1}value\u{2}...`).
        properties: opt String = "properties",
        /// Times consumed and sent back.
        reconsume_times: opt i32 = "reconsumeTimes",
        /// Unit mode.
        unit_mode: flag bool = "unitMode",
        /// Whether the body is a batch.
        batch: flag bool = "batch",
        /// Retries before the DLQ.
        max_reconsume_times: opt i32 = "maxReconsumeTimes",
        /// Broker name (4.9.5+, ignored by 4.x brokers).
        bname: opt String = "bname",
    }
}

impl SendMessageRequestHeader {
    /// Reads the send header of a SEND_MESSAGE (V1 names) or SEND_MESSAGE_V2 /
    /// SEND_BATCH_MESSAGE (V2 short names) request, as the broker does by code.
    pub fn from_request(request: &RemotingCommand) -> Result<Self> {
        match request.code {
            RequestCode::SEND_MESSAGE_V2
            | RequestCode::SEND_BATCH_MESSAGE
            | RequestCode::SEND_REPLY_MESSAGE_V2 => {
                SendMessageRequestHeaderV2::from_ext_fields(&request.ext_fields).map(|v2| v2.0)
            }
            _ => Self::from_ext_fields(&request.ext_fields),
        }
    }
}

/// The send header under V2's one-letter keys (`SendMessageRequestHeaderV2`), used with
/// SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320): `a` producerGroup, `b` topic,
/// `c` defaultTopic, `d` defaultTopicQueueNums, `e` queueId, `f` sysFlag, `g` bornTimestamp,
/// `h` flag, `i` properties, `j` reconsumeTimes, `k` unitMode, `l` maxReconsumeTimes,
/// `m` batch, `n` bname.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SendMessageRequestHeaderV2(pub SendMessageRequestHeader);

impl CommandHeader for SendMessageRequestHeaderV2 {
    fn to_ext_fields(&self) -> ExtFields {
        let h = &self.0;
        let mut ext = ExtFields::with_capacity(14);
        let mut put = |k: &str, v: String| {
            ext.push(k.to_owned(), v);
        };
        put("a", h.producer_group.clone());
        put("b", h.topic.clone());
        put("c", h.default_topic.clone());
        put("d", h.default_topic_queue_nums.to_string());
        put("e", h.queue_id.to_string());
        put("f", h.sys_flag.to_string());
        put("g", h.born_timestamp.to_string());
        put("h", h.flag.to_string());
        if let Some(p) = &h.properties {
            put("i", p.clone());
        }
        if let Some(r) = h.reconsume_times {
            put("j", r.to_string());
        }
        put("k", h.unit_mode.to_string());
        if let Some(m) = h.max_reconsume_times {
            put("l", m.to_string());
        }
        put("m", h.batch.to_string());
        if let Some(n) = &h.bname {
            put("n", n.clone());
        }
        ext
    }

    fn from_ext_fields(ext: &ExtFields) -> Result<Self> {
        const H: &str = "SendMessageRequestHeaderV2";
        Ok(Self(SendMessageRequestHeader {
            producer_group: required(ext, H, "a")?,
            topic: required(ext, H, "b")?,
            default_topic: required(ext, H, "c")?,
            default_topic_queue_nums: required(ext, H, "d")?,
            queue_id: required(ext, H, "e")?,
            sys_flag: required(ext, H, "f")?,
            born_timestamp: required(ext, H, "g")?,
            flag: required(ext, H, "h")?,
            properties: optional(ext, H, "i")?,
            reconsume_times: optional(ext, H, "j")?,
            unit_mode: flag(ext, "k"),
            max_reconsume_times: optional(ext, H, "l")?,
            batch: flag(ext, "m"),
            bname: optional(ext, H, "n")?,
        }))
    }
}

command_header! {
    /// Send response (`SendMessageResponseHeader`). The broker also adds `MSG_REGION` and
    /// `TRACE_ON` ext fields; add them with `RemotingCommand::with_ext`.
    pub struct SendMessageResponseHeader {
        /// Offset msgId (comma-joined for a batch).
        msg_id: req String = "msgId",
        /// Queue the message went to.
        queue_id: req i32 = "queueId",
        /// ConsumeQueue offset of the (first) message.
        queue_offset: req i64 = "queueOffset",
        /// Transaction id (not set by 4.9.8 brokers).
        transaction_id: opt String = "transactionId",
    }
}

command_header! {
    /// END_TRANSACTION (37, oneway) request (`EndTransactionRequestHeader`).
    pub struct EndTransactionRequestHeader {
        /// Producer group.
        producer_group: req String = "producerGroup",
        /// Half message's queue offset.
        tran_state_table_offset: req i64 = "tranStateTableOffset",
        /// Half message's commit-log offset.
        commit_log_offset: req i64 = "commitLogOffset",
        /// 0 = unknown, 8 = commit, 12 = rollback.
        commit_or_rollback: req i32 = "commitOrRollback",
        /// Whether this answers a CHECK_TRANSACTION_STATE.
        from_transaction_check: opt bool = "fromTransactionCheck",
        /// UNIQ_KEY of the half message.
        msg_id: req String = "msgId",
        /// Transaction id.
        transaction_id: opt String = "transactionId",
        /// Broker name (4.9.5+).
        bname: opt String = "bname",
    }
}

command_header! {
    /// CHECK_TRANSACTION_STATE (39, broker → producer, oneway) request.
    pub struct CheckTransactionStateRequestHeader {
        /// Half message's queue offset.
        tran_state_table_offset: req i64 = "tranStateTableOffset",
        /// Half message's commit-log offset.
        commit_log_offset: req i64 = "commitLogOffset",
        /// UNIQ_KEY.
        msg_id: opt String = "msgId",
        /// Transaction id.
        transaction_id: opt String = "transactionId",
        /// Offset msgId.
        offset_msg_id: opt String = "offsetMsgId",
        /// Broker name (4.9.5+).
        bname: opt String = "bname",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: "pg".into(),
            topic: "TopicTest".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 1,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            flag: 0,
            properties: Some("TAGS\u{1}a\u{2}WAIT\u{1}true".into()),
            reconsume_times: Some(0),
            unit_mode: false,
            batch: false,
            max_reconsume_times: None,
            bname: None,
        }
    }

    #[test]
    fn v2_uses_short_names_and_round_trips() {
        let v2 = SendMessageRequestHeaderV2(sample());
        let ext = v2.to_ext_fields();
        assert_eq!(ext.get("b").map(String::as_str), Some("TopicTest"));
        assert_eq!(ext.get("g").map(String::as_str), Some("1700000000000"));
        assert_eq!(ext.get("m").map(String::as_str), Some("false"));
        assert!(!ext.contains_key("topic"));
        assert_eq!(
            SendMessageRequestHeaderV2::from_ext_fields(&ext).ok(),
            Some(v2)
        );
    }

    #[test]
    fn from_request_picks_the_names_by_code() {
        let v1 = RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE, &sample());
        let v2 = RemotingCommand::request_with_header(
            RequestCode::SEND_MESSAGE_V2,
            &SendMessageRequestHeaderV2(sample()),
        );
        assert_eq!(
            SendMessageRequestHeader::from_request(&v1).ok(),
            Some(sample())
        );
        assert_eq!(
            SendMessageRequestHeader::from_request(&v2).ok(),
            Some(sample())
        );
    }
}
