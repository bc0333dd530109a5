//! The database: one schema on SQLite (embedded default) or PostgreSQL (production).
//!
//! Queries are written once in SQL both understand (`$1` placeholders, text ids, integer
//! times) and run through sqlx's `Any` driver; the few places that differ ask [`Db::kind`].

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Transaction};
use std::time::Duration;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// A bounded connection pool and the kind of database it talks to.
#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub kind: DbKind,
}

/// A write transaction.
pub type Tx = Transaction<'static, Any>;

impl Db {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) with the default pool size.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Db::connect_with(url, None).await
    }

    /// Connects with at most `max_connections` (default: 8 for SQLite, 16 for PostgreSQL).
    /// Several instances sharing one PostgreSQL must stay under its `max_connections` together.
    pub async fn connect_with(url: &str, max_connections: Option<u32>) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let kind = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            DbKind::Postgres
        } else if url.starts_with("sqlite:") {
            DbKind::Sqlite
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres:");
        };
        if kind == DbKind::Sqlite {
            create_sqlite_folder(url)?;
        }

        let options = AnyPoolOptions::new()
            .max_connections(max_connections.unwrap_or(match kind {
                DbKind::Sqlite => 8,
                DbKind::Postgres => 16,
            }))
            .acquire_timeout(Duration::from_secs(5))
            .idle_timeout(Duration::from_secs(300));
        let options = match kind {
            DbKind::Sqlite => options.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers run beside the single writer; the busy timeout makes a
                    // second writer wait for its turn instead of failing.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            }),
            DbKind::Postgres => options,
        };
        let pool = options
            .connect(url)
            .await
            .context("Failed to connect to the database")?;

        Ok(Db { pool, kind })
    }

    /// Applies the migrations for this kind of database.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.kind {
            DbKind::Sqlite => sqlx::migrate!("../migrations/sqlite"),
            DbKind::Postgres => sqlx::migrate!("../migrations/postgres"),
        };
        migrator
            .run(&self.pool)
            .await
            .context("Failed to apply database migrations")?;

        Ok(())
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at once, so two
    /// writers queue on the busy timeout instead of failing when one upgrades from reading.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        match self.kind {
            DbKind::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            DbKind::Postgres => self.pool.begin().await,
        }
    }

    /// True when the database answers a trivial query.
    pub async fn is_reachable(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

fn create_sqlite_folder(url: &str) -> anyhow::Result<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("Failed to create {}", parent.display()))?;
        }
    }

    Ok(())
}

/// Reads a UUID stored as text.
pub fn uuid_col(row: &AnyRow, column: &str) -> Result<uuid::Uuid, sqlx::Error> {
    use sqlx::Row;
    let text: String = row.try_get(column)?;
    uuid::Uuid::parse_str(&text).map_err(|err| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: Box::new(err),
    })
}

/// Reads an optional UUID stored as text.
pub fn opt_uuid_col(row: &AnyRow, column: &str) -> Result<Option<uuid::Uuid>, sqlx::Error> {
    use sqlx::Row;
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| uuid::Uuid::parse_str(&t))
        .transpose()
        .map_err(|err| sqlx::Error::ColumnDecode {
            index: column.to_string(),
            source: Box::new(err),
        })
}
