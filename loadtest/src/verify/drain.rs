//! Waiting for the queue to drain: the consumer group's lag on the order topic (and on its
//! `%RETRY%` topic) is 0 and no result in Redis is still `PENDING` — every queued order was
//! written or refused. Offsets are committed every few seconds, so lag 0 can trail the last
//! write by that long.

use std::time::{Duration, Instant};

use mq_core::client::{Admin, ClientError};
use redis::aio::MultiplexedConnection;
use serde::Serialize;

use super::facts;
use crate::error::Result;

/// Pause between two looks.
const POLL: Duration = Duration::from_millis(500);

/// How the wait ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainReport {
    /// Whether the broker was asked at all (`--no-drain` skips it).
    pub checked: bool,
    /// Lag 0 and nothing pending.
    pub drained: bool,
    /// Consumer lag at the last look (order topic + retry topic).
    pub lag: i64,
    /// `PENDING` results at the last look.
    pub pending: u64,
    /// Seconds waited.
    pub waited_secs: f64,
    /// The last error from the broker while waiting, if the last look failed.
    pub last_error: Option<String>,
}

impl DrainReport {
    /// The report when draining was not checked.
    pub fn skipped() -> Self {
        Self {
            checked: false,
            drained: false,
            lag: 0,
            pending: 0,
            waited_secs: 0.0,
            last_error: None,
        }
    }
}

/// The group's total lag on `topic` and on the group's other topics (its retry topic).
pub async fn total_lag(admin: &Admin, group: &str, topic: &str) -> Result<i64, ClientError> {
    let mut lag = match admin.consumer_progress(group, Some(topic)).await {
        Ok(queues) => queues.iter().map(|q| q.lag).sum(),
        // Nothing was ever sent: no route, nothing to drain.
        Err(ClientError::NoRoute { .. }) => 0,
        Err(e) => return Err(e),
    };
    let others = admin.consumer_progress(group, None).await?;
    lag += others
        .iter()
        .filter(|q| q.mq.topic != topic)
        .map(|q| q.lag)
        .sum::<i64>();
    Ok(lag)
}

/// Polls until drained or `timeout`; a broker error (one restarting) is retried until then.
pub async fn wait_drained(
    namesrv: &str,
    group: &str,
    topic: &str,
    redis: &mut MultiplexedConnection,
    prefix: &str,
    goods: &[i64],
    timeout: Duration,
) -> Result<DrainReport> {
    let started = Instant::now();
    let admin = Admin::connect(namesrv).await?;
    loop {
        let (lag, last_error) = match total_lag(&admin, group, topic).await {
            Ok(lag) => (Some(lag), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let pending = facts::pending(redis, prefix, goods).await?;
        let drained = lag == Some(0) && pending == 0;
        if drained || started.elapsed() >= timeout {
            return Ok(DrainReport {
                checked: true,
                drained,
                lag: lag.unwrap_or(-1),
                pending,
                waited_secs: started.elapsed().as_secs_f64(),
                last_error,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
