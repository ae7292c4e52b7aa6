//! Admin headers: topic create/delete/stats, consumer connections and consume stats.

use super::command_header;

command_header! {
    /// UPDATE_AND_CREATE_TOPIC (17) request (`CreateTopicRequestHeader`).
    pub struct CreateTopicRequestHeader {
        /// Topic.
        topic: req String = "topic",
        /// Template topic (normally `TBW102`).
        default_topic: req String = "defaultTopic",
        /// Read queue count.
        read_queue_nums: req i32 = "readQueueNums",
        /// Write queue count.
        write_queue_nums: req i32 = "writeQueueNums",
        /// `PermName` bits (READ 4 | WRITE 2).
        perm: req i32 = "perm",
        /// `SINGLE_TAG` or `MULTI_TAG`.
        topic_filter_type: req String = "topicFilterType",
        /// `TopicSysFlag` bits.
        topic_sys_flag: opt i32 = "topicSysFlag",
        /// Ordered topic.
        order: req bool = "order",
    }
}

command_header! {
    /// DELETE_TOPIC_IN_BROKER (215) and GET_TOPIC_STATS_INFO (202) request
    /// (`DeleteTopicRequestHeader`, `GetTopicStatsInfoRequestHeader`: one `topic` field).
    pub struct TopicRequestHeader {
        /// Topic.
        topic: req String = "topic",
    }
}

command_header! {
    /// GET_CONSUMER_CONNECTION_LIST (203) request (`GetConsumerConnectionListRequestHeader`).
    pub struct GetConsumerConnectionListRequestHeader {
        /// Consumer group.
        consumer_group: req String = "consumerGroup",
    }
}

command_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204) request (`GetProducerConnectionListRequestHeader`).
    pub struct GetProducerConnectionListRequestHeader {
        /// Producer group.
        producer_group: req String = "producerGroup",
    }
}

command_header! {
    /// GET_CONSUME_STATS (208) request (`GetConsumeStatsRequestHeader`).
    pub struct GetConsumeStatsRequestHeader {
        /// Consumer group.
        consumer_group: req String = "consumerGroup",
        /// One topic; absent = every subscribed topic.
        topic: opt String = "topic",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::CommandHeader;

    #[test]
    fn create_topic_header_round_trips() {
        let header = CreateTopicRequestHeader {
            topic: "T".into(),
            default_topic: "TBW102".into(),
            read_queue_nums: 8,
            write_queue_nums: 8,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
        };
        let ext = header.to_ext_fields();
        assert_eq!(ext.len(), 8);
        assert_eq!(
            CreateTopicRequestHeader::from_ext_fields(&ext).ok(),
            Some(header)
        );
    }
}
