//! mq-core: a RocketMQ-style message queue that speaks Apache RocketMQ 4.x's remoting protocol.
//!
//! # Layout
//!
//! | module | owns | feature |
//! |---|---|---|
//! | [`protocol`] | frames, JSON and compact headers, request/response codes, the stored-message layout, msgId — no I/O | always |
//! | [`client`] | multiplexed connections, producer, push and pull consumers, rebalance, offset stores | `client` (default) |
//! | `store` | CommitLog, ConsumeQueue, index, dispatch, flush, recovery, retention | `broker` |
//! | `broker` | the broker server: one processor per request family, long polling, delay, retry/DLQ | `broker` |
//! | `namesrv` | the name server: broker registry and topic routes | `broker` |
//! | `cluster` | test harnesses: a name server and a broker in-process or as child processes | `broker` |
//! | [`process`] | what every binary shares: logging set-up and shutdown signals | always |
//!
//! A message's life: a producer ([`client`]) frames a send request ([`protocol`]); the broker
//! appends it to the CommitLog (`store::commit_log`), the dispatcher indexes it into its
//! ConsumeQueue, and a pull (held open by long polling) serves it back in the stored layout.

pub mod error;
pub mod process;
pub mod protocol;

#[cfg(feature = "client")]
pub mod client;

#[cfg(feature = "broker")]
pub mod broker;
#[cfg(feature = "broker")]
pub mod cluster;
#[cfg(feature = "broker")]
pub mod namesrv;
#[cfg(feature = "broker")]
pub mod store;

pub use error::{Error, Result};
