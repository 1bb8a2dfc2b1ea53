//! Helpers shared by HealthSphere's integration tests: a throwaway database on the
//! real TimescaleDB, a TCP proxy that can cut the database off, and waiting for a
//! condition with a deadline.
//!
//! The database tests need the TimescaleDB that `deploy/timescaledb.sh` starts. Its
//! URL comes from `HEALTHSPHERE_TEST_DATABASE_URL` (default: that script's URL).
//! When the server cannot be reached the tests skip with a message, so `cargo test`
//! works anywhere; `deploy/test.sh` (and CI) sets `HEALTHSPHERE_REQUIRE_DB=1`,
//! which turns a missing database into a failure.

mod proxy;

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub use proxy::{server_addr, PgProxy};
use tokio_postgres::{Client, NoTls};

/// The default test server: what `deploy/timescaledb.sh` starts.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:55432/postgres";

/// The URL of the server's maintenance database.
pub fn admin_url() -> String {
    std::env::var("HEALTHSPHERE_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

fn database_required() -> bool {
    std::env::var("HEALTHSPHERE_REQUIRE_DB").is_ok_and(|v| v == "1")
}

/// Connects to `url`, driving the connection on a background task.
///
/// # Panics
///
/// When the connection fails.
pub async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(conn);
    client
}

/// A database created for one test and dropped afterwards.
#[derive(Debug)]
pub struct TestDb {
    /// Connection URL of the new database.
    pub url: String,
    name: String,
    admin: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// Creates an empty database on the test server. Returns `None` (after saying
    /// why) when the server is unreachable and the database is not required.
    ///
    /// # Panics
    ///
    /// When the server is unreachable and `HEALTHSPHERE_REQUIRE_DB=1`.
    pub async fn create(test: &str) -> Option<Self> {
        let admin = admin_url();
        let client = match tokio_postgres::connect(&admin, NoTls).await {
            Ok((client, conn)) => {
                tokio::spawn(conn);
                client
            }
            Err(e) if database_required() => panic!("test database {admin} unreachable: {e}"),
            Err(e) => {
                skip(
                    test,
                    &format!("no TimescaleDB at {admin} ({e}); run deploy/timescaledb.sh"),
                );
                return None;
            }
        };
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "hs_test_{}_{}_{n}",
            test.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            std::process::id()
        );
        // Two statements: neither may run inside the implicit transaction of a
        // multi-statement query.
        for sql in [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ] {
            client
                .batch_execute(&sql)
                .await
                .expect("create the test database");
        }
        let url = url_with_dbname(&admin, &name);
        Some(Self { url, name, admin })
    }

    /// A client of this database.
    pub async fn client(&self) -> Client {
        connect(&self.url).await
    }

    /// Drops the database. Tests call this at the end; a failed test leaves its
    /// database behind for inspection (names start with `hs_test_`).
    pub async fn drop_db(self) {
        let client = connect(&self.admin).await;
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        client
            .batch_execute(&sql)
            .await
            .expect("drop the test database");
    }
}

#[expect(
    clippy::print_stderr,
    reason = "a skipped test says why in the test output"
)]
fn skip(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why}");
}

/// Replaces the database name at the end of a `postgres://` URL.
pub fn url_with_dbname(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{name}{query}", &base[..host_end])
}

/// Polls `check` every few milliseconds until it returns true.
///
/// Used where the system under test offers no signal to await (a row count in the
/// database, a counter in another process).
///
/// # Panics
///
/// When `limit` passes first; the message names `what`.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Rows in `vitals`, and distinct sample keys among them.
pub async fn count_vitals(client: &Client) -> (i64, i64) {
    let row = client
        .query_one(
            "SELECT count(*), count(DISTINCT (tenant_id, device_id, metric, time)) FROM vitals",
            &[],
        )
        .await
        .expect("count vitals");
    (row.get(0), row.get(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced_in_urls() {
        assert_eq!(
            url_with_dbname("postgres://u@h:5/postgres", "x"),
            "postgres://u@h:5/x"
        );
        assert_eq!(
            url_with_dbname("postgres://u@h:5", "x"),
            "postgres://u@h:5/x"
        );
        assert_eq!(
            url_with_dbname("postgres://h/db?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
    }
}
