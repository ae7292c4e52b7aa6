//! The worker pool: listener calls bounded by `consume_thread_max`, their outcomes turned into
//! committed offsets, retries (send-back to `%RETRY%<group>`, or local redelivery when the
//! broker cannot take it back) and, for orderly listeners, one in-order call per queue.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use super::listener::{ConsumeResult, MessageListener, OrderlyResult};
use super::process_queue::ProcessQueue;
use super::{ConsumerInner, ListenerKind};
use crate::client::error::ClientResult;
use crate::client::message::MessageExt;
use crate::protocol::MessageQueue;
use crate::protocol::body::heartbeat::MessageModel;
use crate::protocol::header::consumer::ConsumerSendMsgBackRequestHeader;

/// Delay before messages the broker would not take back are delivered again locally.
const LOCAL_REDELIVERY_DELAY: Duration = Duration::from_secs(1);

impl ConsumerInner {
    /// Takes freshly pulled messages in: the queue holds them until they are acknowledged,
    /// and the workers get them, moved, in chunks of `consume_batch_max` (an orderly queue's
    /// own loop takes them from the queue instead).
    pub(crate) fn dispatch(self: &Arc<Self>, pq: &Arc<ProcessQueue>, msgs: Vec<MessageExt>) {
        let listener = match &self.listener {
            ListenerKind::Orderly(_) => return pq.queue(msgs),
            ListenerKind::Concurrent(listener) => listener,
        };
        pq.hold(&msgs);
        let mut msgs = msgs.into_iter().peekable();
        while msgs.peek().is_some() {
            let chunk = msgs
                .by_ref()
                .take(self.settings.consume_batch_max)
                .collect();
            self.submit(Arc::clone(listener), Arc::clone(pq), chunk, Duration::ZERO);
        }
    }

    fn submit(
        self: &Arc<Self>,
        listener: Arc<dyn MessageListener>,
        pq: Arc<ProcessQueue>,
        msgs: Vec<MessageExt>,
        delay: Duration,
    ) {
        let this = Arc::clone(self);
        self.tracker.spawn(async move {
            if !delay.is_zero() {
                tokio::select! {
                    () = pq.cancel.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
            let Ok(_permit) = Arc::clone(&this.workers).acquire_owned().await else {
                return;
            };
            // Not started yet and no longer ours: leave them unacknowledged for the next owner.
            if pq.is_dropped() || this.cancel.is_cancelled() {
                return;
            }
            // The listener owns what it is given; this copy is for a retry if it fails.
            let call = AssertUnwindSafe(listener.consume(msgs.clone())).catch_unwind();
            let result = call.await.unwrap_or_else(|_| {
                tracing::warn!(queue = ?pq.mq, "listener panicked; treated as reconsume-later");
                ConsumeResult::ReconsumeLater
            });
            this.finish(listener, &pq, msgs, result).await;
        });
    }

    /// Acknowledges what can be acknowledged and commits the new position.
    async fn finish(
        self: &Arc<Self>,
        listener: Arc<dyn MessageListener>,
        pq: &Arc<ProcessQueue>,
        msgs: Vec<MessageExt>,
        result: ConsumeResult,
    ) {
        if pq.is_dropped() {
            return;
        }
        let mut done: Vec<i64> = Vec::with_capacity(msgs.len());
        let mut again = Vec::new();
        match (result, self.settings.message_model) {
            (ConsumeResult::Success, _) => done.extend(msgs.iter().map(|m| m.queue_offset)),
            (ConsumeResult::ReconsumeLater, MessageModel::Broadcasting) => {
                // Broadcasting has no retry topic: RocketMQ drops failures, and so do we.
                tracing::warn!(queue = ?pq.mq, count = msgs.len(), "broadcast consume failed; not retried");
                done.extend(msgs.iter().map(|m| m.queue_offset));
            }
            (ConsumeResult::ReconsumeLater, MessageModel::Clustering) => {
                for msg in msgs {
                    match self.send_back(&pq.mq, &msg).await {
                        Ok(()) => done.push(msg.queue_offset),
                        Err(e) => {
                            tracing::debug!(msg_id = %msg.msg_id, error = %e, "send-back failed; redelivering locally");
                            let mut msg = msg;
                            msg.reconsume_times += 1;
                            again.push(msg);
                        }
                    }
                }
            }
        }
        let offset = pq.remove(&done);
        if !pq.is_dropped() {
            self.offsets.update(&pq.mq, offset, true);
        }
        if !again.is_empty() {
            self.submit(listener, Arc::clone(pq), again, LOCAL_REDELIVERY_DELAY);
        }
    }

    /// CONSUMER_SEND_MSG_BACK: the broker stores the message again in `%RETRY%<group>` with
    /// delay level 3 + reconsumeTimes, or in `%DLQ%<group>` past `max_reconsume_times`.
    async fn send_back(&self, mq: &MessageQueue, msg: &MessageExt) -> ClientResult<()> {
        let addr = match self.core.routes.broker_addr(&msg.broker_name) {
            Some(addr) => addr,
            None => self.core.addr_of(mq).await?,
        };
        let header = ConsumerSendMsgBackRequestHeader {
            offset: msg.commit_log_offset,
            group: self.group.clone(),
            delay_level: 0,
            origin_msg_id: Some(msg.msg_id.clone()),
            origin_topic: Some(msg.topic.clone()),
            unit_mode: false,
            max_reconsume_times: Some(self.settings.max_reconsume_times),
            bname: Some(msg.broker_name.clone()),
        };
        self.core.send_back(&addr, header).await
    }

    /// Orderly: feeds one queue's messages to the listener in offset order, one call at a time;
    /// a failure pauses the queue and retries the same messages.
    pub(crate) async fn orderly_loop(self: Arc<Self>, pq: Arc<ProcessQueue>) {
        let ListenerKind::Orderly(listener) = &self.listener else {
            return;
        };
        let clustering = self.settings.message_model == MessageModel::Clustering;
        loop {
            if pq.cancel.is_cancelled() {
                break;
            }
            if !pq.has_pending() || (clustering && !pq.is_locked()) {
                tokio::select! {
                    () = pq.cancel.cancelled() => break,
                    () = pq.arrived.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
                continue;
            }
            let Ok(permit) = Arc::clone(&self.workers).acquire_owned().await else {
                break;
            };
            let guard = pq.consume_lock.lock().await;
            if pq.is_dropped() {
                break;
            }
            let msgs = pq.take_ordered(self.settings.consume_batch_max);
            if msgs.is_empty() {
                continue;
            }
            let call = AssertUnwindSafe(listener.consume(msgs)).catch_unwind();
            let result = call.await.unwrap_or_else(|_| {
                tracing::warn!(queue = ?pq.mq, "orderly listener panicked; suspending the queue");
                OrderlyResult::SuspendCurrentQueueAMoment
            });
            match result {
                OrderlyResult::Success => {
                    let offset = pq.commit_ordered();
                    self.offsets.update(&pq.mq, offset, true);
                }
                OrderlyResult::SuspendCurrentQueueAMoment => {
                    pq.rollback_ordered();
                    drop(guard);
                    drop(permit);
                    tokio::select! {
                        () = pq.cancel.cancelled() => break,
                        () = tokio::time::sleep(self.settings.suspend_current_queue_time) => {}
                    }
                }
            }
        }
    }
}
