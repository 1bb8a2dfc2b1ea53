//! Database access for requests: a small connection pool and the tenant
//! transaction every request's queries run in.
//!
//! [`begin_tenant`] opens a transaction, switches to the non-owner role
//! [`API_ROLE`] and sets `app.tenant_id` for that transaction only. The
//! row-level security policies of the API's migration compare every row's
//! tenant with that setting, so a query that forgets its tenant filter still
//! sees and writes only the current tenant's rows. Both settings end with the
//! transaction, so a pooled connection never carries a tenant into the next
//! request.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::{Client, NoTls, Transaction};

use crate::schema::API_ROLE;
use crate::tenant::TenantId;

/// A database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The server could not be reached.
    #[error("cannot connect to the database")]
    Connect(#[source] tokio_postgres::Error),
    /// A statement failed.
    #[error("database statement failed: {context}")]
    Query {
        /// What was being done.
        context: &'static str,
        /// The database error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// No database is configured.
    #[error("no database is configured")]
    NotConfigured,
}

/// Maps a statement error, naming what was being done.
pub(crate) fn query(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> DbError {
    move |source| DbError::Query { context, source }
}

/// A bounded pool of connections to one database, opened on demand.
#[derive(Debug, Clone)]
pub struct Pool {
    url: Arc<str>,
    idle: Arc<Mutex<Vec<Client>>>,
    permits: Arc<Semaphore>,
}

impl Pool {
    /// A pool of at most `max_connections` connections to `url`. Connects
    /// lazily, so building it never fails.
    pub fn new(url: &str, max_connections: usize) -> Self {
        Self {
            url: Arc::from(url),
            idle: Arc::default(),
            permits: Arc::new(Semaphore::new(max_connections.max(1))),
        }
    }

    /// A separate pool of `max_connections` to the same database: for a task
    /// that must never wait behind request handlers holding this pool's
    /// connections (the audit writer, which those handlers wait for).
    pub fn sibling(&self, max_connections: usize) -> Self {
        Self::new(&self.url, max_connections)
    }

    /// A connection, waiting while all are in use.
    ///
    /// # Errors
    ///
    /// [`DbError::Connect`] when a new connection cannot be opened.
    pub async fn get(&self) -> Result<PooledClient, DbError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| DbError::NotConfigured)?;
        loop {
            let reused = self.lock_idle().pop();
            match reused {
                Some(client) if !client.is_closed() => {
                    return Ok(self.wrap(client, permit));
                }
                Some(_) => continue,
                None => break,
            }
        }
        let (client, connection) = tokio_postgres::connect(&self.url, NoTls)
            .await
            .map_err(DbError::Connect)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "API database connection ended");
            }
        });
        Ok(self.wrap(client, permit))
    }

    fn wrap(&self, client: Client, permit: OwnedSemaphorePermit) -> PooledClient {
        PooledClient {
            client: Some(client),
            idle: Arc::clone(&self.idle),
            _permit: permit,
        }
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Client>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connection borrowed from a [`Pool`]; returned to it on drop.
#[derive(Debug)]
pub struct PooledClient {
    client: Option<Client>,
    idle: Arc<Mutex<Vec<Client>>>,
    _permit: OwnedSemaphorePermit,
}

impl PooledClient {
    /// The connection.
    ///
    /// # Panics
    ///
    /// Never: the client is only taken out on drop.
    pub fn client(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until drop")
    }
}

impl Drop for PooledClient {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if !client.is_closed() {
                self.idle
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(client);
            }
        }
    }
}

/// Begins a transaction that runs as [`API_ROLE`] with `tenant` as the current
/// tenant. Commit it, or drop it to roll back; either way the role and the
/// tenant end with it.
///
/// # Errors
///
/// When a statement fails.
pub async fn begin_tenant<'a>(
    client: &'a mut Client,
    tenant: &TenantId,
) -> Result<Transaction<'a>, DbError> {
    let tx = client.transaction().await.map_err(query("begin"))?;
    // The role name is a constant, never input; SET cannot take a parameter.
    tx.batch_execute(&format!("SET LOCAL ROLE {API_ROLE}"))
        .await
        .map_err(query("switch to the API role"))?;
    tx.execute(
        "SELECT set_config('app.tenant_id', $1, true)",
        &[&tenant.as_str()],
    )
    .await
    .map_err(query("set the tenant"))?;
    Ok(tx)
}
