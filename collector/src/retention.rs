//! Retention of raw vitals, on both TimescaleDB editions.
//!
//! The full edition has retention policies; the Apache edition (what Debian
//! packages) does not, but both have `drop_chunks`. So the gateway runs the
//! job itself: at start and every [`EVERY`], it drops the chunks of `vitals`
//! whose whole time range is older than the retention period. Dropping a
//! chunk is cheap and returns its disk at once, where a `DELETE` would leave
//! dead rows for vacuum.
//!
//! What a site keeps is its own policy: without `database.retention_days`
//! nothing is dropped. Chunks cover one day, so rows live between the
//! retention period and one day more. A sample replayed from the spool after
//! a very long outage, older than the period, is written and then dropped at
//! the next run: the stated policy applies to it like to any other row.
//! Every dropped chunk is counted in `collector_retention_chunks_dropped_total`
//! and logged.

use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres::{Client, NoTls};

use crate::CollectorMetrics;

/// How often the job runs.
pub const EVERY: Duration = Duration::from_secs(3600);

/// Drops the chunks of `vitals` entirely older than `keep_days` days and
/// returns their names.
///
/// # Errors
///
/// When the statement fails.
pub async fn drop_expired(
    client: &Client,
    keep_days: u32,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let days = i32::try_from(keep_days).unwrap_or(i32::MAX);
    let rows = client
        .query(
            "SELECT drop_chunks('vitals', older_than => make_interval(days => $1))::text",
            &[&days],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Runs [`drop_expired`] at once and then every [`EVERY`] until `shutdown`
/// turns true. A failed run (the database away) is logged and tried again
/// at the next.
pub async fn run(
    database_url: String,
    keep_days: u32,
    metrics: CollectorMetrics,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => return,
        }
        match once(&database_url, keep_days).await {
            Ok(dropped) => {
                metrics
                    .retention_chunks_dropped
                    .inc_by(dropped.len() as u64);
                if !dropped.is_empty() {
                    tracing::info!(chunks = dropped.len(), keep_days, "Expired vitals dropped");
                }
            }
            Err(e) => tracing::warn!(error = %e, "Retention run failed; next run in an hour"),
        }
    }
}

async fn once(url: &str, keep_days: u32) -> Result<Vec<String>, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    let conn = tokio::spawn(connection);
    let dropped = drop_expired(&client, keep_days).await;
    drop(client);
    let _ = conn.await;
    dropped
}
