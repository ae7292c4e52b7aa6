//! The gate's batching stage, group commit for flash-sale requests.
//!
//! A `/seckill` request that got past the local checks hands its (goods, user, request id,
//! reply channel) to the [`Coalescer`] and waits for the answer. Up to `batches_in_flight`
//! worker tasks each take what is waiting (at most `max_batch` requests), run one batch —
//! one `take_many` script run per goods, then ONE broker batch send for every order taken —
//! answer each request, and take the next batch. There is no timer: a request that finds a
//! worker slot free starts a worker at once (a batch of one, as fast as before), and
//! requests that arrive while every worker is busy queue up and leave together with the next
//! batch, so batches grow exactly as far as the load makes them wait anyway.
//!
//! The workers own the work: a handler dropped by a client disconnect or a timeout only
//! drops its reply channel. A request whose channel is closed before its batch starts is
//! skipped (nothing was taken for it); once its place is taken, the batch carries it to
//! QUEUED or gives it back like any other. Workers run on the gate's [`TaskTracker`], so
//! shutdown waits for the batches in flight before it stops the publisher.
//!
//! [`TaskTracker`]: tokio_util::task::TaskTracker

mod batch;
mod request_id;
mod undo;

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::error::AppError;
use crate::extract::GoodsUser;
use crate::state::{AppState, GateSettings};

/// What the gate decided (the `200` answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateAnswer {
    /// The broker acknowledged the order message.
    Queued {
        /// The ids asked for.
        ids: GoodsUser,
        /// The order message's request id (for support and logs).
        request_id: String,
    },
    /// The user already holds a place for this goods.
    Duplicate(GoodsUser),
    /// No stock left.
    SoldOut(GoodsUser),
}

/// A request's answer, sent back by the batch that carried it.
type Reply = Result<GateAnswer, AppError>;

/// A request waiting for, or carried by, a batch.
struct Pending {
    /// Unique per request: recorded with a taken place (scopes its undo) and sent in the order.
    request_id: String,
    waiter: Waiter,
}

/// The part of a request that gets the answer.
struct Waiter {
    ids: GoodsUser,
    reply: oneshot::Sender<Reply>,
    /// The request's span, so per-request events of a batch land in the request's trace.
    span: tracing::Span,
}

impl Waiter {
    fn answer(self, reply: Reply) {
        // The handler may be gone (client disconnect, timeout): the outcome stands anyway.
        let _gone = self.reply.send(reply);
    }
}

/// The queue of requests waiting for a batch, and the worker slots.
pub struct Coalescer {
    queue: Mutex<Queue>,
    max_batch: usize,
    batches_in_flight: usize,
    /// Bound of the queue: past it a request is shed with 503 rather than queued.
    max_waiting: usize,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Pending>,
    /// Workers running (each carries at most one batch at a time).
    workers: usize,
}

impl Coalescer {
    /// An idle stage with the batch bounds of `settings`.
    pub fn new(settings: &GateSettings) -> Self {
        Self {
            queue: Mutex::new(Queue::default()),
            max_batch: settings.max_batch.max(1),
            batches_in_flight: settings.batches_in_flight.max(1),
            // Handlers are bounded by the router's concurrency limit; abandoned requests may
            // wait a little longer, until a worker skips them.
            max_waiting: settings.max_concurrency.max(settings.max_batch).max(1),
        }
    }

    /// Hands `ids` to the batching stage and waits for the answer of the batch carrying it.
    pub(crate) async fn submit(state: &AppState, ids: GoodsUser) -> Reply {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            request_id: request_id::new_request_id(),
            waiter: Waiter {
                ids,
                reply,
                span: tracing::Span::current(),
            },
        };
        if state.coalescer.enqueue(pending)? {
            let coalescer = Arc::clone(&state.coalescer);
            state.tasks.spawn(work(state.clone(), coalescer));
        }
        answer.await.unwrap_or_else(|_| {
            Err(AppError::Internal(
                "the gate batch ended without answering".into(),
            ))
        })
    }

    /// Requests waiting for a batch.
    pub fn waiting(&self) -> usize {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .waiting
            .len()
    }

    /// Queues `pending`; answers whether a worker must be started for it.
    fn enqueue(&self, pending: Pending) -> Result<bool, AppError> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.waiting.len() >= self.max_waiting {
            return Err(AppError::Overloaded);
        }
        queue.waiting.push_back(pending);
        let start = queue.workers < self.batches_in_flight;
        if start {
            queue.workers += 1;
        }
        Ok(start)
    }

    /// The next batch for `slot`'s worker; `None` releases the slot. The emptiness check and
    /// the release share the lock with [`Self::enqueue`], so a request never waits in the
    /// queue while no worker runs.
    fn next_batch(&self, slot: &mut WorkerSlot) -> Option<Vec<Pending>> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.waiting.is_empty() {
            queue.workers = queue.workers.saturating_sub(1);
            slot.released = true;
            return None;
        }
        let take = queue.waiting.len().min(self.max_batch);
        Some(queue.waiting.drain(..take).collect())
    }
}

impl fmt::Debug for Coalescer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Coalescer")
            .field("waiting", &queue.waiting.len())
            .field("workers", &queue.workers)
            .field("max_batch", &self.max_batch)
            .field("batches_in_flight", &self.batches_in_flight)
            .finish()
    }
}

/// One worker: batches until the queue is empty.
async fn work(state: AppState, coalescer: Arc<Coalescer>) {
    let mut slot = WorkerSlot {
        coalescer: Arc::clone(&coalescer),
        released: false,
    };
    while let Some(requests) = coalescer.next_batch(&mut slot) {
        batch::run(&state, requests).await;
    }
}

/// A worker's slot; returned by [`Coalescer::next_batch`], or here if the worker ends another
/// way (a panic in a batch), so the slot count cannot drift and strand later requests.
struct WorkerSlot {
    coalescer: Arc<Coalescer>,
    released: bool,
}

impl Drop for WorkerSlot {
    fn drop(&mut self) {
        if !self.released {
            let mut queue = self
                .coalescer
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            queue.workers = queue.workers.saturating_sub(1);
        }
    }
}
