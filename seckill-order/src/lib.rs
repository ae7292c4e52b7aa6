//! What seckill-web and seckill-service agree on: the order message, the Redis key layout and
//! the Lua scripts that change a goods' Redis state atomically.
//!
//! # Layout
//!
//! | module | owns |
//! |---|---|
//! | [`message`] | the order message (topic, key, JSON body) and the stock-returned event |
//! | [`keys`] | the Redis keys of one goods, sharing the hash tag `{<goodsId>}` |
//! | [`gate`] | the atomic take (dedup + stock pre-deduction) and give-back scripts, single and batched |
//! | [`result`] | the per-user result a buyer polls (`PENDING`, `SUCCESS`, `FAILED`, `NONE`) |
//!
//! The flow: seckill-web runs [`gate::take_many`] for the requests of a goods that queued
//! together; for each `Taken` it sends an [`message::OrderMessage`] (one batch send per batch)
//! and answers `QUEUED` once the broker acknowledged it, or runs [`gate::give_back_requests`]
//! and answers `503`. seckill-service writes the order and records [`result::OrderResult::Success`], or gives
//! the stock back with [`gate::give_back`] and records `FAILED`.

pub mod gate;
pub mod keys;
pub mod message;
pub mod result;

pub use gate::{GiveBack, TakeOutcome};
pub use keys::GoodsKeys;
pub use message::{OrderMessage, StockReturned};
pub use result::OrderResult;

/// Errors of the shared seckill pieces. `Clone`, so one failed batched script run can be
/// reported to every request of the batch.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Redis refused or could not run a command.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A script answered something this version does not understand.
    #[error("unexpected answer from the {script} script: {answer}")]
    UnexpectedAnswer {
        /// Which script answered.
        script: &'static str,
        /// What it answered.
        answer: i64,
    },
    /// A batched script answered a different number of outcomes than it was given entries.
    #[error("the {script} script answered {answered} outcomes for {expected} entries")]
    AnswerCount {
        /// Which script answered.
        script: &'static str,
        /// Entries it was given.
        expected: usize,
        /// Outcomes it answered.
        answered: usize,
    },
    /// A key prefix that would break the hash tag (it contains `{` or `}`) or is empty.
    #[error("invalid Redis key prefix {0:?}: it must be non-empty and contain no braces")]
    InvalidPrefix(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
