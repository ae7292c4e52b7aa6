//! The MySQL connection pool and the schema migrations embedded from `migrations/`.

use std::time::Duration;

use sqlx::mysql::{MySqlPool, MySqlPoolOptions};

/// The schema of `migrations/`, compiled into the binary so start-up applies it.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Opens a bounded pool: connections wait at most `acquire_timeout` for a free slot.
pub async fn connect(url: &str, max_connections: u32) -> Result<MySqlPool, sqlx::Error> {
    MySqlPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
}

/// Applies every migration the database has not seen yet.
pub async fn migrate(pool: &MySqlPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
