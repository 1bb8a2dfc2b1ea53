//! The lists of `/api/v1/messages`: the inbox, a ward's messages and the
//! sent messages, newest first, a page at a time with a cursor.
//!
//! Each item shows the subject (opened, so the list is a read of every
//! message on it) but not the body. A list is one audit entry, and each
//! listed message that names a patient one more, naming the patient.
//!
//! The inbox holds the messages addressed to the caller and to any of their
//! roles, except role messages the caller sent themselves (they are in the
//! sent list). Limit: `unread=true` filters on the caller's own receipt; a
//! role message read by a colleague stays unread for the caller.

use std::time::SystemTime;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::alarm_history::{decode_cursor, encode_cursor};
use super::messages::{head, is_id, role_names, Head, COLUMNS};
use super::{core, is_identifier, Fields};
use crate::audit::{self, Action};
use crate::db::{begin_tenant, query};
use crate::http::Principal;
use crate::problem::ApiError;
use crate::state::AppState;
use crate::time::rfc3339;

/// Messages on a page unless `limit` says otherwise.
const DEFAULT_PAGE: i64 = 50;
/// Most messages on a page.
const MAX_PAGE: i64 = 100;

/// Query of the inbox.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    cursor: Option<String>,
    limit: Option<String>,
    /// `true`: only messages the caller has not marked read.
    unread: Option<String>,
    /// The ward's messages instead of the caller's.
    ward: Option<String>,
}

/// Query of the sent list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

/// A message on a list page: no body.
#[derive(Debug, Serialize)]
pub struct Summary {
    #[serde(flatten)]
    head: Head,
    /// When the caller marked it read, if they did.
    #[serde(skip_serializing_if = "Option::is_none")]
    read_at: Option<String>,
    /// How many readers marked it read.
    read_count: i64,
}

/// A page of messages.
#[derive(Debug, Serialize)]
pub struct MessagePage {
    items: Vec<Summary>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// Which messages a list holds.
enum Scope {
    Inbox,
    Ward(String),
    Sent,
}

impl Scope {
    fn name(&self) -> &'static str {
        match self {
            Self::Inbox => "inbox",
            Self::Ward(_) => "ward",
            Self::Sent => "sent",
        }
    }
}

/// Where a page starts and how long it is.
struct Page {
    after: Option<(SystemTime, String)>,
    limit: i64,
    unread: bool,
}

fn page(f: &mut Fields, cursor: Option<&str>, limit: Option<&str>) -> Page {
    let after = cursor.and_then(|c| {
        let d = decode_cursor(c).filter(|(_, id)| is_id(id));
        if d.is_none() {
            f.bad("cursor", "is not a cursor this API issued");
        }
        d
    });
    let limit = f.limit(limit, DEFAULT_PAGE, MAX_PAGE);
    Page {
        after,
        limit,
        unread: false,
    }
}

/// `GET /api/v1/messages[?unread=true][&ward=][&cursor=][&limit=]`: the
/// caller's inbox, or with `ward` that ward's messages.
pub async fn inbox(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    q: Result<Query<InboxQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::malformed(e.body_text()))?;
    let mut f = Fields::default();
    let mut p = page(&mut f, q.cursor.as_deref(), q.limit.as_deref());
    p.unread = match q.unread.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            f.bad("unread", "must be true or false");
            false
        }
    };
    let scope = match q.ward {
        Some(w) if is_identifier(&w) => Scope::Ward(w),
        Some(_) => {
            f.bad(
                "ward",
                "must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'",
            );
            Scope::Inbox
        }
        None => Scope::Inbox,
    };
    f.finish()?;
    if matches!(scope, Scope::Ward(_)) && !super::messages::ward_staff(&who) {
        return Err(ApiError::forbidden());
    }
    list(&state, &who, &scope, &p).await
}

/// `GET /api/v1/messages/sent[?cursor=][&limit=]`: what the caller sent.
pub async fn sent(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    q: Result<Query<SentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::malformed(e.body_text()))?;
    let mut f = Fields::default();
    let p = page(&mut f, q.cursor.as_deref(), q.limit.as_deref());
    f.finish()?;
    list(&state, &who, &Scope::Sent, &p).await
}

/// One page of `scope`, audited.
async fn list(
    state: &AppState,
    who: &Principal,
    scope: &Scope,
    p: &Page,
) -> Result<Response, ApiError> {
    let core = core(state)?;
    let ward = match scope {
        Scope::Ward(w) => Some(w.as_str()),
        _ => None,
    };
    let (after_t, after_id) = p.after.clone().unzip();
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let rows = tx
        .query(
            &format!(
                "SELECT {COLUMNS}, r.read_at,
                        (SELECT count(*) FROM staff_message_reads x WHERE x.message_id = m.id)
                 FROM staff_messages m
                 LEFT JOIN staff_message_reads r ON r.message_id = m.id AND r.user_id = $1
                 WHERE CASE $3::text
                         WHEN 'inbox' THEN m.recipient_user_id = $1
                             OR (m.recipient_role = ANY($2::text[]) AND m.sender_id <> $1)
                         WHEN 'sent' THEN m.sender_id = $1
                         ELSE m.recipient_ward_id = $4::text END
                   AND (NOT $5::boolean OR r.read_at IS NULL)
                   AND ($6::timestamptz IS NULL OR (m.sent_at, m.id) < ($6, $7::text))
                 ORDER BY m.sent_at DESC, m.id DESC LIMIT $8"
            ),
            &[
                &who.user_id,
                &role_names(who),
                &scope.name(),
                &ward,
                &p.unread,
                &after_t,
                &after_id,
                &(p.limit + 1),
            ],
        )
        .await
        .map_err(query("list messages"))?;
    let keep = usize::try_from(p.limit).unwrap_or(0);
    let more = rows.len() > keep;
    let mut items = Vec::with_capacity(keep);
    for r in rows.iter().take(keep) {
        items.push(Summary {
            head: head(&core, r)?,
            read_at: r.get::<_, Option<SystemTime>>(9).map(rfc3339),
            read_count: r.get(10),
        });
    }
    let mut e = who.event(Action::R, "message.list", "staff_message");
    e.reason = Some(match scope {
        Scope::Ward(w) => format!("ward {w}"),
        other => other.name().to_owned(),
    });
    audit::append(&tx, &e).await?;
    for m in items.iter().filter(|m| m.head.patient_id.is_some()) {
        let mut e = who.event(Action::R, "message.list", "staff_message");
        e.entity_id = Some(m.head.id.clone());
        e.patient_id.clone_from(&m.head.patient_id);
        audit::append(&tx, &e).await?;
    }
    tx.commit().await.map_err(query("commit"))?;
    let next_cursor = more
        .then(|| keep.checked_sub(1).and_then(|last| rows.get(last)))
        .flatten()
        .map(|r| encode_cursor(r.get(7), &r.get::<_, String>(0)));
    Ok(Json(MessagePage { items, next_cursor }).into_response())
}
