//! Checks made before anything is sent, with RocketMQ's rules (`Validators`, `TopicValidator`):
//! names of `[%|a-zA-Z0-9_-]`, topics ≤ 127 characters, groups ≤ 255, non-empty bodies within
//! the size limit, and no sends to the broker's internal topics.

use super::error::{ClientError, ClientResult};
use super::message::Message;
use super::route::AUTO_CREATE_TOPIC;
use crate::protocol::message::MAX_TOPIC_LEN;

/// Longest group name RocketMQ accepts.
pub const MAX_GROUP_LEN: usize = 255;

/// Topics the broker keeps for itself; producers may not send to them.
const NOT_ALLOWED_SEND_TOPICS: &[&str] = &[
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

fn valid_chars(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

/// A topic name as RocketMQ accepts it.
pub fn check_topic(topic: &str) -> ClientResult<()> {
    let invalid = |why: &str| {
        Err(ClientError::InvalidArgument(format!(
            "topic {topic:?} {why}"
        )))
    };
    if topic.trim().is_empty() {
        return invalid("is blank");
    }
    if topic.len() > MAX_TOPIC_LEN {
        return invalid("is longer than 127 characters");
    }
    if !valid_chars(topic) {
        return invalid("contains characters other than [%|a-zA-Z0-9_-]");
    }
    Ok(())
}

/// A group name as RocketMQ accepts it.
pub fn check_group(group: &str) -> ClientResult<()> {
    let invalid = |why: &str| {
        Err(ClientError::InvalidArgument(format!(
            "group {group:?} {why}"
        )))
    };
    if group.trim().is_empty() {
        return invalid("is blank");
    }
    if group.len() > MAX_GROUP_LEN {
        return invalid("is longer than 255 characters");
    }
    if !valid_chars(group) {
        return invalid("contains characters other than [%|a-zA-Z0-9_-]");
    }
    Ok(())
}

/// A message a producer may send: valid topic, not an internal topic, body 1..=max bytes.
pub fn check_message(msg: &Message, max_message_size: usize) -> ClientResult<()> {
    check_topic(&msg.topic)?;
    if msg.topic == AUTO_CREATE_TOPIC || NOT_ALLOWED_SEND_TOPICS.contains(&msg.topic.as_str()) {
        return Err(ClientError::InvalidArgument(format!(
            "topic {} is reserved by the broker",
            msg.topic
        )));
    }
    if msg.body.is_empty() {
        return Err(ClientError::InvalidArgument(
            "the message body is empty".into(),
        ));
    }
    if msg.body.len() > max_message_size {
        return Err(ClientError::MessageTooLarge {
            size: msg.body.len(),
            max: max_message_size,
        });
    }
    if !(0..=i32::from(u8::MAX)).contains(&msg.delay_level) {
        return Err(ClientError::InvalidArgument(format!(
            "delay level {} is out of range",
            msg.delay_level
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_rules_follow_rocketmq() {
        assert!(check_topic("Topic_A-1%|x").is_ok());
        assert!(check_topic("").is_err());
        assert!(check_topic("has space").is_err());
        assert!(check_topic("dot.ted").is_err());
        assert!(check_topic(&"t".repeat(127)).is_ok());
        assert!(check_topic(&"t".repeat(128)).is_err());
    }

    #[test]
    fn messages_are_checked_for_size_and_reserved_topics() {
        let ok = Message::new("T", "x");
        assert!(check_message(&ok, 4).is_ok());
        assert!(matches!(
            check_message(&Message::new("T", "12345"), 4),
            Err(ClientError::MessageTooLarge { size: 5, max: 4 })
        ));
        assert!(matches!(
            check_message(&Message::new("T", ""), 4),
            Err(ClientError::InvalidArgument(_))
        ));
        assert!(check_message(&Message::new("SCHEDULE_TOPIC_XXXX", "x"), 4).is_err());
    }
}
