//! Group commit for audit entries of reads.
//!
//! Appending to a hash chain serialises the appends of a tenant, and each
//! commit waits for the disk. Done in each request's own transaction, that
//! caps a site at one read per disk flush. Requests instead hand their entry
//! to one writer task, which appends everything waiting in one transaction
//! (one flush for the lot) and then answers each request. A request still
//! returns its data only after its entry is durable: if the batch fails, the
//! request fails.
//!
//! Writes (user changes, logins) keep appending inside their own
//! transaction, so a change and its audit entry commit together.

use std::collections::BTreeMap;

use tokio::sync::{mpsc, oneshot};

use crate::audit::{self, AuditEvent};
use crate::db::{begin_tenant, query, DbError, Pool};
use crate::tenant::TenantId;

/// Entries one transaction takes at most.
pub const MAX_BATCH: usize = 512;
/// Entries that may wait for the writer.
pub const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<(), String>>;

/// Hands entries to the writer task.
#[derive(Debug, Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<(AuditEvent, Reply)>,
}

impl AuditWriter {
    /// Starts the writer task on the current runtime.
    pub fn start(pool: Pool) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, rx));
        Self { tx }
    }

    /// Appends `event` and waits until it is committed.
    ///
    /// # Errors
    ///
    /// When the writer is gone or the batch failed; the text says why.
    pub async fn record(&self, event: AuditEvent) -> Result<(), String> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send((event, reply))
            .await
            .map_err(|_| "the audit writer stopped".to_owned())?;
        done.await
            .map_err(|_| "the audit writer stopped".to_owned())?
    }
}

async fn run(pool: Pool, mut rx: mpsc::Receiver<(AuditEvent, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let result = write(&pool, &batch).await.map_err(|e| {
            let text = crate::problem::error_chain(&e);
            tracing::error!(error = %text, entries = batch.len(), "Audit batch failed");
            text
        });
        for (_, reply) in batch.drain(..) {
            let _ = reply.send(result.clone());
        }
    }
}

async fn write(pool: &Pool, batch: &[(AuditEvent, Reply)]) -> Result<(), DbError> {
    let mut by_tenant: BTreeMap<&str, Vec<&AuditEvent>> = BTreeMap::new();
    for (e, _) in batch {
        by_tenant.entry(e.tenant_id.as_str()).or_default().push(e);
    }
    let mut conn = pool.get().await?;
    let mut tenants = by_tenant.into_iter();
    let Some((first, entries)) = tenants.next() else {
        return Ok(());
    };
    let first = TenantId::parse(first).map_err(|_| DbError::NotConfigured)?;
    let tx = begin_tenant(conn.client(), &first).await?;
    for e in entries {
        audit::append(&tx, e).await?;
    }
    for (tenant, entries) in tenants {
        tx.execute("SELECT set_config('app.tenant_id', $1, true)", &[&tenant])
            .await
            .map_err(query("switch the audit tenant"))?;
        for e in entries {
            audit::append(&tx, e).await?;
        }
    }
    tx.commit().await.map_err(query("commit audit entries"))
}
