//! Load, benchmark and verification tools for the seckill stack.
//!
//! # Layout
//!
//! | module | owns |
//! |---|---|
//! | [`load_log`] | the JSON-lines record of every gate answer of a run (who asked, what they heard) |
//! | [`driver`] | the HTTP load driver behind `seckill-load`, the e2e tests and `seckill-chaos` |
//! | [`stack`] | the whole stack as child processes: the `seckill-stack` launcher, e2e and chaos runs |
//! | [`verify`] | `seckill-verify`: drain wait and the SPEC §4 invariants |
//! | [`compare`] | `mq-compare`: mq-core vs NATS JetStream, RabbitMQ, Redis Streams, same workloads |
//! | [`chaos`] | a load run with `kill -9` of seckill-service and the broker, then verify |
//! | [`drain_bench`] | `seckill-bench drain`: the writer's orders/s vs raw multi-row inserts |
//! | [`gate_bench`] | `seckill-bench gate`: `/seckill` vs `/healthz` under oha |
//! | [`spec_line`] | the SPEC §6 result line the two `seckill-bench` benchmarks print |
//! | [`error`] | the library's [`Error`] |

pub mod chaos;
pub mod compare;
pub mod drain_bench;
pub mod driver;
pub mod error;
pub mod gate_bench;
pub mod load_log;
pub mod spec_line;
pub mod stack;
pub mod verify;

pub use error::{Error, Result};
