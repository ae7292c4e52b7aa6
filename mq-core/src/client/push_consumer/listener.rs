//! What the application plugs into a push consumer: [`MessageListener`] (concurrent) and
//! [`OrderlyListener`] (one queue at a time, in order), their results, and closure adapters.

use std::future::Future;

use async_trait::async_trait;

use crate::client::message::MessageExt;

/// A concurrent listener's verdict on a batch of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumeResult {
    /// Processed; the offset may move past them.
    Success,
    /// Not processed; deliver again later (clustering: via `%RETRY%<group>` with a growing delay).
    ReconsumeLater,
}

/// An orderly listener's verdict on a batch of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderlyResult {
    /// Processed; move on to the next messages of the queue.
    Success,
    /// Not processed; pause the queue (`suspend_current_queue_time`) and retry the same messages.
    SuspendCurrentQueueAMoment,
}

/// Handles messages of any queue, possibly many calls at once (up to `consume_thread_max`).
/// A panic counts as [`ConsumeResult::ReconsumeLater`].
#[async_trait]
pub trait MessageListener: Send + Sync + 'static {
    /// Processes up to `consume_message_batch_max_size` messages.
    async fn consume(&self, msgs: Vec<MessageExt>) -> ConsumeResult;
}

/// Handles one queue's messages strictly in order, one call per queue at a time.
/// A panic counts as [`OrderlyResult::SuspendCurrentQueueAMoment`].
#[async_trait]
pub trait OrderlyListener: Send + Sync + 'static {
    /// Processes the next messages of one queue.
    async fn consume(&self, msgs: Vec<MessageExt>) -> OrderlyResult;
}

/// A [`MessageListener`] made from an async closure.
#[derive(Debug, Clone)]
pub struct ListenerFn<F>(F);

/// Wraps `f` as a [`MessageListener`]: `listener_fn(|msgs| async move { ConsumeResult::Success })`.
pub fn listener_fn<F, Fut>(f: F) -> ListenerFn<F>
where
    F: Fn(Vec<MessageExt>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ConsumeResult> + Send + 'static,
{
    ListenerFn(f)
}

#[async_trait]
impl<F, Fut> MessageListener for ListenerFn<F>
where
    F: Fn(Vec<MessageExt>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ConsumeResult> + Send + 'static,
{
    async fn consume(&self, msgs: Vec<MessageExt>) -> ConsumeResult {
        (self.0)(msgs).await
    }
}

/// An [`OrderlyListener`] made from an async closure.
#[derive(Debug, Clone)]
pub struct OrderlyListenerFn<F>(F);

/// Wraps `f` as an [`OrderlyListener`].
pub fn orderly_listener_fn<F, Fut>(f: F) -> OrderlyListenerFn<F>
where
    F: Fn(Vec<MessageExt>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = OrderlyResult> + Send + 'static,
{
    OrderlyListenerFn(f)
}

#[async_trait]
impl<F, Fut> OrderlyListener for OrderlyListenerFn<F>
where
    F: Fn(Vec<MessageExt>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = OrderlyResult> + Send + 'static,
{
    async fn consume(&self, msgs: Vec<MessageExt>) -> OrderlyResult {
        (self.0)(msgs).await
    }
}
