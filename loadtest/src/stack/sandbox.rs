//! A stack of its own for one test or chaos run: free ports, a scratch MySQL database, a
//! fresh Redis key prefix and a broker store under a work directory — so runs never touch the
//! developer's stack or each other. [`Sandbox::cleanup`] removes all of it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::{Connection, MySqlConnection};

use super::{Component, ScratchDatabase, Stack, StackSpec};
use crate::error::{Error, Result};
use crate::verify::VerifyConfig;

/// A running isolated stack and what it owns.
#[derive(Debug)]
pub struct Sandbox {
    /// The processes.
    pub stack: Stack,
    /// Its database.
    pub database: ScratchDatabase,
    /// Its Redis key prefix.
    pub redis_key_prefix: String,
    /// Its Redis.
    pub redis_url: String,
    /// Logs, store and load logs live here.
    pub work_dir: PathBuf,
}

impl Sandbox {
    /// Creates the database and starts the stack from `bin_dir`, its files in a new directory
    /// under `work_root`. `extra_env` adds variables per component.
    pub async fn start(
        bin_dir: &Path,
        work_root: &Path,
        admin_database_url: &str,
        redis_url: &str,
        extra_env: Vec<(Component, String, String)>,
    ) -> Result<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let id = &id[..10];
        let work_dir = work_root.join(format!("run-{id}"));
        std::fs::create_dir_all(&work_dir).map_err(|source| Error::File {
            path: work_dir.clone(),
            source,
        })?;
        let database = ScratchDatabase::create(admin_database_url, "seckill_run").await?;
        let redis_key_prefix = format!("run-{id}");
        let mut spec = StackSpec::isolated(bin_dir, &work_dir, &database.url, &redis_key_prefix)?;
        redis_url.clone_into(&mut spec.redis_url);
        spec.extra_env = extra_env;
        let stack = match Stack::start(spec).await {
            Ok(stack) => stack,
            Err(e) => {
                let _ = database.drop_database().await;
                return Err(e);
            }
        };
        Ok(Self {
            stack,
            database,
            redis_key_prefix,
            redis_url: redis_url.to_owned(),
            work_dir,
        })
    }

    /// A [`VerifyConfig`] for this stack (drain checked through its name server).
    pub fn verify_config(&self, load_log: Option<PathBuf>) -> VerifyConfig {
        let mut config =
            VerifyConfig::new(&self.database.url, &self.redis_url, &self.redis_key_prefix);
        config.namesrv_addr = Some(self.stack.spec().namesrv_addr());
        config.load_log = load_log;
        config
    }

    /// Sets a goods' stock in MySQL and overwrites its Redis counter through the service's
    /// `POST /admin/warmup?overwrite=true` — before a run only (it re-opens held stock).
    pub async fn set_stock(&self, goods_id: i64, stock: i64) -> Result<()> {
        let mut conn = MySqlConnection::connect(&self.database.url).await?;
        sqlx::query("UPDATE goods SET stocks = ? WHERE id = ?")
            .bind(stock)
            .bind(goods_id)
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let url = format!(
            "{}/admin/warmup?overwrite=true",
            self.stack.spec().service_url()
        );
        let response = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()?
            .post(&url)
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(Error::Process {
                component: "seckill-service",
                reason: format!("POST {url}: {}", response.status()),
            });
        }
        Ok(())
    }

    /// `goods.stocks` per goods now: the initial stock S when read before a run.
    pub async fn mysql_stocks(&self) -> Result<std::collections::BTreeMap<i64, i64>> {
        let mut conn = MySqlConnection::connect(&self.database.url).await?;
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT CAST(id AS SIGNED), CAST(stocks AS SIGNED) FROM goods")
                .fetch_all(&mut conn)
                .await?;
        conn.close().await?;
        Ok(rows.into_iter().collect())
    }

    /// Stops the stack, drops the database, deletes the Redis keys and the work directory.
    /// With `keep_files` the work directory (logs, store, load log) stays for inspection.
    pub async fn cleanup(mut self, keep_files: bool) -> Result<()> {
        self.stack.shutdown(Duration::from_secs(10)).await;
        self.database.drop_database().await?;
        delete_redis_prefix(&self.redis_url, &self.redis_key_prefix).await?;
        if !keep_files {
            std::fs::remove_dir_all(&self.work_dir).map_err(|source| Error::File {
                path: self.work_dir.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

/// Deletes every key under `prefix:` (SCAN, then DEL in chunks).
pub async fn delete_redis_prefix(redis_url: &str, prefix: &str) -> Result<()> {
    seckill_order::keys::validate_prefix(prefix)?;
    let client = redis::Client::open(redis_url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let pattern = format!("{prefix}:*");
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}
