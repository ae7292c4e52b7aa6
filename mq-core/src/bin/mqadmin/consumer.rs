//! Consumer-group commands: `consumerProgress`, `consumerConnection` (with each client's
//! subscriptions and their conflicts), `resetOffsetByTime`.

use anyhow::Context;
use clap::Args;
use mq_core::client::Admin;
use mq_core::protocol::body::subscription_conflict::expression;
use serde_json::json;

use crate::output::Output;

#[derive(Debug, Args)]
pub struct ConsumerProgress {
    /// Consumer group.
    #[arg(short = 'g', long = "groupName")]
    group: String,
    /// Only this topic.
    #[arg(short = 't', long = "topicName")]
    topic: Option<String>,
}

impl ConsumerProgress {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Output> {
        let progress = admin
            .consumer_progress(&self.group, self.topic.as_deref())
            .await?;
        let total: i64 = progress.iter().map(|q| q.lag).sum();
        let mut text = format!(
            "{:<40} {:<24} {:<4} {:<16} {:<16} {}\n",
            "#Topic", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Diff"
        );
        for q in &progress {
            text.push_str(&format!(
                "{:<40} {:<24} {:<4} {:<16} {:<16} {}\n",
                q.mq.topic,
                q.mq.broker_name,
                q.mq.queue_id,
                q.broker_offset,
                q.consumer_offset,
                q.lag
            ));
        }
        text.push_str(&format!("\nDiff Total: {total}\n"));
        Ok(Output::new(
            json!({ "group": self.group, "queues": progress, "diffTotal": total }),
            text,
        ))
    }
}

#[derive(Debug, Args)]
pub struct ConsumerConnection {
    /// Consumer group.
    #[arg(short = 'g', long = "consumerGroup")]
    group: String,
}

impl ConsumerConnection {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Output> {
        let info = admin.consumer_connection(&self.group).await?;
        let mut text = format!(
            "{:<4} {:<40} {:<24} {:<8} {}\n",
            "#", "#ClientId", "#ClientAddr", "#Language", "#Version"
        );
        for (i, c) in info.connections.iter().enumerate() {
            text.push_str(&format!(
                "{:<4} {:<40} {:<24} {:<8} {}\n",
                i + 1,
                c.client_id,
                c.client_addr,
                c.language,
                c.version
            ));
        }
        text.push_str("\nBelow is subscription:\n");
        for (topic, sub) in &info.subscriptions {
            text.push_str(&format!(
                "Topic: {topic:<40} SubExpression: {}\n",
                sub.sub_string
            ));
        }
        if !info.subscriptions_by_client.is_empty() {
            text.push_str(&format!(
                "\nBelow is subscription by client:\n{:<40} {:<40} {}\n",
                "#ClientId", "#Topic", "#SubExpression"
            ));
            for (client, subs) in &info.subscriptions_by_client {
                for (topic, sub) in subs {
                    text.push_str(&format!("{client:<40} {topic:<40} {}\n", expression(sub)));
                }
            }
        }
        text.push_str(&format!(
            "\nConsumeType: {}\nMessageModel: {}\n",
            info.consume_type, info.message_model
        ));
        if !info.conflicts.is_empty() {
            // Queues are shared out regardless of subscription: each instance skips what its
            // own expression filters out, so the group as a whole loses those messages.
            text.push_str(
                "\nWARNING: subscription conflict: instances of this group subscribe differently\n",
            );
            for conflict in &info.conflicts {
                text.push_str(&format!("  {conflict}\n"));
            }
        } else if !info.subscriptions_consistent {
            text.push_str("WARNING: instances of this group subscribe differently\n");
        }
        Ok(Output::new(serde_json::to_value(&info)?, text))
    }
}

#[derive(Debug, Args)]
pub struct ResetOffsetByTime {
    /// Consumer group.
    #[arg(short = 'g', long = "group")]
    group: String,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// When: ms since the epoch, `yyyy-MM-dd#HH:mm:ss:SSS` (UTC), `now`, `earliest` or `latest`.
    #[arg(short = 's', long = "timestamp", allow_hyphen_values = true)]
    timestamp: String,
    /// Also move offsets forward (RocketMQ's default).
    #[arg(short = 'f', long = "force", default_value_t = true, action = clap::ArgAction::Set)]
    force: bool,
}

impl ResetOffsetByTime {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Output> {
        let ts = parse_time(&self.timestamp)
            .with_context(|| format!("bad timestamp {:?}", self.timestamp))?;
        let result = admin
            .reset_offset_by_time(&self.group, &self.topic, ts, self.force)
            .await?;
        let mut text = format!("{:<32} {:<4} {}\n", "#brokerName", "#queueId", "#offset");
        for (mq, offset) in &result.offsets {
            text.push_str(&format!(
                "{:<32} {:<4} {}\n",
                mq.broker_name, mq.queue_id, offset
            ));
        }
        let offsets: Vec<_> = result
            .offsets
            .iter()
            .map(|(mq, o)| json!({ "brokerName": mq.broker_name, "queueId": mq.queue_id, "offset": o }))
            .collect();
        Ok(Output::new(
            json!({ "group": self.group, "topic": self.topic, "timestamp": ts, "offsets": offsets, "consumersNotified": result.consumers_notified }),
            text,
        ))
    }
}

/// Milliseconds for a `-s` value; -1 means the end of each queue.
fn parse_time(s: &str) -> anyhow::Result<i64> {
    match s {
        "now" => Ok(now_ms()),
        "earliest" => Ok(0),
        "latest" => Ok(-1),
        _ => {
            if let Ok(ms) = s.parse::<i64>() {
                return Ok(ms);
            }
            // yyyy-MM-dd#HH:mm:ss:SSS
            let (date, time) = s
                .split_once('#')
                .context("expected yyyy-MM-dd#HH:mm:ss:SSS")?;
            let d: Vec<i64> = date.split('-').map(str::parse).collect::<Result<_, _>>()?;
            let t: Vec<i64> = time.split(':').map(str::parse).collect::<Result<_, _>>()?;
            anyhow::ensure!(
                d.len() == 3 && t.len() == 4,
                "expected yyyy-MM-dd#HH:mm:ss:SSS"
            );
            let days = days_from_civil(d[0], d[1], d[2]);
            Ok(((days * 24 + t[0]) * 60 + t[1]) * 60_000 + t[2] * 1000 + t[3])
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rocketmq_time_formats() {
        assert_eq!(parse_time("1700000000000").ok(), Some(1_700_000_000_000));
        assert_eq!(parse_time("1970-01-02#00:00:01:005").ok(), Some(86_401_005));
        assert_eq!(
            parse_time("2024-03-01#00:00:00:000").ok(),
            Some(1_709_251_200_000)
        );
        assert_eq!(parse_time("latest").ok(), Some(-1));
        assert!(parse_time("yesterday").is_err());
    }
}
