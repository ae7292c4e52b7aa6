//! Message commands: `sendMessage`, `consumeMessage`, `queryMsgById`, `queryMsgByKey`,
//! `queryMsgByUniqueKey`.

use anyhow::Context;
use clap::Args;
use mq_core::client::{Admin, Message, MessageQueue, Producer, PullStatus};
use serde_json::json;

use crate::output::{Output, messages};

#[derive(Debug, Args)]
pub struct SendMessage {
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Message body.
    #[arg(short = 'p', long = "body")]
    body: String,
    /// Message keys (space-separated for several).
    #[arg(short = 'k', long = "keys")]
    keys: Option<String>,
    /// Message tag.
    #[arg(short = 'c', long = "tags")]
    tags: Option<String>,
    /// Send to this broker (with -i).
    #[arg(short = 'b', long = "broker")]
    broker: Option<String>,
    /// Send to this queue id (with -b).
    #[arg(short = 'i', long = "qid")]
    queue_id: Option<i32>,
}

impl SendMessage {
    pub async fn run(self, _admin: &Admin, namesrv: &str) -> anyhow::Result<Output> {
        let producer = Producer::builder("TOOLS_SEND_PRODUCER")
            .namesrv_addr(namesrv)
            .start()
            .await?;
        let mut msg = Message::new(&self.topic, self.body.into_bytes());
        if let Some(tag) = self.tags {
            msg = msg.with_tag(tag);
        }
        if let Some(keys) = self.keys {
            msg = msg.with_keys(keys.split_whitespace().map(str::to_owned));
        }
        let result = match (self.broker, self.queue_id) {
            (Some(broker), Some(qid)) => {
                let mq = MessageQueue::new(&self.topic, broker, qid);
                producer.send_to_queue(msg, mq).await?
            }
            (None, None) => producer.send(msg).await?,
            _ => anyhow::bail!("-b and -i go together"),
        };
        producer.shutdown().await;
        let text = format!(
            "{:<32} {:<4} {:<16} {}\n{:<32} {:<4} {:<16} {}\n",
            "#Broker Name",
            "#QID",
            "#Send Result",
            "#MsgId",
            result.queue.broker_name,
            result.queue.queue_id,
            format!("{:?}", result.status),
            result.msg_id
        );
        let value = json!({
            "status": format!("{:?}", result.status),
            "msgId": result.msg_id,
            "offsetMsgId": result.offset_msg_id,
            "brokerName": result.queue.broker_name,
            "queueId": result.queue.queue_id,
            "queueOffset": result.queue_offset,
        });
        Ok(Output::new(value, text))
    }
}

#[derive(Debug, Args)]
pub struct ConsumeMessage {
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Only this broker.
    #[arg(short = 'b', long = "brokerName")]
    broker: Option<String>,
    /// Only this queue id.
    #[arg(short = 'i', long = "queueId")]
    queue_id: Option<i32>,
    /// Start offset (default: each queue's min offset).
    #[arg(short = 'o', long = "offset")]
    offset: Option<i64>,
    /// Most messages to print.
    #[arg(short = 'c', long = "messageNumber", default_value_t = 128)]
    count: usize,
}

impl ConsumeMessage {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Output> {
        let queues: Vec<MessageQueue> = admin
            .queues(&self.topic)
            .await?
            .into_iter()
            .filter(|q| self.broker.as_ref().is_none_or(|b| *b == q.broker_name))
            .filter(|q| self.queue_id.is_none_or(|i| i == q.queue_id))
            .collect();
        anyhow::ensure!(!queues.is_empty(), "no such queue of topic {}", self.topic);
        let mut out = Vec::new();
        for mq in queues {
            let mut offset = match self.offset {
                Some(o) => o,
                None => admin.min_offset(&mq).await?,
            };
            while out.len() < self.count {
                let want = i32::try_from((self.count - out.len()).min(32)).unwrap_or(32);
                let result = admin.read_queue(&mq, offset, want).await?;
                if result.status != PullStatus::Found || result.messages.is_empty() {
                    break;
                }
                offset = result.next_begin_offset;
                out.extend(result.messages);
            }
        }
        Ok(messages(&out))
    }
}

#[derive(Debug, Args)]
pub struct QueryMsgById {
    /// Offset msgId(s), comma-separated.
    #[arg(short = 'i', long = "msgId")]
    msg_id: String,
}

impl QueryMsgById {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Output> {
        let mut found = Vec::new();
        for id in self
            .msg_id
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            found.push(
                admin
                    .query_msg_by_id(id)
                    .await
                    .with_context(|| format!("msgId {id}"))?,
            );
        }
        Ok(messages(&found))
    }
}

#[derive(Debug, Args)]
pub struct QueryMsgByKey {
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Key.
    #[arg(short = 'k', long = "msgKey")]
    key: String,
    /// Most messages per broker.
    #[arg(short = 'c', long = "maxNum", default_value_t = 64)]
    max: i32,
}

impl QueryMsgByKey {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Output> {
        Ok(messages(
            &admin
                .query_msg_by_key(&self.topic, &self.key, self.max)
                .await?,
        ))
    }
}

#[derive(Debug, Args)]
pub struct QueryMsgByUniqueKey {
    /// The producer's msgId (UNIQ_KEY).
    #[arg(short = 'i', long = "msgId")]
    msg_id: String,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
}

impl QueryMsgByUniqueKey {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Output> {
        Ok(messages(
            &admin
                .query_msg_by_unique_key(&self.topic, &self.msg_id)
                .await?,
        ))
    }
}
