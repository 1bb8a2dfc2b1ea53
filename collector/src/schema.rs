//! The time-series schema: versioned migrations and TimescaleDB edition detection.
//!
//! Migrations are SQL files compiled into the binary, applied in order, each in its
//! own transaction, under an advisory lock so two gateways starting together do not
//! race. Each applied migration is recorded in `schema_migrations` with a SHA-256 of
//! its text; a shipped migration that was edited after it was applied is an error,
//! since the database no longer matches what the code believes.
//!
//! TimescaleDB comes in two editions. The Apache edition (what Debian packages) has
//! hypertables and `time_bucket`; the Timescale-licensed edition adds compression,
//! continuous aggregates and policies. [`migrate`] detects the edition and, on the
//! full edition, compresses `vitals` chunks older than [`COMPRESS_AFTER_DAYS`] days:
//! well past the longest backfill after an outage, since late writes into
//! compressed chunks are slow.

use std::fmt;

use tokio_postgres::Client;

/// One schema change.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Applied in increasing order; never reused.
    pub version: i32,
    /// Short description, stored with the version.
    pub name: &'static str,
    /// The SQL, run as one transaction.
    pub sql: &'static str,
}

/// Every migration of the collector's schema, in order.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "vitals hypertable and ingest progress",
    sql: include_str!("../migrations/0001_vitals.sql"),
}];

/// Chunks of `vitals` older than this are compressed on the full edition.
pub const COMPRESS_AFTER_DAYS: u32 = 7;

const ADVISORY_LOCK_KEY: i64 = 0x4853_5348_454d_4131; // "HSSHEMA1"

const CREATE_LEDGER: &str = "
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer     PRIMARY KEY,
        name       text        NOT NULL,
        checksum   text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
    )";

/// Which TimescaleDB edition the database runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edition {
    /// Apache 2 licensed: hypertables and `time_bucket`, no compression or policies.
    Apache,
    /// Timescale licensed (community): compression, continuous aggregates, policies.
    Timescale,
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Apache => "apache",
            Self::Timescale => "timescale",
        })
    }
}

/// What [`migrate`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// The TimescaleDB edition.
    pub edition: Edition,
    /// The TimescaleDB extension version.
    pub timescaledb_version: String,
    /// Versions applied by this call.
    pub applied: Vec<i32>,
    /// TimescaleDB features in use with this edition.
    pub features: Vec<&'static str>,
}

/// The schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The server has no TimescaleDB extension installed.
    #[error(
        "the TimescaleDB extension is not installed on this PostgreSQL server; install \
         the timescaledb package for this PostgreSQL version and add timescaledb to \
         shared_preload_libraries, or run deploy/timescaledb.sh for a local one"
    )]
    ExtensionMissing,
    /// The extension is installed but not preloaded.
    #[error(
        "TimescaleDB is installed but not loaded: add timescaledb to \
         shared_preload_libraries in postgresql.conf and restart PostgreSQL"
    )]
    ExtensionNotPreloaded,
    /// An applied migration differs from the shipped one.
    #[error("migration {version} was changed after it was applied (checksum mismatch)")]
    Changed {
        /// The migration's version.
        version: i32,
    },
    /// A statement failed.
    #[error("{context}")]
    Db {
        /// What was being done.
        context: &'static str,
        /// The database error.
        #[source]
        source: tokio_postgres::Error,
    },
}

impl SchemaError {
    /// Whether the failure was losing or not reaching the server, which a retry
    /// may cure, rather than a problem with the database itself.
    pub fn is_connection(&self) -> bool {
        match self {
            Self::Db { source, .. } => source.is_closed() || source.as_db_error().is_none(),
            _ => false,
        }
    }
}

fn db(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> SchemaError {
    move |source| SchemaError::Db { context, source }
}

/// Brings the schema up to date and reports the TimescaleDB edition.
///
/// # Errors
///
/// See [`SchemaError`]: a missing extension says how to install it.
pub async fn migrate(client: &mut Client) -> Result<MigrationReport, SchemaError> {
    migrate_with(client, &[]).await
}

/// Like [`migrate`], then applies the migrations of crates built on the
/// collector (alarm tables, the API's relational tables), each set in its own
/// range of versions, in the order given, in the same transaction and under the
/// same lock. The ledger is shared, so a version must be unique across all sets.
///
/// # Errors
///
/// See [`SchemaError`].
pub async fn migrate_with(
    client: &mut Client,
    more: &[&[Migration]],
) -> Result<MigrationReport, SchemaError> {
    ensure_extension(client).await?;
    let (edition, timescaledb_version) = detect_edition(client).await?;

    let tx = client.transaction().await.map_err(db("begin migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ADVISORY_LOCK_KEY])
        .await
        .map_err(db("take the migration lock"))?;
    tx.batch_execute(CREATE_LEDGER)
        .await
        .map_err(db("create schema_migrations"))?;
    let rows = tx
        .query("SELECT version, checksum FROM schema_migrations", &[])
        .await
        .map_err(db("read schema_migrations"))?;
    let applied_before: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut applied = Vec::new();
    // Collected up front: a chained iterator over borrowed slices held across the
    // awaits below makes the future's lifetimes too general to be `Send`.
    let all: Vec<&Migration> = MIGRATIONS
        .iter()
        .chain(more.iter().flat_map(|set| set.iter()))
        .collect();
    for m in all {
        let sum = checksum(m.sql);
        match applied_before.iter().find(|(v, _)| *v == m.version) {
            Some((_, stored)) if *stored == sum => continue,
            Some(_) => return Err(SchemaError::Changed { version: m.version }),
            None => {}
        }
        tx.batch_execute(m.sql)
            .await
            .map_err(db("apply a migration"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &sum],
        )
        .await
        .map_err(db("record a migration"))?;
        applied.push(m.version);
    }
    tx.commit().await.map_err(db("commit migrations"))?;

    let mut features = vec!["hypertables", "time_bucket"];
    if edition == Edition::Timescale {
        enable_compression(client).await?;
        features.push("compression");
    }
    Ok(MigrationReport {
        edition,
        timescaledb_version,
        applied,
        features,
    })
}

async fn ensure_extension(client: &Client) -> Result<(), SchemaError> {
    let available = client
        .query_opt(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'",
            &[],
        )
        .await
        .map_err(db("look for the timescaledb extension"))?;
    if available.is_none() {
        return Err(SchemaError::ExtensionMissing);
    }
    match client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if is_preload_error(&e) => Err(SchemaError::ExtensionNotPreloaded),
        Err(e) => Err(SchemaError::Db {
            context: "create the timescaledb extension",
            source: e,
        }),
    }
}

fn is_preload_error(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|d| d.message().contains("preload"))
}

/// The edition and version of the TimescaleDB extension in this database.
///
/// # Errors
///
/// When the settings cannot be read.
pub async fn detect_edition(client: &Client) -> Result<(Edition, String), SchemaError> {
    let row = client
        .query_one(
            "SELECT current_setting('timescaledb.license', true),
                    (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb')",
            &[],
        )
        .await
        .map_err(db("read the timescaledb edition"))?;
    let license: Option<String> = row.get(0);
    let version: Option<String> = row.get(1);
    let edition = match license.as_deref() {
        Some("timescale") => Edition::Timescale,
        _ => Edition::Apache,
    };
    Ok((edition, version.unwrap_or_default()))
}

async fn enable_compression(client: &Client) -> Result<(), SchemaError> {
    let sql = format!(
        "ALTER TABLE vitals SET (
             timescaledb.compress,
             timescaledb.compress_segmentby = 'tenant_id, bed_id',
             timescaledb.compress_orderby = 'time DESC');
         SELECT add_compression_policy('vitals', INTERVAL '{COMPRESS_AFTER_DAYS} days',
                                       if_not_exists => true);"
    );
    client
        .batch_execute(&sql)
        .await
        .map_err(db("enable vitals compression"))
}

fn checksum(sql: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, sql.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_strictly() {
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version);
        }
        assert_eq!(MIGRATIONS[0].version, 1);
    }

    #[test]
    fn checksum_is_sha256_hex() {
        // SHA-256 of the empty string.
        assert_eq!(
            checksum(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
