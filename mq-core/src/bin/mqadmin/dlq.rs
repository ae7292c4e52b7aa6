//! Dead-letter commands: `queryDlq` prints `%DLQ%<group>`, `resendDlq` sends its messages
//! back to `%RETRY%<group>` for another round.

use clap::Args;
use mq_core::client::Admin;
use serde_json::json;

use crate::output::{Output, messages};

#[derive(Debug, Args)]
pub struct QueryDlq {
    /// Consumer group.
    #[arg(short = 'g', long = "consumerGroup")]
    group: String,
    /// Most messages to print.
    #[arg(short = 'c', long = "messageNumber", default_value_t = 128)]
    count: usize,
}

impl QueryDlq {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Output> {
        Ok(messages(
            &admin.dlq_messages(&self.group, self.count).await?,
        ))
    }
}

#[derive(Debug, Args)]
pub struct ResendDlq {
    /// Consumer group.
    #[arg(short = 'g', long = "consumerGroup")]
    group: String,
    /// Only these msgIds (comma-separated); default every dead letter.
    #[arg(short = 'i', long = "msgId")]
    msg_ids: Option<String>,
}

impl ResendDlq {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Output> {
        let ids: Vec<String> = self
            .msg_ids
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let resent = admin.resend_dlq(&self.group, &ids).await?;
        let mut text = format!(
            "resent {} message(s) to %RETRY%{}\n",
            resent.len(),
            self.group
        );
        for (id, r) in &resent {
            text.push_str(&format!(
                "{id} -> {} (queue {} offset {})\n",
                r.msg_id, r.queue.queue_id, r.queue_offset
            ));
        }
        let items: Vec<_> = resent
            .iter()
            .map(|(id, r)| json!({ "msgId": id, "newMsgId": r.msg_id, "queueId": r.queue.queue_id, "queueOffset": r.queue_offset }))
            .collect();
        Ok(Output::new(
            json!({ "group": self.group, "resent": items }),
            text,
        ))
    }
}
