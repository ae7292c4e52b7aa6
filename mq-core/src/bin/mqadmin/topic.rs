//! Topic commands: `topicList`, `topicRoute`, `updateTopic`, `topicStatus`.

use clap::Args;
use mq_core::client::{Admin, TopicSpec};
use serde_json::json;

use crate::output::Output;

#[derive(Debug, Args)]
pub struct TopicList {}

impl TopicList {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Output> {
        let topics = admin.topic_list().await?;
        let text = topics.join("\n");
        Ok(Output::new(json!({ "topics": topics }), text))
    }
}

#[derive(Debug, Args)]
pub struct TopicRoute {
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
}

impl TopicRoute {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Output> {
        let route = admin.topic_route(&self.topic).await?;
        let value = serde_json::to_value(&route)?;
        let text = serde_json::to_string_pretty(&route)?;
        Ok(Output::new(value, text))
    }
}

#[derive(Debug, Args)]
pub struct UpdateTopic {
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Read queue count.
    #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
    read_queue_nums: i32,
    /// Write queue count.
    #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
    write_queue_nums: i32,
    /// Read and write queue count at once (overrides -r and -w).
    #[arg(short = 'q', long = "queues")]
    queues: Option<i32>,
    /// Permission bits (6 = read + write, 4 = read only, 2 = write only).
    #[arg(short = 'p', long = "perm", default_value_t = 6)]
    perm: i32,
    /// Ordered topic.
    #[arg(short = 'o', long = "order", default_value_t = false)]
    order: bool,
    /// Only on this broker (`host:port`).
    #[arg(short = 'b', long = "brokerAddr")]
    broker_addr: Option<String>,
    /// Only on this cluster's masters.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

impl UpdateTopic {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Output> {
        let mut spec = TopicSpec::new(&self.topic, self.queues.unwrap_or(self.write_queue_nums));
        spec.read_queue_nums = self.queues.unwrap_or(self.read_queue_nums);
        spec.perm = self.perm;
        spec.order = self.order;
        spec.broker_addr = self.broker_addr;
        spec.cluster = self.cluster;
        admin.create_topic_with(&spec).await?;
        let text = format!(
            "create topic to broker(s) success.\nTopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, order={}]\n",
            spec.topic, spec.read_queue_nums, spec.write_queue_nums, spec.perm, spec.order
        );
        let value = json!({
            "topic": spec.topic,
            "readQueueNums": spec.read_queue_nums,
            "writeQueueNums": spec.write_queue_nums,
            "perm": spec.perm,
            "order": spec.order,
        });
        Ok(Output::new(value, text))
    }
}

#[derive(Debug, Args)]
pub struct TopicStatus {
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
}

impl TopicStatus {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Output> {
        let queues = admin.topic_status(&self.topic).await?;
        let mut text = format!(
            "{:<32} {:<4} {:<18} {:<18} {}\n",
            "#Broker Name", "#QID", "#Min Offset", "#Max Offset", "#Last Updated"
        );
        for q in &queues {
            text.push_str(&format!(
                "{:<32} {:<4} {:<18} {:<18} {}\n",
                q.mq.broker_name, q.mq.queue_id, q.min, q.max, q.last_update
            ));
        }
        Ok(Output::new(
            json!({ "topic": self.topic, "queues": queues }),
            text,
        ))
    }
}
