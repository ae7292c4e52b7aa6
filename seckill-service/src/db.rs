//! The MySQL connection pool and the schema migrations embedded from `migrations/`.

use std::time::Duration;

use sqlx::Executor;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};

/// The schema of `migrations/`, compiled into the binary so start-up applies it.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// How long a pool caller waits for a free connection before its work fails (and its batch is
/// redelivered).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a bounded pool whose connections wait at most `lock_wait_secs` for a row lock: a
/// batch stuck behind a lock gives up (a transient error, redelivered later) instead of
/// holding its connection for InnoDB's default 50 s.
pub async fn connect(
    url: &str,
    max_connections: u32,
    lock_wait_secs: u32,
) -> Result<MySqlPool, sqlx::Error> {
    // A number formatted into the statement: nothing to escape, and SET needs no prepare.
    let set_lock_wait = format!("SET SESSION innodb_lock_wait_timeout = {lock_wait_secs}");
    MySqlPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(move |conn, _meta| {
            let statement = set_lock_wait.clone();
            Box::pin(async move {
                conn.execute(statement.as_str()).await?;
                Ok(())
            })
        })
        .connect(url)
        .await
}

/// Applies every migration the database has not seen yet.
pub async fn migrate(pool: &MySqlPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
