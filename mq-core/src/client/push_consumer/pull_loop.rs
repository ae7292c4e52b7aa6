//! One long-polling pull loop per owned queue: pull from the broker (which holds an empty pull
//! until a message arrives or the suspend timeout), confirm the tag on the client, hand the
//! messages to the process queue and the workers, and pause while the local backlog is over
//! the flow-control thresholds.

use std::sync::Arc;
use std::time::Duration;

use super::process_queue::ProcessQueue;
use super::{ConsumerInner, RETRY_PREFIX};
use crate::client::error::ClientError;
use crate::client::message::MessageExt;
use crate::client::pull_result::PullStatus;
use crate::protocol::body::heartbeat::MessageModel;
use crate::protocol::header::pull::{
    PULL_FLAG_COMMIT_OFFSET, PULL_FLAG_SUBSCRIPTION, PULL_FLAG_SUSPEND, PullMessageRequestHeader,
};
use crate::protocol::message::PROPERTY_RETRY_TOPIC;

/// How long a flow-controlled queue waits before looking at its backlog again.
const FLOW_CONTROL_PAUSE: Duration = Duration::from_millis(50);
/// Added to the suspend time for the request timeout (RocketMQ: 15 s suspend, 30 s timeout).
const PULL_TIMEOUT_MARGIN: Duration = Duration::from_secs(15);

impl ConsumerInner {
    /// Pulls `pq`'s queue from `offset` until the queue is dropped or the consumer stops.
    pub(crate) async fn pull_loop(self: Arc<Self>, pq: Arc<ProcessQueue>, mut offset: i64) {
        let Some(sub) = self.subscriptions.get(&pq.mq.topic).cloned() else {
            return;
        };
        let clustering = self.settings.message_model == MessageModel::Clustering;
        let timeout = self.settings.suspend_timeout + PULL_TIMEOUT_MARGIN;
        let mut flow_controlled = 0u64;
        loop {
            if pq.cancel.is_cancelled() {
                break;
            }
            if pq.count() >= self.settings.pull_threshold_for_queue
                || pq.bytes() >= self.settings.pull_threshold_size_for_queue
            {
                flow_controlled += 1;
                if flow_controlled % 1000 == 1 {
                    tracing::debug!(queue = ?pq.mq, count = pq.count(), bytes = pq.bytes(), "flow control: pull paused");
                }
                if self.pause(&pq, FLOW_CONTROL_PAUSE).await {
                    break;
                }
                continue;
            }
            if self.is_orderly_clustering() && !pq.is_locked() {
                if self.pause(&pq, Duration::from_millis(200)).await {
                    break;
                }
                continue;
            }
            let commit_offset = if clustering {
                self.offsets.get(&pq.mq).unwrap_or(0)
            } else {
                0
            };
            let mut sys_flag = PULL_FLAG_SUSPEND | PULL_FLAG_SUBSCRIPTION;
            if commit_offset > 0 {
                sys_flag |= PULL_FLAG_COMMIT_OFFSET;
            }
            let header = PullMessageRequestHeader {
                consumer_group: self.group.clone(),
                topic: pq.mq.topic.clone(),
                queue_id: pq.mq.queue_id,
                queue_offset: offset,
                max_msg_nums: self.settings.pull_batch_size,
                sys_flag,
                commit_offset,
                suspend_timeout_millis: i64::try_from(self.settings.suspend_timeout.as_millis())
                    .unwrap_or(i64::MAX),
                subscription: Some(sub.data.sub_string.clone()),
                sub_version: sub.data.sub_version,
                expression_type: Some(sub.data.expression_type.clone()),
                bname: Some(pq.mq.broker_name.clone()),
            };
            let pulled = async {
                let addr = self.core.addr_of(&pq.mq).await?;
                self.core
                    .pull(&addr, &pq.mq.broker_name, header, timeout)
                    .await
            };
            let result = tokio::select! {
                () = pq.cancel.cancelled() => break,
                result = pulled => result,
            };
            let result = match result {
                Ok(result) => result,
                Err(e) => {
                    tracing::debug!(queue = ?pq.mq, error = %e, "pull failed");
                    if matches!(
                        e,
                        ClientError::Connect { .. } | ClientError::ConnectionClosed { .. }
                    ) {
                        let _stale = self.core.routes.refresh(&pq.mq.topic).await;
                    }
                    if self.pause(&pq, self.settings.pull_delay_on_error).await {
                        break;
                    }
                    continue;
                }
            };
            match result.status {
                PullStatus::Found => {
                    let msgs: Vec<MessageExt> = result
                        .messages
                        .into_iter()
                        .filter(|m| sub.filter.matches_tag(m.tag.as_deref()))
                        .map(|m| self.prepare(m, result.min_offset, result.max_offset))
                        .collect();
                    if msgs.is_empty() {
                        pq.skip_to(result.next_begin_offset);
                        self.commit_position(&pq);
                    } else {
                        // Held before the skip, so the commit point cannot pass them.
                        self.dispatch(&pq, msgs);
                        pq.skip_to(result.next_begin_offset);
                    }
                }
                PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                    pq.skip_to(result.next_begin_offset);
                    self.commit_position(&pq);
                }
                PullStatus::OffsetIllegal => {
                    tracing::warn!(queue = ?pq.mq, offset, next = result.next_begin_offset, "pull offset illegal; moving");
                    self.offsets.update(&pq.mq, result.next_begin_offset, false);
                }
            }
            offset = result.next_begin_offset;
        }
    }

    /// Sleeps `pause` unless the queue is cancelled first; answers whether it was.
    async fn pause(&self, pq: &ProcessQueue, pause: Duration) -> bool {
        tokio::select! {
            () = pq.cancel.cancelled() => true,
            () = tokio::time::sleep(pause) => false,
        }
    }

    /// What the listener sees: the original topic of a retried message, and the queue's bounds.
    fn prepare(&self, mut msg: MessageExt, min: i64, max: i64) -> MessageExt {
        if msg.topic.starts_with(RETRY_PREFIX) {
            if let Some(original) = msg.properties.get(PROPERTY_RETRY_TOPIC) {
                msg.topic = original.clone();
            }
        }
        msg.properties.insert("MIN_OFFSET".into(), min.to_string());
        msg.properties.insert("MAX_OFFSET".into(), max.to_string());
        msg
    }
}
