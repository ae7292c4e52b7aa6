//! What a command prints: a JSON document for `--json`, or text for people.

use mq_core::client::MessageExt;
use serde_json::{Value, json};

/// A command's result in both forms.
#[derive(Debug)]
pub struct Output {
    pub json: Value,
    pub text: String,
}

impl Output {
    pub fn new(json: Value, text: String) -> Self {
        Self { json, text }
    }

    pub fn print(&self, json: bool) {
        if json {
            println!("{}", self.json);
        } else {
            print!("{}", self.text);
            if !self.text.ends_with('\n') {
                println!();
            }
        }
    }
}

/// A message as JSON (body as UTF-8 when it is, else lossy).
pub fn message_json(m: &MessageExt) -> Value {
    json!({
        "msgId": m.msg_id,
        "offsetMsgId": m.offset_msg_id,
        "topic": m.topic,
        "brokerName": m.broker_name,
        "queueId": m.queue_id,
        "queueOffset": m.queue_offset,
        "commitLogOffset": m.commit_log_offset,
        "tag": m.tag,
        "keys": m.keys,
        "properties": m.properties,
        "bornTimestamp": m.born_timestamp,
        "storeTimestamp": m.store_timestamp,
        "reconsumeTimes": m.reconsume_times,
        "body": String::from_utf8_lossy(&m.body),
    })
}

/// A message as RocketMQ's `queryMsgById` prints it.
pub fn message_text(m: &MessageExt) -> String {
    format!(
        "{:<20} {}\n{:<20} {}\n{:<20} {}\n{:<20} {}\n{:<20} {}\n{:<20} {}\n{:<20} {}\n{:<20} {}\n{:<20} {}\n{:<20} {}\n{:<20} {}\n",
        "OffsetID:",
        m.offset_msg_id,
        "MsgId:",
        m.msg_id,
        "Topic:",
        m.topic,
        "Tags:",
        m.tag.as_deref().unwrap_or(""),
        "Keys:",
        m.keys.join(" "),
        "Queue ID:",
        m.queue_id,
        "Queue Offset:",
        m.queue_offset,
        "Broker Name:",
        m.broker_name,
        "Store Timestamp:",
        m.store_timestamp,
        "Reconsume Times:",
        m.reconsume_times,
        "Message Body:",
        String::from_utf8_lossy(&m.body),
    )
}

/// Several messages, separated by blank lines.
pub fn messages(msgs: &[MessageExt]) -> Output {
    let json = Value::Array(msgs.iter().map(message_json).collect());
    let text = if msgs.is_empty() {
        "no message found\n".to_owned()
    } else {
        msgs.iter().map(message_text).collect::<Vec<_>>().join("\n")
    };
    Output::new(json, text)
}
