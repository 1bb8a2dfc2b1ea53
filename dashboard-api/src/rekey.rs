//! Moving a site to a new `HEALTHSPHERE_API_SECRET` (`gateway secret
//! rotate`).
//!
//! Every key of the API is derived from that one secret: the token signing
//! key, the key that seals TOTP secrets, the PHI key that seals patients'
//! identity and staff messages, and the keyed hash that finds a patient by
//! MRN. Changing the secret therefore means opening everything sealed under
//! the old keys and sealing it again under the new ones, and recomputing the
//! MRN hashes. [`rekey`] does that for one site in one transaction: it
//! either moves every row or none. It also revokes the site's sessions: a
//! rotation usually follows a suspected leak, and every signed-in user signs
//! in again.
//!
//! The tables are locked against writes for the duration, so no row is
//! missed; the site's API must still be stopped first and started with the
//! new secret afterwards, since a running process keeps sealing with the
//! old keys. A row that does not open under the old secret stops the
//! rotation and is named by table and id (never its contents).
//!
//! [`SEALED_COLUMNS`] lists every sealed column; a test checks it against
//! the migrations, so a new sealed column cannot be forgotten here.

use tokio_postgres::{Client, Transaction};

use crate::audit::{self, Action, AuditEvent};
use crate::core::ApiCore;
use crate::tenant::TenantId;

/// Every column sealed under a key derived from the API secret, by table.
pub const SEALED_COLUMNS: &[(&str, &str)] = &[
    ("users", "totp_sealed"),
    ("patients", "mrn_sealed"),
    ("patients", "name_sealed"),
    ("patients", "birth_sealed"),
    ("staff_messages", "subject_sealed"),
    ("staff_messages", "body_sealed"),
];

/// What a rotation moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RekeyReport {
    /// Users whose TOTP secret was sealed again.
    pub totp_secrets: u64,
    /// Patients whose identity was sealed again and MRN hash recomputed.
    pub patients: u64,
    /// Staff messages sealed again.
    pub messages: u64,
    /// Sessions ended.
    pub sessions_revoked: u64,
}

/// Why a rotation did not happen. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum RekeyError {
    /// The old and new secrets are the same.
    #[error("the new secret is the old one")]
    SameSecret,
    /// A sealed value did not open under the old secret: the old secret is
    /// wrong, or the row was altered.
    #[error("{table} row {id} does not open under the old secret")]
    DoesNotOpen {
        /// The table.
        table: &'static str,
        /// The row's id.
        id: String,
    },
    /// The database refused.
    #[error("{what}: {source}")]
    Database {
        /// What was being done.
        what: &'static str,
        /// The error.
        source: tokio_postgres::Error,
    },
    /// The rotation's audit entry could not be written.
    #[error("audit the rotation: {0}")]
    Audit(#[source] crate::db::DbError),
    /// The random source failed while sealing.
    #[error("the random source failed")]
    Random,
}

fn db(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> RekeyError {
    move |source| RekeyError::Database { what, source }
}

/// Moves `tenant`'s sealed data from `old`'s secret to `new`'s and revokes
/// its sessions, in one transaction of `client` (the owner of the tables).
///
/// # Errors
///
/// See [`RekeyError`]; on any error nothing is changed.
pub async fn rekey(
    client: &mut Client,
    tenant: &TenantId,
    old: &ApiCore,
    new: &ApiCore,
) -> Result<RekeyReport, RekeyError> {
    if old.mrn_hash(tenant, "probe") == new.mrn_hash(tenant, "probe") {
        return Err(RekeyError::SameSecret);
    }
    let tx = client.transaction().await.map_err(db("begin"))?;
    tx.execute(
        "SELECT set_config('app.tenant_id', $1, true)",
        &[&tenant.as_str()],
    )
    .await
    .map_err(db("set the tenant"))?;
    tx.batch_execute(
        "LOCK TABLE users, patients, staff_messages, session_families IN EXCLUSIVE MODE",
    )
    .await
    .map_err(db("lock the sealed tables"))?;
    let report = RekeyReport {
        totp_secrets: totp(&tx, tenant, old, new).await?,
        patients: patients(&tx, tenant, old, new).await?,
        messages: messages(&tx, tenant, old, new).await?,
        sessions_revoked: tx
            .execute(
                "UPDATE session_families SET revoked_at = now()
                 WHERE tenant_id = $1 AND revoked_at IS NULL",
                &[&tenant.as_str()],
            )
            .await
            .map_err(db("revoke the sessions"))?,
    };
    let mut e = AuditEvent::new(tenant, Action::U, "secret.rotate", "site");
    e.actor_name = "gateway secret rotate".to_owned();
    e.entity_id = Some(tenant.as_str().to_owned());
    e.reason = Some(format!(
        "{} TOTP secrets, {} patients, {} messages resealed; {} sessions revoked",
        report.totp_secrets, report.patients, report.messages, report.sessions_revoked
    ));
    audit::append(&tx, &e).await.map_err(RekeyError::Audit)?;
    tx.commit().await.map_err(db("commit"))?;
    Ok(report)
}

/// A value's plain text and its new sealed form.
type Resealed = (Vec<u8>, Vec<u8>);

/// Opens `sealed` with `open` and seals it again with `seal`.
fn reseal(
    table: &'static str,
    id: &str,
    sealed: &[u8],
    open: impl Fn(&[u8]) -> Option<Vec<u8>>,
    seal: impl Fn(&[u8]) -> Option<Vec<u8>>,
) -> Result<Resealed, RekeyError> {
    let plain = open(sealed).ok_or_else(|| RekeyError::DoesNotOpen {
        table,
        id: id.to_owned(),
    })?;
    let again = seal(&plain).ok_or(RekeyError::Random)?;
    Ok((plain, again))
}

/// [`reseal`] under the PHI keys for each `(column, field)` of row `at`
/// (table and id), whose contexts `context(id, field)` gives.
fn reseal_phi(
    at: (&'static str, &str),
    row: &tokio_postgres::Row,
    fields: &[(usize, &str)],
    context: fn(&str, &str) -> String,
    (old, new): (&ApiCore, &ApiCore),
) -> Result<Vec<Resealed>, RekeyError> {
    let (table, id) = at;
    fields
        .iter()
        .map(|&(col, field)| {
            let ctx = context(id, field);
            reseal(
                table,
                id,
                row.get(col),
                |s| old.open_phi(s, &ctx).ok(),
                |p| new.seal_phi(p, &ctx).ok(),
            )
        })
        .collect()
}

async fn totp(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    old: &ApiCore,
    new: &ApiCore,
) -> Result<u64, RekeyError> {
    let rows = tx
        .query(
            "SELECT id, totp_sealed FROM users WHERE tenant_id = $1 AND totp_sealed IS NOT NULL",
            &[&tenant.as_str()],
        )
        .await
        .map_err(db("read TOTP secrets"))?;
    for r in &rows {
        let id: String = r.get(0);
        let (_, sealed) = reseal(
            "users",
            &id,
            r.get(1),
            |s| old.open(s, &id).ok(),
            |p| new.seal(p, &id).ok(),
        )?;
        tx.execute(
            "UPDATE users SET totp_sealed = $2 WHERE id = $1",
            &[&id, &sealed],
        )
        .await
        .map_err(db("reseal a TOTP secret"))?;
    }
    Ok(rows.len() as u64)
}

async fn patients(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    old: &ApiCore,
    new: &ApiCore,
) -> Result<u64, RekeyError> {
    use crate::api::patients::context;
    let rows = tx
        .query(
            "SELECT id, mrn_sealed, name_sealed, birth_sealed FROM patients WHERE tenant_id = $1",
            &[&tenant.as_str()],
        )
        .await
        .map_err(db("read patients"))?;
    for r in &rows {
        let id: String = r.get(0);
        let fields = reseal_phi(
            ("patients", &id),
            r,
            &[(1, "mrn"), (2, "name"), (3, "birth_date")],
            context,
            (old, new),
        )?;
        let mrn = String::from_utf8_lossy(&fields[0].0).into_owned();
        tx.execute(
            "UPDATE patients SET mrn_hash = $2, mrn_sealed = $3, name_sealed = $4,
                 birth_sealed = $5 WHERE id = $1",
            &[
                &id,
                &new.mrn_hash(tenant, &mrn),
                &fields[0].1,
                &fields[1].1,
                &fields[2].1,
            ],
        )
        .await
        .map_err(db("reseal a patient"))?;
    }
    Ok(rows.len() as u64)
}

async fn messages(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    old: &ApiCore,
    new: &ApiCore,
) -> Result<u64, RekeyError> {
    use crate::api::messages::context;
    let rows = tx
        .query(
            "SELECT id, subject_sealed, body_sealed FROM staff_messages WHERE tenant_id = $1",
            &[&tenant.as_str()],
        )
        .await
        .map_err(db("read staff messages"))?;
    for r in &rows {
        let id: String = r.get(0);
        let fields = reseal_phi(
            ("staff_messages", &id),
            r,
            &[(1, "subject"), (2, "body")],
            context,
            (old, new),
        )?;
        tx.execute(
            "UPDATE staff_messages SET subject_sealed = $2, body_sealed = $3 WHERE id = $1",
            &[&id, &fields[0].1, &fields[1].1],
        )
        .await
        .map_err(db("reseal a staff message"))?;
    }
    Ok(rows.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sealed_column_of_the_migrations_is_rekeyed() {
        let mut found = Vec::new();
        for m in crate::schema::MIGRATIONS {
            let mut table = "";
            for line in m.sql.lines().map(str::trim) {
                if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                    table = rest.split_whitespace().next().unwrap_or("");
                }
                let column = line.split_whitespace().next().unwrap_or("");
                if column.ends_with("_sealed") && !line.starts_with("--") {
                    found.push((table, column));
                }
            }
        }
        found.sort_unstable();
        let mut listed = SEALED_COLUMNS.to_vec();
        listed.sort_unstable();
        assert_eq!(found, listed);
    }
}
