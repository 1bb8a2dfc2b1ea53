//! The handlers of `/api/v1/appointments`.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_postgres::{Row, Transaction};

use super::status::Status;
use super::{appointment, Appointment, COLUMNS};
use crate::api::users::{etag, valid_id};
use crate::api::{core, is_identifier, Fields};
use crate::audit::{self, Action, Outcome};
use crate::db::{begin_tenant, query};
use crate::events::{Audience, EventName, ModuleEvent};
use crate::http::{JsonBody, Principal};
use crate::problem::ApiError;
use crate::roles::Permission;
use crate::state::AppState;
use crate::time::{parse_rfc3339, rfc3339};

/// The longest an appointment may last.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

const IDENTIFIER: &str = "must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'";

fn with_etag(status: StatusCode, a: Appointment) -> Response {
    let tag = etag(a.version);
    let mut res = (status, Json(a)).into_response();
    res.headers_mut().insert(header::ETAG, tag);
    res
}

fn time(f: &mut Fields, field: &str, v: Option<String>) -> Option<SystemTime> {
    match v.as_deref().map(parse_rfc3339) {
        None => {
            f.bad(field, "is required");
            None
        }
        Some(None) => {
            f.bad(field, "must be an RFC 3339 time");
            None
        }
        Some(t) => t,
    }
}

fn optional_identifier(f: &mut Fields, field: &str, v: Option<&str>) {
    if v.is_some_and(|x| !is_identifier(x)) {
        f.bad(field, IDENTIFIER);
    }
}

fn is_hex_id(s: &str) -> bool {
    valid_id(s).is_ok()
}

/// `POST /api/v1/appointments` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAppointment {
    patient_id: Option<String>,
    service: Option<String>,
    start: Option<String>,
    end: Option<String>,
    practitioner_id: Option<String>,
    ward_id: Option<String>,
    /// `proposed`, `pending`, `booked` (the default) or `waitlist`.
    status: Option<String>,
}

/// Books an appointment: 201 with `Location` and `ETag`. A patient or
/// practitioner the site does not have is a field error.
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    JsonBody(body): JsonBody<NewAppointment>,
) -> Result<Response, ApiError> {
    let mut f = Fields::default();
    let patient = f.text("patient_id", body.patient_id, 32, 32);
    if !patient.is_empty() && !is_hex_id(&patient) {
        f.bad("patient_id", "is not a patient id this API issued");
    }
    let service = f.text("service", body.service, 1, 200);
    let start = time(&mut f, "start", body.start);
    let end = time(&mut f, "end", body.end);
    if let (Some(s), Some(e)) = (start, end) {
        match e.duration_since(s) {
            Ok(d) if !d.is_zero() && d <= MAX_DURATION => {}
            _ => f.bad("end", "must be after start, by at most 24 hours"),
        }
    }
    if body
        .practitioner_id
        .as_deref()
        .is_some_and(|p| !is_hex_id(p))
    {
        f.bad("practitioner_id", "is not a user id this API issued");
    }
    optional_identifier(&mut f, "ward_id", body.ward_id.as_deref());
    let status = match body.status.as_deref().map(str::parse::<Status>) {
        None => Status::Booked,
        Some(Ok(s)) if Status::INITIAL.contains(&s) => s,
        Some(_) => {
            f.bad("status", "must be proposed, pending, booked or waitlist");
            Status::Booked
        }
    };
    f.finish()?;
    let (Some(start), Some(end)) = (start, end) else {
        return Err(ApiError::internal(&"validated times missing"));
    };
    let core = core(&state)?;
    let id = core
        .random(16)
        .map(|b| audit::hex(&b))
        .map_err(|_| ApiError::internal(&"random source failed"))?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    references_exist(&tx, &patient, body.practitioner_id.as_deref()).await?;
    let row = tx
        .query_one(
            &format!(
                "INSERT INTO appointments (id, tenant_id, patient_id, service, practitioner_id,
                     ward_id, starts_at, ends_at, status, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
            ),
            &[
                &id,
                &who.tenant.as_str(),
                &patient,
                &service,
                &body.practitioner_id,
                &body.ward_id,
                &start,
                &end,
                &status.as_str(),
                &who.user_id,
            ],
        )
        .await
        .map_err(query("book an appointment"))?;
    history(&tx, &who, &id, None, status, None).await?;
    let mut e = who.event(Action::C, "appointment.create", "appointment");
    e.entity_id = Some(id.clone());
    e.patient_id = Some(patient);
    e.reason = Some(status.as_str().to_owned());
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    let mut res = with_etag(StatusCode::CREATED, appointment(&row));
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/appointments/{id}")) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(res)
}

/// Field errors for a patient or practitioner this site does not have
/// (row-level security hides other sites' rows, so they are unknown too).
async fn references_exist(
    tx: &Transaction<'_>,
    patient: &str,
    practitioner: Option<&str>,
) -> Result<(), ApiError> {
    let mut f = Fields::default();
    let known = tx
        .query_opt("SELECT 1 FROM patients WHERE id = $1", &[&patient])
        .await
        .map_err(query("look up a patient"))?;
    if known.is_none() {
        f.bad("patient_id", "names no patient of this site");
    }
    if let Some(p) = practitioner {
        let known = tx
            .query_opt(
                "SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL",
                &[&p],
            )
            .await
            .map_err(query("look up a practitioner"))?;
        if known.is_none() {
            f.bad("practitioner_id", "names no user of this site");
        }
    }
    f.finish()
}

async fn history(
    tx: &Transaction<'_>,
    who: &Principal,
    id: &str,
    from: Option<Status>,
    to: Status,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    tx.execute(
        "INSERT INTO appointment_status_history
             (tenant_id, appointment_id, from_status, to_status, reason, actor_id)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &who.tenant.as_str(),
            &id,
            &from.map(Status::as_str),
            &to.as_str(),
            &reason,
            &who.user_id,
        ],
    )
    .await
    .map_err(query("record a status change"))?;
    Ok(())
}

/// Query of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    patient: Option<String>,
    status: Option<String>,
    /// Appointments starting at or after this time.
    from: Option<String>,
    /// Appointments starting before this time.
    to: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// A page of appointments.
#[derive(Debug, Serialize)]
pub struct AppointmentPage {
    items: Vec<Appointment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// A cursor: the start (microseconds since the epoch) and id of the last
/// appointment of a page.
fn parse_cursor(c: &str) -> Option<(SystemTime, String)> {
    let (micros, id) = c.split_once('.')?;
    let micros: u64 = micros.parse().ok()?;
    is_hex_id(id).then(|| (UNIX_EPOCH + Duration::from_micros(micros), id.to_owned()))
}

fn cursor_of(a: &Row) -> String {
    let start: SystemTime = a.get(5);
    let micros = start
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    format!("{micros}.{}", a.get::<_, String>(0))
}

/// `GET /api/v1/appointments[?patient=][&status=][&from=][&to=]`: in start
/// order, 1 to 200 a page (default 50). Audited once per patient listed.
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::malformed(e.body_text()))?;
    let mut f = Fields::default();
    if q.patient.as_deref().is_some_and(|p| !is_hex_id(p)) {
        f.bad("patient", "is not a patient id this API issued");
    }
    if q.status
        .as_deref()
        .is_some_and(|s| s.parse::<Status>().is_err())
    {
        f.bad("status", "is not an appointment status");
    }
    let mut bound = |field: &str, v: Option<&str>| match v.map(parse_rfc3339) {
        Some(None) => {
            f.bad(field, "must be an RFC 3339 time");
            None
        }
        t => t.flatten(),
    };
    let (from, to) = (
        bound("from", q.from.as_deref()),
        bound("to", q.to.as_deref()),
    );
    let after = q.cursor.as_deref().map(parse_cursor);
    if matches!(after, Some(None)) {
        f.bad("cursor", "is not a cursor this API issued");
    }
    let limit = f.limit(q.limit.as_deref(), 50, 200);
    f.finish()?;
    let (after_start, after_id) = after.flatten().unzip();
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let rows = tx
        .query(
            &format!(
                "SELECT {COLUMNS} FROM appointments
                 WHERE ($1::text IS NULL OR patient_id = $1)
                   AND ($2::text IS NULL OR status = $2)
                   AND ($3::timestamptz IS NULL OR starts_at >= $3)
                   AND ($4::timestamptz IS NULL OR starts_at < $4)
                   AND ($5::timestamptz IS NULL OR (starts_at, id) > ($5, $6::text))
                 ORDER BY starts_at, id LIMIT $7"
            ),
            &[
                &q.patient,
                &q.status,
                &from,
                &to,
                &after_start,
                &after_id,
                &(limit + 1),
            ],
        )
        .await
        .map_err(query("list appointments"))?;
    let keep = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > keep;
    let page = &rows[..rows.len().min(keep)];
    let patients: BTreeSet<String> = page.iter().map(|r| r.get(1)).collect();
    for p in patients {
        let mut e = who.event(Action::R, "appointment.list", "patient");
        e.entity_id = Some(p.clone());
        e.patient_id = Some(p);
        audit::append(&tx, &e).await?;
    }
    tx.commit().await.map_err(query("commit"))?;
    let next_cursor = more.then(|| page.last().map(cursor_of)).flatten();
    let items = page.iter().map(appointment).collect();
    Ok(Json(AppointmentPage { items, next_cursor }).into_response())
}

async fn find(tx: &Transaction<'_>, id: &str, lock: bool) -> Result<Row, ApiError> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM appointments WHERE id = $1{lock}"),
        &[&id],
    )
    .await
    .map_err(query("read an appointment"))?
    .ok_or_else(ApiError::not_found)
}

/// `GET /api/v1/appointments/{appointment_id}`, with its `ETag`.
pub async fn get(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    valid_id(&id)?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let row = find(&tx, &id, false).await?;
    let mut e = who.event(Action::R, "appointment.read", "appointment");
    e.entity_id = Some(id);
    e.patient_id = Some(row.get(1));
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    Ok(with_etag(StatusCode::OK, appointment(&row)))
}

/// `POST /api/v1/appointments/{appointment_id}/status` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    status: Option<String>,
    /// Required to cancel; recorded in the history for any change.
    reason: Option<String>,
}

/// The version an optional `If-Match` names; 412 when it names none of ours.
fn optional_if_match(headers: &HeaderMap) -> Result<Option<i32>, ApiError> {
    match headers.get(header::IF_MATCH) {
        None => Ok(None),
        Some(_) => crate::api::users::if_match(headers).map(Some),
    }
}

/// Moves an appointment to another status: 200 with the appointment; 409
/// `invalid_transition` when its status does not allow it; 412 when an
/// `If-Match` is stale.
pub async fn change_status(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<StatusChange>,
) -> Result<Response, ApiError> {
    valid_id(&id)?;
    let expected = optional_if_match(&headers)?;
    let mut f = Fields::default();
    let to = match body.status.as_deref().map(str::parse::<Status>) {
        Some(Ok(s)) => Some(s),
        None => {
            f.bad("status", "is required");
            None
        }
        Some(Err(())) => {
            f.bad("status", "is not an appointment status");
            None
        }
    };
    let reason = body.reason.map(|r| f.text("reason", Some(r), 1, 500));
    if to == Some(Status::Cancelled) && reason.is_none() {
        f.bad("reason", "is required to cancel");
    }
    f.finish()?;
    let Some(to) = to else {
        return Err(ApiError::internal(&"validated status missing"));
    };
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let row = find(&tx, &id, true).await?;
    let from: Status = row
        .get::<_, String>(7)
        .parse()
        .map_err(|()| ApiError::internal(&"unknown stored appointment status"))?;
    let refusal = if expected.is_some_and(|v| v != row.get::<_, i32>(9)) {
        Some(ApiError::precondition_failed())
    } else if !from.may_become(to) {
        Some(ApiError::invalid_transition(from.as_str(), to.as_str()))
    } else {
        None
    };
    if let Some(refusal) = refusal {
        // The answer tells the caller the current status: a read of the
        // patient's record, so it is audited like one.
        let mut e = who.event(Action::U, "appointment.status", "appointment");
        e.entity_id = Some(id.clone());
        e.patient_id = Some(row.get(1));
        e.outcome = Outcome::MinorFailure;
        e.reason = Some(format!("refused: {from} -> {to}"));
        audit::append(&tx, &e).await?;
        tx.commit().await.map_err(query("commit"))?;
        return Err(refusal);
    }
    let cancellation = (to == Status::Cancelled)
        .then_some(reason.as_deref())
        .flatten();
    let row = tx
        .query_one(
            &format!(
                "UPDATE appointments SET status = $2,
                     cancellation_reason = coalesce($3, cancellation_reason),
                     version = version + 1, updated_at = now()
                 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            &[&id, &to.as_str(), &cancellation],
        )
        .await
        .map_err(query("change an appointment's status"))?;
    history(&tx, &who, &id, Some(from), to, reason.as_deref()).await?;
    let out = appointment(&row);
    let mut e = who.event(Action::U, "appointment.status", "appointment");
    e.entity_id = Some(id.clone());
    e.patient_id = Some(row.get(1));
    e.reason = Some(format!("{from} -> {to}"));
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    core.events.publish(ModuleEvent {
        tenant: who.tenant.clone(),
        name: EventName::AppointmentStatusChange,
        audience: Audience::Permission(Permission::AppointmentsRead),
        data: json!({
            "appointment_id": id,
            "patient_id": row.get::<_, String>(1),
            "from": from.as_str(),
            "to": to.as_str(),
            "start": rfc3339(row.get::<_, SystemTime>(5)),
            "service": row.get::<_, String>(2),
            "changed_at": rfc3339(row.get::<_, SystemTime>(11)),
            "changed_by": who.user_id,
        }),
    });
    Ok(with_etag(StatusCode::OK, out))
}
