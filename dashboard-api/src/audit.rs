//! The append-only, hash-chained audit log.
//!
//! Each tenant's entries form one chain: an entry's `hash` is SHA-256 over the
//! previous entry's hash (32 zero bytes for the first) and this entry's fields
//! in a fixed, length-prefixed encoding ([`entry_hash`]). `seq` orders the
//! entries and is not hashed, so changing it shows as a reordering. Appends
//! of one tenant are serialised by a transaction-scoped advisory lock, so the
//! chain has no forks.
//!
//! [`verify_chain`] walks a chain and names the first entry that was edited
//! (its hash no longer matches its fields), deleted (an entry's predecessor is
//! missing) or moved (its predecessor comes later in `seq` order).
//!
//! Limitation: deleting the newest entries of a chain leaves a shorter valid
//! chain; the verifier reports the chain head (seq and hash) so an operator
//! can compare it with a copy kept elsewhere.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::digest;
use serde::Serialize;
use tokio_postgres::{GenericClient, Row};

use crate::db::{query, DbError};
use crate::tenant::TenantId;

/// What was done, in FHIR AuditEvent.action terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Action {
    /// Create.
    C,
    /// Read, view or search.
    R,
    /// Update.
    U,
    /// Delete.
    D,
    /// Execute (login, logout, break-the-glass, export).
    E,
}

impl Action {
    fn as_char(self) -> char {
        match self {
            Self::C => 'C',
            Self::R => 'R',
            Self::U => 'U',
            Self::D => 'D',
            Self::E => 'E',
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "C" => Self::C,
            "R" => Self::R,
            "U" => Self::U,
            "D" => Self::D,
            _ => Self::E,
        }
    }
}

/// How it ended, in FHIR AuditEvent.outcome terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// 0: success.
    Success,
    /// 4: the request was refused or failed through the caller's fault.
    MinorFailure,
    /// 8: the server failed.
    SeriousFailure,
}

impl Outcome {
    fn code(self) -> i16 {
        match self {
            Self::Success => 0,
            Self::MinorFailure => 4,
            Self::SeriousFailure => 8,
        }
    }

    fn from_code(code: i16) -> Self {
        match code {
            0 => Self::Success,
            4 => Self::MinorFailure,
            _ => Self::SeriousFailure,
        }
    }
}

/// One audited event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// The tenant it happened in.
    pub tenant_id: String,
    /// When; stored with microsecond precision.
    #[serde(serialize_with = "ser_time")]
    pub recorded_at: SystemTime,
    /// The user, if known.
    pub actor_id: Option<String>,
    /// The user's name, or what was typed at login.
    pub actor_name: String,
    /// The user's roles.
    pub actor_roles: Vec<String>,
    /// What kind of operation.
    pub action: Action,
    /// What happened, a stable dotted name (`auth.login`, `vitals.read`).
    pub event: String,
    /// The kind of record touched (`session`, `bed`, `audit_log`).
    pub entity_type: String,
    /// The record touched.
    pub entity_id: Option<String>,
    /// The patient whose data it was, if any.
    pub patient_id: Option<String>,
    /// Where the request came from (peer address).
    pub source_addr: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Done under break-the-glass access.
    pub break_glass: bool,
    /// Why (break-the-glass reason, failure reason).
    pub reason: Option<String>,
    /// The request id, to find the log lines.
    pub request_id: Option<String>,
}

fn ser_time<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::time::rfc3339(*t))
}

impl AuditEvent {
    /// An event now, with the fields most events share.
    pub fn new(tenant: &TenantId, action: Action, event: &str, entity_type: &str) -> Self {
        Self {
            tenant_id: tenant.as_str().to_owned(),
            recorded_at: micros_precision(SystemTime::now()),
            actor_id: None,
            actor_name: String::new(),
            actor_roles: Vec::new(),
            action,
            event: event.to_owned(),
            entity_type: entity_type.to_owned(),
            entity_id: None,
            patient_id: None,
            source_addr: None,
            outcome: Outcome::Success,
            break_glass: false,
            reason: None,
            request_id: None,
        }
    }
}

/// `t` truncated to whole microseconds, what `timestamptz` stores, so the
/// hash computed before the insert matches the row read back.
pub fn micros_precision(t: SystemTime) -> SystemTime {
    let micros = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros());
    UNIX_EPOCH + Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}

/// The chain hash of `event` after the entry whose hash is `prev`.
///
/// Encoding: `prev` (32 bytes), then each field in declaration order; strings
/// as a 4-byte big-endian length and UTF-8 bytes, absent optional fields as
/// one 0 byte and present ones as 1 then the string, roles joined by `,`,
/// the time as big-endian signed microseconds since the epoch, the outcome as
/// one byte, break-glass as one byte.
pub fn entry_hash(prev: &[u8], e: &AuditEvent) -> [u8; 32] {
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(prev);
    let put = |buf: &mut Vec<u8>, s: &str| {
        buf.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
        buf.extend_from_slice(s.as_bytes());
    };
    let put_opt = |buf: &mut Vec<u8>, s: &Option<String>| match s {
        None => buf.push(0),
        Some(s) => {
            buf.push(1);
            put(buf, s);
        }
    };
    put(&mut buf, &e.tenant_id);
    let micros = e
        .recorded_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    buf.extend_from_slice(&micros.to_be_bytes());
    put_opt(&mut buf, &e.actor_id);
    put(&mut buf, &e.actor_name);
    put(&mut buf, &e.actor_roles.join(","));
    put(&mut buf, &e.action.as_char().to_string());
    put(&mut buf, &e.event);
    put(&mut buf, &e.entity_type);
    put_opt(&mut buf, &e.entity_id);
    put_opt(&mut buf, &e.patient_id);
    put_opt(&mut buf, &e.source_addr);
    buf.push(e.outcome.code().to_be_bytes()[1]);
    buf.push(u8::from(e.break_glass));
    put_opt(&mut buf, &e.reason);
    put_opt(&mut buf, &e.request_id);
    let d = digest::digest(&digest::SHA256, &buf);
    let mut out = [0; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Appends `event` to its tenant's chain inside the caller's transaction,
/// which must be a tenant transaction of the same tenant (or run as the
/// owner). Returns the new entry's `seq`.
///
/// # Errors
///
/// When a statement fails; the caller's transaction is then unusable.
pub async fn append(tx: &impl GenericClient, event: &AuditEvent) -> Result<i64, DbError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('audit_log:' || $1, 0))",
        &[&event.tenant_id],
    )
    .await
    .map_err(query("lock the audit chain"))?;
    let prev: Vec<u8> = tx
        .query_opt(
            "SELECT hash FROM audit_log WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1",
            &[&event.tenant_id],
        )
        .await
        .map_err(query("read the audit chain head"))?
        .map_or_else(|| vec![0; 32], |r| r.get(0));
    let hash = entry_hash(&prev, event).to_vec();
    let action = event.action.as_char().to_string();
    let row = tx
        .query_one(
            "INSERT INTO audit_log (tenant_id, recorded_at, actor_id, actor_name, actor_roles,
                 action, event, entity_type, entity_id, patient_id, source_addr, outcome,
                 break_glass, reason, request_id, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             RETURNING seq",
            &[
                &event.tenant_id,
                &event.recorded_at,
                &event.actor_id,
                &event.actor_name,
                &event.actor_roles,
                &action,
                &event.event,
                &event.entity_type,
                &event.entity_id,
                &event.patient_id,
                &event.source_addr,
                &event.outcome.code(),
                &event.break_glass,
                &event.reason,
                &event.request_id,
                &prev,
                &hash,
            ],
        )
        .await
        .map_err(query("append to the audit log"))?;
    Ok(row.get(0))
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredEntry {
    /// Order in the log.
    pub seq: i64,
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// The previous entry's hash, hex in JSON.
    #[serde(serialize_with = "ser_hex")]
    pub prev_hash: Vec<u8>,
    /// This entry's hash, hex in JSON.
    #[serde(serialize_with = "ser_hex")]
    pub hash: Vec<u8>,
}

fn ser_hex<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(b))
}

/// Lowercase hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// The columns [`from_row`] reads, in order.
pub const COLUMNS: &str = "seq, tenant_id, recorded_at, actor_id, actor_name, actor_roles, \
     action::text, event, entity_type, entity_id, patient_id, source_addr, outcome, \
     break_glass, reason, request_id, prev_hash, hash";

/// An entry from a row selected with [`COLUMNS`].
pub fn from_row(r: &Row) -> StoredEntry {
    let action: String = r.get(6);
    StoredEntry {
        seq: r.get(0),
        event: AuditEvent {
            tenant_id: r.get(1),
            recorded_at: r.get(2),
            actor_id: r.get(3),
            actor_name: r.get(4),
            actor_roles: r.get(5),
            action: Action::parse(&action),
            event: r.get(7),
            entity_type: r.get(8),
            entity_id: r.get(9),
            patient_id: r.get(10),
            source_addr: r.get(11),
            outcome: Outcome::from_code(r.get(12)),
            break_glass: r.get(13),
            reason: r.get(14),
            request_id: r.get(15),
        },
        prev_hash: r.get(16),
        hash: r.get(17),
    }
}

/// Something wrong with a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// The entry's fields no longer match its hash.
    Edited {
        /// The entry.
        seq: i64,
    },
    /// The entry's predecessor is not in the log.
    PredecessorMissing {
        /// The entry whose predecessor was deleted.
        seq: i64,
    },
    /// The entry's predecessor is in the log, but not right before it.
    OutOfOrder {
        /// The entry.
        seq: i64,
        /// Where its predecessor is.
        predecessor_seq: i64,
    },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Edited { seq } => write!(f, "entry {seq} was edited: its hash does not match"),
            Self::PredecessorMissing { seq } => {
                write!(
                    f,
                    "the entry before {seq} was deleted: its predecessor is missing"
                )
            }
            Self::OutOfOrder {
                seq,
                predecessor_seq,
            } => write!(
                f,
                "entry {seq} is out of order: its predecessor is entry {predecessor_seq}"
            ),
        }
    }
}

/// Checks one tenant's entries, given in `seq` order. Empty when intact.
pub fn verify_chain(entries: &[StoredEntry]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut expected_prev = vec![0u8; 32];
    for e in entries {
        if entry_hash(&e.prev_hash, &e.event).as_slice() != e.hash.as_slice() {
            findings.push(Finding::Edited { seq: e.seq });
        } else if e.prev_hash != expected_prev {
            let elsewhere = entries.iter().find(|x| x.hash == e.prev_hash);
            findings.push(match elsewhere {
                Some(p) => Finding::OutOfOrder {
                    seq: e.seq,
                    predecessor_seq: p.seq,
                },
                None => Finding::PredecessorMissing { seq: e.seq },
            });
        }
        expected_prev.clone_from(&e.hash);
    }
    findings
}

/// The result of verifying one tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// The tenant.
    pub tenant_id: String,
    /// Entries checked.
    pub entries: usize,
    /// The newest entry's seq and hash, to compare with a copy kept elsewhere.
    pub head: Option<(i64, String)>,
    /// What is wrong; empty when intact.
    pub findings: Vec<Finding>,
}

/// Verifies every tenant's chain. Must run as a role that sees every tenant's
/// rows: a superuser or a role with BYPASSRLS (`gateway audit verify` uses the
/// migration URL).
///
/// # Errors
///
/// When a statement fails.
pub async fn verify_all(client: &impl GenericClient) -> Result<Vec<ChainReport>, DbError> {
    let tenants = client
        .query("SELECT DISTINCT tenant_id FROM audit_log ORDER BY 1", &[])
        .await
        .map_err(query("list audit chains"))?;
    let mut reports = Vec::new();
    for t in tenants {
        let tenant: String = t.get(0);
        let rows = client
            .query(
                &format!("SELECT {COLUMNS} FROM audit_log WHERE tenant_id = $1 ORDER BY seq"),
                &[&tenant],
            )
            .await
            .map_err(query("read an audit chain"))?;
        let entries: Vec<StoredEntry> = rows.iter().map(from_row).collect();
        reports.push(ChainReport {
            head: entries.last().map(|e| (e.seq, hex(&e.hash))),
            entries: entries.len(),
            findings: verify_chain(&entries),
            tenant_id: tenant,
        });
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<StoredEntry> {
        let tenant = TenantId::parse("t").unwrap();
        let mut prev = vec![0u8; 32];
        (0..n)
            .map(|i| {
                let mut event = AuditEvent::new(&tenant, Action::R, "vitals.read", "bed");
                event.entity_id = Some(format!("bed-{i}"));
                event.recorded_at = UNIX_EPOCH + Duration::from_secs(1_000 + i as u64);
                let hash = entry_hash(&prev, &event).to_vec();
                let entry = StoredEntry {
                    seq: i as i64 + 1,
                    event,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                entry
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert!(verify_chain(&chain(5)).is_empty());
        assert!(verify_chain(&[]).is_empty());
    }

    #[test]
    fn an_edit_names_the_entry() {
        let mut c = chain(5);
        c[2].event.entity_id = Some("bed-99".into());
        assert_eq!(verify_chain(&c), vec![Finding::Edited { seq: 3 }]);
    }

    #[test]
    fn a_deletion_names_the_entry_after_the_gap() {
        let mut c = chain(5);
        c.remove(2);
        assert_eq!(
            verify_chain(&c),
            vec![Finding::PredecessorMissing { seq: 4 }]
        );
        let mut first_gone = chain(3);
        first_gone.remove(0);
        assert_eq!(
            verify_chain(&first_gone),
            vec![Finding::PredecessorMissing { seq: 2 }]
        );
    }

    #[test]
    fn a_swap_names_the_moved_entries() {
        let mut c = chain(5);
        c.swap(1, 2);
        let (a, b) = (c[1].seq, c[2].seq);
        c[1].seq = b;
        c[2].seq = a;
        // Now seq 2 holds the third event, whose predecessor comes after it.
        assert_eq!(
            verify_chain(&c),
            vec![
                Finding::OutOfOrder {
                    seq: 2,
                    predecessor_seq: 3
                },
                Finding::OutOfOrder {
                    seq: 3,
                    predecessor_seq: 1
                },
                Finding::OutOfOrder {
                    seq: 4,
                    predecessor_seq: 2
                },
            ]
        );
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let base = chain(1).remove(0);
        let h = |e: &AuditEvent| entry_hash(&base.prev_hash, e);
        let mut variants = Vec::new();
        let mut e = base.event.clone();
        e.outcome = Outcome::MinorFailure;
        variants.push(e);
        let mut e = base.event.clone();
        e.break_glass = true;
        variants.push(e);
        let mut e = base.event.clone();
        e.source_addr = Some(String::new());
        variants.push(e);
        let mut e = base.event.clone();
        e.actor_roles = vec!["nurse".into()];
        variants.push(e);
        let mut e = base.event.clone();
        e.recorded_at += Duration::from_micros(1);
        variants.push(e);
        for v in &variants {
            assert_ne!(h(v), h(&base.event), "{v:?}");
        }
    }
}
