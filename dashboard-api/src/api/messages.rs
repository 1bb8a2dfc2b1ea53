//! `/api/v1/messages`: staff messaging. A member of staff writes to one
//! colleague, to every holder of a role (the physicians, the pharmacy) or to
//! a ward, optionally about a patient.
//!
//! Subject and body may carry protected health information: each is sealed
//! with the PHI key (see [`crate::core::ApiCore::seal_phi`]), bound to the
//! message id and the field like patients' names, and opened only for a
//! caller who may read the message. Sending, every opening of a message's
//! text (each message of a list page included) and every new receipt are
//! audited; an entry about a message that names a patient names the patient.
//!
//! Who may read a message: its sender, its recipient user, the holders of
//! its recipient role, and, for a ward message, the site's clinical ward
//! staff (roles that may read vitals: physicians, nurses, charge nurses).
//! Anyone else gets 404, as for a message that does not exist, so an id
//! reveals nothing; listing a ward's messages without being ward staff is
//! 403.
//!
//! After the send commits, `staff:message:new` goes to the recipient's live
//! connections (see [`crate::events`]): the user's, the role holders', or
//! those following the ward. It carries the id, sender, priority, time and
//! recipient, never the subject or body: the client fetches the message,
//! and that read is audited.
//!
//! Limits: there are no staff-to-ward assignments yet, so a ward message is
//! readable by the clinical staff of every ward of the site, and its live
//! event reaches only the connections that follow the ward (`{"subscribe":
//! {"ward": ..}}`). Messages cannot be changed,
//! withdrawn or deleted. A receipt records that a reader marked the message
//! read; opening it does not.

use std::time::SystemTime;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;
use tokio_postgres::{Row, Transaction};

use super::message_draft::{draft, Draft, Named, NewMessage};
use super::{core, Fields};
use crate::audit::{self, Action};
use crate::core::ApiCore;
use crate::db::{begin_tenant, query};
use crate::events::{Audience, EventName, ModuleEvent};
use crate::http::{JsonBody, Principal};
use crate::problem::ApiError;
use crate::roles::{best_access, Access, Permission, Role};
use crate::state::AppState;
use crate::time::rfc3339;

/// Who a message is addressed to: exactly one user, role or ward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// One user of the site, by id.
    User(String),
    /// Every holder of the role.
    Role(Role),
    /// A ward, by the id admissions use.
    Ward(String),
}

impl Recipient {
    /// The live connections that hear of a new message.
    fn audience(&self) -> Audience {
        match self {
            Self::User(u) => Audience::User(u.clone()),
            Self::Role(r) => Audience::Role(*r),
            Self::Ward(w) => Audience::Ward(w.clone()),
        }
    }

    /// For audit entries: `user <id>`, `role <name>`, `ward <id>`.
    fn describe(&self) -> String {
        match self {
            Self::User(u) => format!("to user {u}"),
            Self::Role(r) => format!("to role {}", r.as_str()),
            Self::Ward(w) => format!("to ward {w}"),
        }
    }

    /// The three recipient columns of a row, starting at `col`.
    fn from_row(r: &Row, col: usize) -> Result<Self, ApiError> {
        let user: Option<String> = r.get(col);
        let role: Option<String> = r.get(col + 1);
        let ward: Option<String> = r.get(col + 2);
        match (user, role.as_deref().map(Role::parse), ward) {
            (Some(u), None, None) => Ok(Self::User(u)),
            (None, Some(Some(role)), None) => Ok(Self::Role(role)),
            (None, None, Some(w)) => Ok(Self::Ward(w)),
            _ => Err(ApiError::internal(
                &"a message row names no single recipient",
            )),
        }
    }
}

/// The columns [`head`] reads, in order; the message table is `m`.
pub(super) const COLUMNS: &str = "m.id, m.sender_id, m.recipient_user_id, m.recipient_role, \
     m.recipient_ward_id, m.priority, m.patient_id, m.sent_at, m.subject_sealed";

/// The messages the caller (`$1` the user id, `$2` its [`audiences`]) may
/// read.
pub(super) const VISIBLE: &str = "(m.sender_id = $1 OR m.recipient_user_id = $1 \
     OR m.recipient_role = ANY($2::text[]) \
     OR (m.recipient_ward_id IS NOT NULL AND 'ward_staff' = ANY($2::text[])))";

/// Whether the caller is clinical ward staff, who read a ward's messages:
/// the roles that may read vitals outright. A ward message may be about a
/// patient, and billing, the front desk or the pharmacy have no business
/// with the ward's clinical traffic (minimum necessary).
pub(super) fn ward_staff(who: &Principal) -> bool {
    best_access(&who.roles, Permission::VitalsRead) == Access::Allow
}

/// What every view of a message shows.
#[derive(Debug, Serialize)]
pub(super) struct Head {
    pub(super) id: String,
    sender_id: String,
    to: Recipient,
    priority: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) patient_id: Option<String>,
    subject: String,
    sent_at: String,
}

/// A message with its text and receipts.
#[derive(Debug, Serialize)]
pub struct Message {
    #[serde(flatten)]
    head: Head,
    body: String,
    /// When the caller marked it read, if they did.
    #[serde(skip_serializing_if = "Option::is_none")]
    read_at: Option<String>,
    /// Every reader's receipt, oldest first.
    reads: Vec<Receipt>,
}

/// One reader's receipt.
#[derive(Debug, Serialize)]
pub struct Receipt {
    message_id: String,
    user_id: String,
    read_at: String,
}

pub(crate) fn context(id: &str, field: &str) -> String {
    format!("staff_message:{id}:{field}")
}

/// Opens a sealed field. One that does not open (altered, or sealed under
/// another secret) is a server error whose log line names no PHI.
fn open(core: &ApiCore, id: &str, field: &str, sealed: &[u8]) -> Result<String, ApiError> {
    core.open_phi(sealed, &context(id, field))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::internal(&"a message field does not open under the PHI key"))
}

/// The common part of a row of [`COLUMNS`], subject opened.
pub(super) fn head(core: &ApiCore, r: &Row) -> Result<Head, ApiError> {
    let id: String = r.get(0);
    Ok(Head {
        sender_id: r.get(1),
        to: Recipient::from_row(r, 2)?,
        priority: r.get(5),
        patient_id: r.get(6),
        sent_at: rfc3339(r.get(7)),
        subject: open(core, &id, "subject", r.get(8))?,
        id,
    })
}

/// The caller's role names, and `ward_staff` for [`ward_staff`], for
/// [`VISIBLE`]. (No role is called `ward_staff`, and a message can only be
/// addressed to a role that exists.)
pub(super) fn role_names(who: &Principal) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = who.roles.iter().map(|r| r.as_str()).collect();
    if ward_staff(who) {
        names.push("ward_staff");
    }
    names
}

/// Whether `id` looks like an id this API issues; 404 otherwise.
fn valid_id(id: &str) -> Result<(), ApiError> {
    if is_id(id) {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

pub(super) fn is_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Resolves the recipient and checks that the user and patient it names
/// exist on the caller's site: 422 naming each field that names nothing.
async fn resolve(tx: &Transaction<'_>, d: &Draft) -> Result<Recipient, ApiError> {
    let mut unknown = Fields::default();
    let to = match &d.to {
        Some(Named::User(u)) => {
            let found = tx
                .query_opt(
                    "SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL",
                    &[u],
                )
                .await
                .map_err(query("look up a recipient"))?;
            if found.is_none() {
                unknown.bad("to.user", "names no user of this site");
            }
            Some(Recipient::User(u.clone()))
        }
        Some(Named::Role(r)) => {
            let role = Role::parse(r);
            if role.is_none() {
                unknown.bad("to.role", "names no role of this API");
            }
            role.map(Recipient::Role)
        }
        Some(Named::Ward(w)) => Some(Recipient::Ward(w.clone())),
        None => None,
    };
    if let Some(p) = &d.patient_id {
        let found = tx
            .query_opt("SELECT 1 FROM patients WHERE id = $1", &[p])
            .await
            .map_err(query("look up a patient"))?;
        if found.is_none() {
            unknown.bad("patient_id", "names no patient of this site");
        }
    }
    unknown.finish_unknown()?;
    to.ok_or_else(|| ApiError::internal(&"a checked message has no recipient"))
}

/// Sends a message: 201 with `Location`, then `staff:message:new` to the
/// recipient's live connections.
pub async fn send(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    JsonBody(body): JsonBody<NewMessage>,
) -> Result<Response, ApiError> {
    let d = draft(body)?;
    let core = core(&state)?;
    let id = core
        .random(16)
        .map(|b| audit::hex(&b))
        .map_err(|_| ApiError::internal(&"random source failed"))?;
    let seal = |v: &str, field: &str| {
        core.seal_phi(v.as_bytes(), &context(&id, field))
            .map_err(|_| ApiError::internal(&"random source failed"))
    };
    let (subject_s, body_s) = (seal(&d.subject, "subject")?, seal(&d.body, "body")?);
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let to = resolve(&tx, &d).await?;
    let (user, role, ward) = match &to {
        Recipient::User(u) => (Some(u.as_str()), None, None),
        Recipient::Role(r) => (None, Some(r.as_str()), None),
        Recipient::Ward(w) => (None, None, Some(w.as_str())),
    };
    let row = tx
        .query_one(
            "INSERT INTO staff_messages (id, tenant_id, sender_id, recipient_user_id,
                 recipient_role, recipient_ward_id, priority, patient_id, subject_sealed,
                 body_sealed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING sent_at",
            &[
                &id,
                &who.tenant.as_str(),
                &who.user_id,
                &user,
                &role,
                &ward,
                &d.priority,
                &d.patient_id,
                &subject_s,
                &body_s,
            ],
        )
        .await
        .map_err(query("send a message"))?;
    let sent_at = rfc3339(row.get::<_, SystemTime>(0));
    let mut e = who.event(Action::C, "message.send", "staff_message");
    e.entity_id = Some(id.clone());
    e.patient_id.clone_from(&d.patient_id);
    e.reason = Some(to.describe());
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    core.events.publish(ModuleEvent {
        tenant: who.tenant.clone(),
        name: EventName::StaffMessageNew,
        audience: to.audience(),
        data: serde_json::json!({
            "message_id": id,
            "sender_id": who.user_id,
            "priority": d.priority,
            "sent_at": sent_at,
            "to": to,
        }),
    });
    let message = Message {
        head: Head {
            id: id.clone(),
            sender_id: who.user_id.clone(),
            to,
            priority: d.priority,
            patient_id: d.patient_id,
            subject: d.subject,
            sent_at,
        },
        body: d.body,
        read_at: None,
        reads: Vec::new(),
    };
    let mut res = (StatusCode::CREATED, Json(message)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/messages/{id}")) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(res)
}

/// `GET /api/v1/messages/{message_id}`: the message with its text and
/// receipts; 404 unless the caller may read it.
pub async fn get(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    valid_id(&id)?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let row = tx
        .query_opt(
            &format!(
                "SELECT {COLUMNS}, m.body_sealed FROM staff_messages m
                 WHERE m.id = $3 AND {VISIBLE}"
            ),
            &[&who.user_id, &role_names(&who), &id],
        )
        .await
        .map_err(query("read a message"))?
        .ok_or_else(ApiError::not_found)?;
    let head = head(&core, &row)?;
    let body = open(&core, &id, "body", row.get(9))?;
    let reads: Vec<Receipt> = tx
        .query(
            "SELECT user_id, read_at FROM staff_message_reads WHERE message_id = $1
             ORDER BY read_at, user_id",
            &[&id],
        )
        .await
        .map_err(query("read a message's receipts"))?
        .iter()
        .map(|r| Receipt {
            message_id: id.clone(),
            user_id: r.get(0),
            read_at: rfc3339(r.get(1)),
        })
        .collect();
    let mut e = who.event(Action::R, "message.read", "staff_message");
    e.entity_id = Some(id.clone());
    e.patient_id.clone_from(&head.patient_id);
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    let read_at = reads
        .iter()
        .find(|r| r.user_id == who.user_id)
        .map(|r| r.read_at.clone());
    Ok(Json(Message {
        head,
        body,
        read_at,
        reads,
    })
    .into_response())
}

/// `POST /api/v1/messages/{message_id}/read`: records the caller's receipt
/// once; again, answers the first one. 404 unless the caller may read it.
pub async fn mark_read(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    valid_id(&id)?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let patient: Option<String> = tx
        .query_opt(
            &format!("SELECT m.patient_id FROM staff_messages m WHERE m.id = $3 AND {VISIBLE}"),
            &[&who.user_id, &role_names(&who), &id],
        )
        .await
        .map_err(query("look up a message"))?
        .ok_or_else(ApiError::not_found)?
        .get(0);
    let new = tx
        .query_opt(
            "INSERT INTO staff_message_reads (tenant_id, message_id, user_id)
             VALUES ($1, $2, $3) ON CONFLICT (message_id, user_id) DO NOTHING
             RETURNING read_at",
            &[&who.tenant.as_str(), &id, &who.user_id],
        )
        .await
        .map_err(query("record a receipt"))?;
    let read_at: SystemTime = match new {
        Some(r) => {
            let mut e = who.event(Action::C, "message.receipt", "staff_message");
            e.entity_id = Some(id.clone());
            e.patient_id = patient;
            audit::append(&tx, &e).await?;
            r.get(0)
        }
        None => tx
            .query_one(
                "SELECT read_at FROM staff_message_reads WHERE message_id = $1 AND user_id = $2",
                &[&id, &who.user_id],
            )
            .await
            .map_err(query("read a receipt"))?
            .get(0),
    };
    tx.commit().await.map_err(query("commit"))?;
    Ok(Json(Receipt {
        message_id: id,
        user_id: who.user_id,
        read_at: rfc3339(read_at),
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migration_allows_exactly_the_roles_of_the_matrix() {
        let sql = include_str!("../../migrations/2006_staff_messages.sql");
        let list = sql
            .split("recipient_role IN (")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .unwrap();
        let names: Vec<&str> = list
            .split(',')
            .map(|n| n.trim().trim_matches('\''))
            .collect();
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names, roles);
    }

    #[test]
    fn recipients_serialise_as_one_named_key() {
        let to = Recipient::Role(Role::Pharmacist);
        assert_eq!(
            serde_json::to_value(&to).unwrap(),
            serde_json::json!({"role": "pharmacist"})
        );
        assert_eq!(to.audience(), Audience::Role(Role::Pharmacist));
        assert_eq!(
            Recipient::Ward("icu".into()).audience(),
            Audience::Ward("icu".into())
        );
    }
}
