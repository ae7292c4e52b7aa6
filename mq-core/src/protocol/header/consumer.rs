//! Consumer-side headers: consumer lists, client unregistration, send-back for retry,
//! membership-change notification, running info.

use super::command_header;

command_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38) request (`GetConsumerListByGroupRequestHeader`).
    pub struct GetConsumerListByGroupRequestHeader {
        /// Consumer group.
        consumer_group: req String = "consumerGroup",
    }
}

command_header! {
    /// UNREGISTER_CLIENT (35) request (`UnregisterClientRequestHeader`); note `clientID`.
    pub struct UnregisterClientRequestHeader {
        /// Client id (`ip@instance`).
        client_id: req String = "clientID",
        /// Producer group being left.
        producer_group: opt String = "producerGroup",
        /// Consumer group being left.
        consumer_group: opt String = "consumerGroup",
    }
}

command_header! {
    /// CONSUMER_SEND_MSG_BACK (36) request (`ConsumerSendMsgBackRequestHeader`).
    pub struct ConsumerSendMsgBackRequestHeader {
        /// Commit-log offset of the consumed message.
        offset: req i64 = "offset",
        /// Consumer group.
        group: req String = "group",
        /// 0 = broker picks 3 + reconsumeTimes; < 0 = straight to the DLQ.
        delay_level: req i32 = "delayLevel",
        /// The message's original msgId.
        origin_msg_id: opt String = "originMsgId",
        /// The message's original topic.
        origin_topic: opt String = "originTopic",
        /// Unit mode.
        unit_mode: flag bool = "unitMode",
        /// Retries before the DLQ.
        max_reconsume_times: opt i32 = "maxReconsumeTimes",
        /// Broker name (4.9.5+).
        bname: opt String = "bname",
    }
}

command_header! {
    /// NOTIFY_CONSUMER_IDS_CHANGED (40, broker → client, oneway) request.
    pub struct NotifyConsumerIdsChangedRequestHeader {
        /// Consumer group whose membership changed.
        consumer_group: req String = "consumerGroup",
    }
}

command_header! {
    /// GET_CONSUMER_RUNNING_INFO (307) request (`GetConsumerRunningInfoRequestHeader`).
    pub struct GetConsumerRunningInfoRequestHeader {
        /// Consumer group.
        consumer_group: req String = "consumerGroup",
        /// Client id.
        client_id: req String = "clientId",
        /// Include a thread dump.
        jstack_enable: flag bool = "jstackEnable",
    }
}
