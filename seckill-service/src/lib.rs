//! seckill-service: turns order messages into MySQL rows exactly once, fast, and gives stock
//! back when an order cannot be made (SPEC §4, seed §12.5).
//!
//! # Layout
//!
//! | module | owns |
//! |---|---|
//! | [`config`] | the CLI flags / environment variables |
//! | [`consumer`] | the order consumer and the dead-letter handler (push consumers) |
//! | [`publisher`] | the stock-returned publisher (a producer task) |
//! | [`db`] | the MySQL pool and the embedded migrations |
//! | [`incoming`] | what the writer is handed and what it answers per message |
//! | [`dedup`] | idempotency: the bloom filter and the dedup table |
//! | `tx` | the batch transaction: guarded stock, multi-row inserts |
//! | `compensate` | the Redis side after commit: results, give-back, events |
//! | [`writer`] | [`OrderWriter`]: a batch in, one fate per message out |
//! | [`batcher`] | [`Batcher`]: many listener calls → batches of the writer |
//! | [`events`] | pending stock-returned events, for the publisher |
//! | [`warmup`] | MySQL stock → Redis stock counters |
//! | [`http`] | the order-centre and admin API ([`http::app`]) |
//! | [`metrics`] | the Prometheus recorder and metric names |
//! | [`bench`](mod@bench) | the raw insert ceiling `seckill-bench drain` compares with |
//! | [`service`] | start-up, serving, layered shutdown |
//!
//! Message flow: consumer listener → [`Batcher::submit`] → [`OrderWriter::write_batch`] →
//! MySQL commit → Redis result / compensation → the listener answers, the consumer commits
//! the offset.

pub mod batcher;
pub mod bench;
mod compensate;
pub mod config;
pub mod consumer;
pub mod db;
pub mod dedup;
pub mod error;
pub mod events;
pub mod http;
pub mod incoming;
pub mod metrics;
pub mod publisher;
pub mod service;
mod tx;
pub mod warmup;
pub mod writer;

pub use batcher::{Batcher, BatcherConfig, BatcherTask, Consumed};
pub use error::{Error, Result};
pub use incoming::{BatchOutcome, Fate, IncomingOrder, Settled};
pub use writer::OrderWriter;
