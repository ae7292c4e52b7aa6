//! The error type of the loadtest library: the load driver, the stack harness and the
//! invariant checker. Binaries wrap it in `anyhow` for their one-line exit messages.

use std::path::PathBuf;

/// What can go wrong while driving load, running the stack or verifying a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file (load log, process log, store directory) could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another I/O failure (spawning a process, a socket).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A line of a load log is not a load record.
    #[error("{path}:{line}: not a load record: {reason}")]
    LoadLog {
        /// The log.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// MySQL refused or could not answer.
    #[error("mysql: {0}")]
    Mysql(#[from] sqlx::Error),
    /// Redis refused or could not answer.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The seckill Redis layout refused a setting (e.g. a key prefix with braces).
    #[error("{0}")]
    Seckill(#[from] seckill_order::Error),
    /// The broker or name server refused or could not answer.
    #[error("mq: {0}")]
    Mq(#[from] mq_core::client::ClientError),
    /// An HTTP client could not be built.
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
    /// A process of the stack did not start or did not become healthy.
    #[error("{component}: {reason}")]
    Process {
        /// Which process.
        component: &'static str,
        /// What happened, with the tail of its log where there is one.
        reason: String,
    },
    /// A setting is invalid.
    #[error("invalid setting: {0}")]
    Config(String),
}

/// `Result` with the loadtest [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
