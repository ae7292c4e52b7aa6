//! Dead letters: listing a group's `%DLQ%<group>` and resending them for another round of
//! consumption.
//!
//! A resent message goes to `%RETRY%<group>`, not to its original topic: only the group that
//! failed it sees it again (other groups consumed it already), with `RETRY_TOPIC` set so the
//! consumer restores the original topic, and a fresh reconsume count.

use super::Admin;
use crate::client::error::ClientResult;
use crate::client::message::{Message, MessageExt};
use crate::client::producer::Producer;
use crate::client::pull_result::PullStatus;
use crate::client::push_consumer::{DLQ_PREFIX, RETRY_PREFIX};
use crate::client::send_result::SendResult;
use crate::protocol::message::{
    PROPERTY_KEYS, PROPERTY_RETRY_TOPIC, PROPERTY_TAGS, PROPERTY_UNIQ_KEY,
};

/// Properties the broker or the producer sets; never copied into a resent message.
const SYSTEM_PROPERTIES: &[&str] = &[
    PROPERTY_UNIQ_KEY,
    PROPERTY_TAGS,
    PROPERTY_KEYS,
    "DELAY",
    "WAIT",
    "REAL_TOPIC",
    "REAL_QID",
    "CLUSTER",
    "MIN_OFFSET",
    "MAX_OFFSET",
    "RECONSUME_TIME",
    "MAX_RECONSUME_TIMES",
    "CONSUME_START_TIME",
];

impl Admin {
    /// Up to `max` messages in `%DLQ%<group>`, oldest first.
    pub async fn dlq_messages(&self, group: &str, max: usize) -> ClientResult<Vec<MessageExt>> {
        let topic = format!("{DLQ_PREFIX}{group}");
        let mut out = Vec::new();
        for mq in self.queues(&topic).await? {
            let mut offset = self.min_offset(&mq).await?;
            while out.len() < max {
                let batch = i32::try_from((max - out.len()).min(32)).unwrap_or(32);
                let result = self.read_queue(&mq, offset, batch).await?;
                if result.status != PullStatus::Found || result.messages.is_empty() {
                    break;
                }
                offset = result.next_begin_offset;
                out.extend(result.messages);
            }
        }
        Ok(out)
    }

    /// Resends dead letters of `group` (all of them, or those whose msgId is in `msg_ids`) to
    /// `%RETRY%<group>`; returns each resent original msgId with its new send result.
    pub async fn resend_dlq(
        &self,
        group: &str,
        msg_ids: &[String],
    ) -> ClientResult<Vec<(String, SendResult)>> {
        let dead = self.dlq_messages(group, usize::MAX).await?;
        let producer = Producer::builder("TOOLS_RESEND_PRODUCER")
            .namesrv_addr(&self.namesrv)
            .start()
            .await?;
        let mut out = Vec::new();
        for msg in dead.into_iter().filter(|m| {
            msg_ids.is_empty() || msg_ids.contains(&m.msg_id) || msg_ids.contains(&m.offset_msg_id)
        }) {
            let mut again = Message::new(format!("{RETRY_PREFIX}{group}"), msg.body.clone())
                .with_keys(msg.keys.clone())
                .with_flag(msg.flag);
            again.tag = msg.tag.clone();
            for (k, v) in &msg.properties {
                if !SYSTEM_PROPERTIES.contains(&k.as_str()) {
                    again.properties.insert(k.clone(), v.clone());
                }
            }
            let original = msg
                .property(PROPERTY_RETRY_TOPIC)
                .map_or_else(|| msg.topic.clone(), str::to_owned);
            again
                .properties
                .insert(PROPERTY_RETRY_TOPIC.into(), original);
            let result = producer.send(again).await?;
            out.push((msg.msg_id, result));
        }
        producer.shutdown().await;
        Ok(out)
    }
}
