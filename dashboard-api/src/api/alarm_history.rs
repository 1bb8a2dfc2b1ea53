//! `GET /api/v1/alarms/history`: the alarm log (`alarm_events`, written by
//! the alerting store) over a time range, newest first, with a cursor.
//!
//! Tenant scope: the query runs in the caller's tenant transaction, and
//! row-level security on `alarm_events` (migration 2002) limits the API role
//! to that tenant even without the explicit filter. Callers who may not act
//! on alarms (biomedical engineers) see technical rows only. Every read is
//! audited.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{core, is_identifier, Fields};
use crate::audit::Action;
use crate::db::{begin_tenant, query};
use crate::http::Principal;
use crate::problem::ApiError;
use crate::roles::{best_access, Access, Permission};
use crate::state::AppState;
use crate::time::{parse_rfc3339, rfc3339};

/// The longest range of one history query.
pub const MAX_RANGE_SECS: u64 = 31 * 86_400;
/// The most rows in one page.
pub const MAX_PAGE: i64 = 500;
const DEFAULT_PAGE: i64 = 100;

/// Query of the history.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    from: Option<String>,
    to: Option<String>,
    bed: Option<String>,
    rule: Option<String>,
    state: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// One row of the alarm log.
#[derive(Debug, Serialize)]
pub struct HistoryRow {
    time: String,
    event_id: String,
    bed: String,
    rule: String,
    occurrence: i32,
    class: String,
    priority: Option<String>,
    change: String,
    state: Option<String>,
    actor: String,
    condition_present: Option<bool>,
    message: String,
    detail: serde_json::Value,
}

/// One page.
#[derive(Debug, Serialize)]
pub struct HistoryPage {
    items: Vec<HistoryRow>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

fn micros(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

pub(super) fn encode_cursor(time: SystemTime, event_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{event_id}", micros(time)))
}

/// The position after which the next page starts: time and event id.
pub(super) fn decode_cursor(c: &str) -> Option<(SystemTime, String)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    let (us, id) = raw.split_once(':')?;
    let us = u64::try_from(us.parse::<i64>().ok()?).ok()?;
    Some((UNIX_EPOCH + Duration::from_micros(us), id.to_owned()))
}

struct Checked {
    from: SystemTime,
    to: SystemTime,
    after: Option<(SystemTime, String)>,
    limit: i64,
}

fn check(q: &HistoryQuery) -> Result<Checked, ApiError> {
    let mut f = Fields::default();
    let mut time = |name: &str, v: Option<&str>| match v.map(parse_rfc3339) {
        Some(Some(t)) => Some(t),
        Some(None) => {
            f.bad(name, "must be an RFC 3339 date-time");
            None
        }
        None => {
            f.bad(name, "is required");
            None
        }
    };
    let from = time("from", q.from.as_deref());
    let to = time("to", q.to.as_deref());
    if let (Some(a), Some(b)) = (from, to) {
        match b.duration_since(a) {
            Ok(d) if d.as_secs() <= MAX_RANGE_SECS => {}
            Ok(_) => f.bad("to", "must be at most 31 days after from"),
            Err(_) => f.bad("to", "must not be before from"),
        }
    }
    for (name, v) in [("bed", &q.bed), ("rule", &q.rule), ("state", &q.state)] {
        if v.as_deref().is_some_and(|s| !is_identifier(s)) {
            f.bad(
                name,
                "must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'",
            );
        }
    }
    let limit = f.limit(q.limit.as_deref(), DEFAULT_PAGE, MAX_PAGE);
    let after = q.cursor.as_deref().and_then(|c| {
        let d = decode_cursor(c);
        if d.is_none() {
            f.bad("cursor", "is not a cursor this API issued");
        }
        d
    });
    f.finish()?;
    match (from, to) {
        (Some(from), Some(to)) => Ok(Checked {
            from,
            to,
            after,
            limit,
        }),
        _ => Err(ApiError::malformed("from and to are required")),
    }
}

/// `GET /api/v1/alarms/history?from=&to=[&bed=&rule=&state=&limit=&cursor=]`.
pub async fn history(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    q: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::malformed(e.body_text()))?;
    let c = check(&q)?;
    let technical_only = best_access(&who.roles, Permission::AlarmsAct) != Access::Allow;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let (after_time, after_id) = c.after.clone().unzip();
    let rows = tx
        .query(
            "SELECT time, event_id, bed_id, rule_id, occurrence, class, priority,
                    change, state, actor, condition_present, message, detail
               FROM alarm_events
              WHERE tenant_id = $1
                AND time >= $2 AND time < $3
                AND ($4::text IS NULL OR bed_id = $4)
                AND ($5::text IS NULL OR rule_id = $5)
                AND ($6::text IS NULL OR state = $6)
                AND (NOT $7 OR class = 'technical')
                AND ($8::timestamptz IS NULL OR (time, event_id) < ($8, $9::text))
              ORDER BY time DESC, event_id DESC
              LIMIT $10",
            &[
                &who.tenant.as_str(),
                &c.from,
                &c.to,
                &q.bed,
                &q.rule,
                &q.state,
                &technical_only,
                &after_time,
                &after_id,
                &(c.limit + 1),
            ],
        )
        .await
        .map_err(query("alarm history"))?;
    tx.commit().await.map_err(query("commit"))?;
    let more = rows.len() > usize::try_from(c.limit).unwrap_or(0);
    let items: Vec<HistoryRow> = rows
        .iter()
        .take(usize::try_from(c.limit).unwrap_or(0))
        .map(|r| HistoryRow {
            time: rfc3339(r.get(0)),
            event_id: r.get(1),
            bed: r.get(2),
            rule: r.get(3),
            occurrence: r.get(4),
            class: r.get(5),
            priority: r.get(6),
            change: r.get(7),
            state: r.get(8),
            actor: r.get(9),
            condition_present: r.get(10),
            message: r.get(11),
            detail: r.get(12),
        })
        .collect();
    let next_cursor = more
        .then(|| rows.get(items.len().saturating_sub(1)))
        .flatten()
        .map(|r| encode_cursor(r.get(0), &r.get::<_, String>(1)));
    let mut e = who.event(Action::R, "alarms.history", "alarm");
    e.entity_id.clone_from(&q.bed);
    core.audit_read(e).await?;
    Ok(Json(HistoryPage { items, next_cursor }).into_response())
}
