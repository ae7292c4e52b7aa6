//! seckill-service: turns order messages into MySQL rows exactly once.
//!
//! # Layout
//!
//! | module | owns |
//! |---|---|
//! | [`db`] | the MySQL pool and the embedded migrations |

pub mod db;
