//! A scratch MySQL database per test or chaos run: created empty (seckill-service migrates
//! and seeds it at start-up), dropped afterwards.

use sqlx::{Connection, MySqlConnection};

use crate::error::{Error, Result};

/// A database created for one run; [`ScratchDatabase::drop_database`] removes it.
#[derive(Debug, Clone)]
pub struct ScratchDatabase {
    /// `DATABASE_URL` of the new database.
    pub url: String,
    /// Its name.
    pub name: String,
    admin_url: String,
}

impl ScratchDatabase {
    /// Creates `<prefix>_<random>` on the server of `admin_url` (whose user may create
    /// databases: `scripts/dev-services` grants that to `seckill`).
    pub async fn create(admin_url: &str, prefix: &str) -> Result<Self> {
        if !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(Error::Config(format!(
                "database prefix {prefix:?}: letters, digits and _ only"
            )));
        }
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{prefix}_{}", &suffix[..12]);
        let mut conn = MySqlConnection::connect(admin_url).await?;
        sqlx::query(&format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ))
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        Ok(Self {
            url: with_database(admin_url, &name)?,
            name,
            admin_url: admin_url.to_owned(),
        })
    }

    /// Drops the database.
    pub async fn drop_database(&self) -> Result<()> {
        let mut conn = MySqlConnection::connect(&self.admin_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS `{}`", self.name))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(())
    }
}

/// `url` with its database (path) replaced by `name`; the query string is kept.
fn with_database(url: &str, name: &str) -> Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| Error::Config(format!("not a database URL: {url}")))?;
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_database_name_is_replaced_and_the_rest_kept() {
        assert_eq!(
            with_database("mysql://a:b@127.0.0.1:3306/seckill", "t_1").unwrap(),
            "mysql://a:b@127.0.0.1:3306/t_1"
        );
        assert_eq!(
            with_database("mysql://a:b@h:1?ssl-mode=disabled", "x").unwrap(),
            "mysql://a:b@h:1/x?ssl-mode=disabled"
        );
        assert!(with_database("nonsense", "x").is_err());
    }
}
