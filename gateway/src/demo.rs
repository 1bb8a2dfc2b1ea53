//! Support for `gateway demo`.

use anyhow::Context as _;
use tokio_postgres::NoTls;

/// Creates the database named in `url` when it does not exist yet, by connecting
/// to the server's `postgres` database. Only the demo does this; a production
/// database is created by its administrator.
///
/// # Errors
///
/// When the server cannot be reached or the database cannot be created.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let mut config: tokio_postgres::Config = url.parse().context("parse the database URL")?;
    let name = config.get_dbname().unwrap_or("postgres").to_owned();
    config.dbname("postgres");
    let (client, conn) = config
        .connect(NoTls)
        .await
        .context("connect to the demo database server; is deploy/timescaledb.sh running?")?;
    tokio::spawn(conn);
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .context("look up the demo database")?
        .is_some();
    if !exists {
        let quoted = name.replace('"', "\"\"");
        client
            .batch_execute(&format!("CREATE DATABASE \"{quoted}\""))
            .await
            .with_context(|| format!("create the demo database {name}"))?;
    }
    Ok(())
}
