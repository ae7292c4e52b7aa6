//! The crate's error type, and which database errors are worth a retry.

use sqlx::mysql::MySqlDatabaseError;

/// Errors of seckill-service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// MySQL refused or could not run a statement.
    #[error("mysql: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema migrations could not be applied.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Redis refused or could not run a command (or a gate script answered nonsense).
    #[error("redis: {0}")]
    Redis(#[from] seckill_order::Error),
    /// A setting is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// A dependency stayed unreachable for the whole start-up retry budget.
    #[error("{what} unavailable after {attempts} attempts: {last}")]
    Unreachable {
        /// MySQL or Redis.
        what: &'static str,
        /// How many times it was tried.
        attempts: u32,
        /// The last error seen.
        last: String,
    },
    /// The message queue client could not start (a consumer or the stock-event producer).
    #[error("mq: {0}")]
    Mq(#[from] mq_core::client::ClientError),
    /// The HTTP listener failed.
    #[error("http server: {0}")]
    Io(#[from] std::io::Error),
}

impl From<redis::RedisError> for Error {
    fn from(err: redis::RedisError) -> Self {
        Self::Redis(seckill_order::Error::Redis(err))
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// MySQL's "deadlock found" error number.
const ER_LOCK_DEADLOCK: u16 = 1213;
/// MySQL's "lock wait timeout exceeded" error number.
const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;

/// Whether `err` says nothing about the statements themselves: the database was unreachable,
/// busy or chose this transaction as a deadlock victim. Such a batch is retried as a whole
/// later; splitting it into single messages would only repeat the same failure many times.
pub fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(|e| matches!(e.number(), ER_LOCK_DEADLOCK | ER_LOCK_WAIT_TIMEOUT)),
        _ => false,
    }
}

/// Whether `err` is a unique-key violation (the dedup table's or order_records' last line).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}
