//! Collects order messages from many concurrent listener calls into batches for one
//! [`OrderWriter`]: a batch is written when it holds `max_batch` messages or its first message
//! waited `linger`. Each caller awaits its own messages' fates, so a push-consumer listener is
//! just `batcher.submit(msgs).await` and the consumer commits offsets after it returns.
//!
//! One batch is written at a time: the next one fills while the current one is in MySQL, and
//! the bloom filter knows the previous batch's keys before the next is checked.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::incoming::{Fate, IncomingOrder};
use crate::writer::OrderWriter;

/// How batches are formed.
#[derive(Debug, Clone, Copy)]
pub struct BatcherConfig {
    /// Most messages per batch (≥ 1).
    pub max_batch: usize,
    /// How long the first message of a batch waits for company.
    pub linger: Duration,
    /// Messages that may wait for a batch before `submit` itself waits (back pressure).
    pub queue_capacity: usize,
}

impl BatcherConfig {
    /// `max_batch` and `linger` as configured; room for four batches in the queue.
    pub fn new(max_batch: usize, linger: Duration) -> Self {
        let max_batch = max_batch.max(1);
        Self {
            max_batch,
            linger,
            queue_capacity: max_batch.saturating_mul(4),
        }
    }
}

/// What a listener call answers for all its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    /// Every message is settled: acknowledge them (commit the offset).
    Done,
    /// At least one failed transiently: have the broker redeliver the call's messages later
    /// (the settled ones are recognised as duplicates then).
    RetryLater,
}

impl Consumed {
    /// `Done` only when every fate is settled.
    pub fn from_fates<'a>(fates: impl IntoIterator<Item = &'a Fate>) -> Self {
        if fates.into_iter().all(|f| matches!(f, Fate::Done(_))) {
            Self::Done
        } else {
            Self::RetryLater
        }
    }
}

struct Pending {
    order: IncomingOrder,
    reply: oneshot::Sender<Fate>,
}

/// The submitting side; clone it into every listener.
#[derive(Debug, Clone)]
pub struct Batcher {
    queue: mpsc::Sender<Pending>,
}

/// The task writing batches; [`BatcherTask::shutdown`] drains it.
#[derive(Debug)]
pub struct BatcherTask {
    stop: oneshot::Sender<()>,
    join: JoinHandle<()>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("msg_id", &self.order.msg_id)
            .finish()
    }
}

impl Batcher {
    /// Starts the batch-writing task on the current runtime.
    pub fn spawn(writer: Arc<OrderWriter>, config: BatcherConfig) -> (Self, BatcherTask) {
        let (queue, rx) = mpsc::channel(config.queue_capacity.max(1));
        let (stop, stopped) = oneshot::channel();
        let join = tokio::spawn(run(writer, config, rx, stopped));
        (Self { queue }, BatcherTask { stop, join })
    }

    /// Hands `orders` to the next batches and waits for all their fates.
    pub async fn submit(&self, orders: Vec<IncomingOrder>) -> Consumed {
        let fates = self.submit_each(orders).await;
        Consumed::from_fates(&fates)
    }

    /// Like [`Self::submit`], answering each message's fate. A message the task can no longer
    /// take (it is shutting down) answers `RetryLater`, so the broker keeps it.
    pub async fn submit_each(&self, orders: Vec<IncomingOrder>) -> Vec<Fate> {
        let mut replies = Vec::with_capacity(orders.len());
        for order in orders {
            let (reply, fate) = oneshot::channel();
            match self.queue.send(Pending { order, reply }).await {
                Ok(()) => replies.push(Some(fate)),
                Err(_) => replies.push(None),
            }
        }
        let mut fates = Vec::with_capacity(replies.len());
        for reply in replies {
            let fate = match reply {
                Some(fate) => fate.await.unwrap_or(Fate::RetryLater),
                None => Fate::RetryLater,
            };
            fates.push(fate);
        }
        fates
    }
}

impl BatcherTask {
    /// Stops taking messages, writes every message already queued (their callers get their
    /// fates), and waits for the last batch to commit. Call it after the consumer stopped
    /// pulling and its in-flight listener calls returned.
    pub async fn shutdown(self) {
        let _already_gone = self.stop.send(());
        if let Err(err) = self.join.await {
            tracing::error!(error = %err, "batch writer task ended abnormally");
        }
    }
}

async fn run(
    writer: Arc<OrderWriter>,
    config: BatcherConfig,
    mut rx: mpsc::Receiver<Pending>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut batch: Vec<Pending> = Vec::with_capacity(config.max_batch);
    let mut stopping = false;
    loop {
        if stopping {
            // Closed: take what is still queued, batch by batch, without lingering.
            if rx.recv_many(&mut batch, config.max_batch).await == 0 {
                return;
            }
        } else {
            tokio::select! {
                biased;
                _ = &mut stopped => {
                    stopping = true;
                    // Refuse new messages, keep what is queued.
                    rx.close();
                    continue;
                }
                received = rx.recv_many(&mut batch, config.max_batch) => {
                    if received == 0 {
                        return;
                    }
                }
            }
            let deadline = Instant::now() + config.linger;
            while batch.len() < config.max_batch && !stopping {
                let room = config.max_batch - batch.len();
                tokio::select! {
                    biased;
                    _ = &mut stopped => {
                        stopping = true;
                        rx.close();
                    }
                    more = tokio::time::timeout_at(deadline, rx.recv_many(&mut batch, room)) => {
                        if !matches!(more, Ok(n) if n > 0) {
                            break;
                        }
                    }
                }
            }
        }
        let (orders, replies): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|p| (p.order, p.reply)).unzip();
        let outcome = writer.write_batch(orders).await;
        for (reply, fate) in replies.into_iter().zip(outcome.fates) {
            // The caller may have given up (its listener call was cancelled); nothing to do.
            let _gone = reply.send(fate);
        }
    }
}
