//! `/api/v1/patients` and admissions: registering patients, admitting them
//! to a bed and discharging them.
//!
//! The MRN, name and date of birth are sealed field by field with the PHI key
//! (see [`crate::core::ApiCore::seal_phi`]) before they reach the database
//! and opened only to answer a caller the matrix allows. Lookup by MRN goes
//! through its keyed hash. Every read of a patient, including each patient
//! of a list page, is an audit entry naming the patient.
//!
//! Limits: patients cannot be changed or deleted yet; listing is in id
//! order (random), because names are sealed and cannot be sorted by the
//! database.

use std::time::{Duration, SystemTime};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Row, Transaction};

use super::{census, core, Fields};
use crate::audit::{self, Action};
use crate::core::ApiCore;
use crate::db::{begin_tenant, query};
use crate::http::{JsonBody, Principal};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::time::{parse_rfc3339, rfc3339};

/// How far in the future an admission or discharge time may lie (clock skew
/// between the caller and the server).
const FUTURE_SLACK: Duration = Duration::from_secs(60);

/// A patient as the API shows it.
#[derive(Debug, Serialize)]
pub struct Patient {
    id: String,
    mrn: String,
    name: String,
    /// `YYYY-MM-DD`.
    birth_date: String,
    created_at: String,
}

const PATIENT_COLUMNS: &str = "id, mrn_sealed, name_sealed, birth_sealed, created_at";

pub(crate) fn context(id: &str, field: &str) -> String {
    format!("patient:{id}:{field}")
}

/// Opens a patient row. A field that does not open (altered, or sealed under
/// another secret) is a server error whose log line names no PHI.
fn open_patient(core: &ApiCore, r: &Row) -> Result<Patient, ApiError> {
    let id: String = r.get(0);
    let open = |col: usize, field: &str| {
        core.open_phi(r.get::<_, &[u8]>(col), &context(&id, field))
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| ApiError::internal(&"a patient field does not open under the PHI key"))
    };
    Ok(Patient {
        mrn: open(1, "mrn")?,
        name: open(2, "name")?,
        birth_date: open(3, "birth_date")?,
        created_at: rfc3339(r.get(4)),
        id,
    })
}

/// Whether `id` looks like an id this API issues (32 hex digits).
fn valid_id(id: &str) -> Result<(), ApiError> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

fn new_id(core: &ApiCore) -> Result<String, ApiError> {
    core.random(16)
        .map(|b| audit::hex(&b))
        .map_err(|_| ApiError::internal(&"random source failed"))
}

/// Whether `s` is a calendar date `YYYY-MM-DD` from 1880 on.
fn is_birth_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1880 && (1..=days).contains(&d) && s.bytes().filter(u8::is_ascii_digit).count() == 8
}

/// `POST /api/v1/patients` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPatient {
    mrn: Option<String>,
    name: Option<String>,
    birth_date: Option<String>,
}

/// Registers a patient: 201 with `Location`; 409 when the MRN is taken.
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    JsonBody(body): JsonBody<NewPatient>,
) -> Result<Response, ApiError> {
    let mut f = Fields::default();
    let mrn = f.text("mrn", body.mrn, 1, 64);
    if !mrn.is_empty() && !super::is_identifier(&mrn) {
        f.bad(
            "mrn",
            "must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'",
        );
    }
    let name = f.text("name", body.name, 1, 200);
    let birth = f.text("birth_date", body.birth_date, 10, 10);
    if !birth.is_empty() && !is_birth_date(&birth) {
        f.bad("birth_date", "must be a date YYYY-MM-DD from 1880 on");
    }
    f.finish()?;
    let core = core(&state)?;
    let id = new_id(&core)?;
    let seal = |v: &str, field: &str| {
        core.seal_phi(v.as_bytes(), &context(&id, field))
            .map_err(|_| ApiError::internal(&"random source failed"))
    };
    let (mrn_s, name_s, birth_s) = (
        seal(&mrn, "mrn")?,
        seal(&name, "name")?,
        seal(&birth, "birth_date")?,
    );
    let hash = core.mrn_hash(&who.tenant, &mrn);
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let row = tx
        .query_opt(
            &format!(
                "INSERT INTO patients (id, tenant_id, mrn_hash, mrn_sealed, name_sealed, birth_sealed)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (tenant_id, mrn_hash) DO NOTHING RETURNING {PATIENT_COLUMNS}"
            ),
            &[&id, &who.tenant.as_str(), &hash, &mrn_s, &name_s, &birth_s],
        )
        .await
        .map_err(query("register a patient"))?
        .ok_or_else(|| ApiError::conflict("a patient with this MRN is registered"))?;
    let patient = open_patient(&core, &row)?;
    let mut e = who.event(Action::C, "patient.create", "patient");
    e.entity_id = Some(id.clone());
    e.patient_id = Some(id.clone());
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    let mut res = (StatusCode::CREATED, Json(patient)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/patients/{id}")) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(res)
}

/// Query of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<String>,
    /// Only the patient with this MRN (exact).
    mrn: Option<String>,
}

/// A page of patients.
#[derive(Debug, Serialize)]
pub struct PatientPage {
    items: Vec<Patient>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// `GET /api/v1/patients[?mrn=][&cursor=][&limit=]`: patients in id order,
/// 1 to 100 a page (default 50). Each patient returned is an audit entry.
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::malformed(e.body_text()))?;
    let mut f = Fields::default();
    let after = f.id_cursor(q.cursor);
    let limit = f.limit(q.limit.as_deref(), 50, 100);
    if q.mrn.as_deref().is_some_and(|m| !super::is_identifier(m)) {
        f.bad(
            "mrn",
            "must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'",
        );
    }
    f.finish()?;
    let core = core(&state)?;
    let hash = q.mrn.map(|m| core.mrn_hash(&who.tenant, &m));
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let rows = tx
        .query(
            &format!(
                "SELECT {PATIENT_COLUMNS} FROM patients
                 WHERE ($1::text IS NULL OR id > $1) AND ($2::bytea IS NULL OR mrn_hash = $2)
                 ORDER BY id LIMIT $3"
            ),
            &[&after, &hash, &(limit + 1)],
        )
        .await
        .map_err(query("list patients"))?;
    let keep = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > keep;
    let mut items = Vec::with_capacity(keep);
    for r in rows.iter().take(keep) {
        items.push(open_patient(&core, r)?);
    }
    for p in &items {
        let mut e = who.event(Action::R, "patient.list", "patient");
        e.entity_id = Some(p.id.clone());
        e.patient_id = Some(p.id.clone());
        audit::append(&tx, &e).await?;
    }
    tx.commit().await.map_err(query("commit"))?;
    let next_cursor = more.then(|| items.last().map(|p| p.id.clone())).flatten();
    Ok(Json(PatientPage { items, next_cursor }).into_response())
}

/// `GET /api/v1/patients/{patient_id}`.
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
            &format!("SELECT {PATIENT_COLUMNS} FROM patients WHERE id = $1"),
            &[&id],
        )
        .await
        .map_err(query("read a patient"))?
        .ok_or_else(ApiError::not_found)?;
    let patient = open_patient(&core, &row)?;
    let mut e = who.event(Action::R, "patient.read", "patient");
    e.entity_id = Some(id.clone());
    e.patient_id = Some(id);
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    Ok(Json(patient).into_response())
}

/// An admission of a patient to a bed.
#[derive(Debug, Serialize)]
pub struct Admission {
    id: String,
    patient_id: String,
    bed_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ward_id: Option<String>,
    admitted_at: String,
    /// Absent while the patient is in the bed.
    #[serde(skip_serializing_if = "Option::is_none")]
    discharged_at: Option<String>,
}

const ADMISSION_COLUMNS: &str = "id, patient_id, bed_id, admitted_at, discharged_at, ward_id";

fn admission(r: &Row) -> Admission {
    Admission {
        id: r.get(0),
        patient_id: r.get(1),
        bed_id: r.get(2),
        admitted_at: rfc3339(r.get(3)),
        discharged_at: r.get::<_, Option<SystemTime>>(4).map(rfc3339),
        ward_id: r.get(5),
    }
}

/// An optional RFC 3339 time, now when absent, not in the future.
fn when(f: &mut Fields, field: &str, v: Option<String>) -> SystemTime {
    let now = SystemTime::now();
    match v.as_deref().map(parse_rfc3339) {
        None => now,
        Some(Some(t)) if t <= now + FUTURE_SLACK => t,
        Some(Some(_)) => {
            f.bad(field, "must not be in the future");
            now
        }
        Some(None) => {
            f.bad(
                field,
                "must be an RFC 3339 time, such as 2026-12-04T05:00:00Z",
            );
            now
        }
    }
}

/// `POST /api/v1/patients/{patient_id}/admissions` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAdmission {
    bed_id: Option<String>,
    /// The ward of the bed, optional.
    ward_id: Option<String>,
    /// RFC 3339; now when absent. May lie in the past: a late admission
    /// claims the bed's samples from then on.
    admitted_at: Option<String>,
}

async fn patient_exists(tx: &Transaction<'_>, id: &str) -> Result<(), ApiError> {
    tx.query_opt("SELECT 1 FROM patients WHERE id = $1", &[&id])
        .await
        .map_err(query("look up a patient"))?
        .map(|_| ())
        .ok_or_else(ApiError::not_found)
}

/// Admits a patient to a bed: 201; 409 when the bed or the patient already
/// has an admission overlapping that time.
pub async fn admit(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(patient_id): Path<String>,
    JsonBody(body): JsonBody<NewAdmission>,
) -> Result<Response, ApiError> {
    valid_id(&patient_id)?;
    let mut f = Fields::default();
    let bed_id = f.text("bed_id", body.bed_id, 1, 64);
    if !bed_id.is_empty() && !super::is_identifier(&bed_id) {
        f.bad(
            "bed_id",
            "must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'",
        );
    }
    if body
        .ward_id
        .as_deref()
        .is_some_and(|w| !super::is_identifier(w))
    {
        f.bad(
            "ward_id",
            "must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'",
        );
    }
    let at = when(&mut f, "admitted_at", body.admitted_at);
    f.finish()?;
    let core = core(&state)?;
    let id = new_id(&core)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    patient_exists(&tx, &patient_id).await?;
    let row = tx
        .query_one(
            &format!(
                "INSERT INTO admissions (id, tenant_id, patient_id, bed_id, admitted_at, ward_id)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ADMISSION_COLUMNS}"
            ),
            &[
                &id,
                &who.tenant.as_str(),
                &patient_id,
                &bed_id,
                &at,
                &body.ward_id,
            ],
        )
        .await
        .map_err(|e| {
            if e.code() == Some(&SqlState::EXCLUSION_VIOLATION) {
                ApiError::conflict("the bed or the patient has an admission overlapping this time")
            } else {
                query("admit a patient")(e).into()
            }
        })?;
    let mut e = who.event(Action::C, "admission.create", "admission");
    e.entity_id = Some(id.clone());
    e.patient_id = Some(patient_id);
    e.reason = Some(format!("bed {bed_id}"));
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    let out = admission(&row);
    let change = census::Change::Admitted {
        bed: out.bed_id.clone(),
        patient: out.patient_id.clone(),
    };
    census::tell(&state, &who.tenant, change).await;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `GET /api/v1/patients/{patient_id}/admissions`: every admission of the
/// patient, oldest first.
pub async fn list_admissions(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(patient_id): Path<String>,
) -> Result<Response, ApiError> {
    valid_id(&patient_id)?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    patient_exists(&tx, &patient_id).await?;
    let rows = tx
        .query(
            &format!(
                "SELECT {ADMISSION_COLUMNS} FROM admissions WHERE patient_id = $1
                 ORDER BY admitted_at"
            ),
            &[&patient_id],
        )
        .await
        .map_err(query("list admissions"))?;
    let mut e = who.event(Action::R, "admission.list", "patient");
    e.entity_id = Some(patient_id.clone());
    e.patient_id = Some(patient_id);
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    let items: Vec<Admission> = rows.iter().map(admission).collect();
    Ok(Json(items).into_response())
}

/// `POST /api/v1/admissions/{admission_id}/discharge` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discharge {
    /// RFC 3339; now when absent. After the admission time.
    discharged_at: Option<String>,
}

/// Discharges: the bed's later samples are no longer the patient's. 409 when
/// already discharged.
pub async fn discharge(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Discharge>,
) -> Result<Response, ApiError> {
    valid_id(&id)?;
    let mut f = Fields::default();
    let at = when(&mut f, "discharged_at", body.discharged_at);
    f.finish()?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let row = tx
        .query_opt(
            &format!("SELECT {ADMISSION_COLUMNS} FROM admissions WHERE id = $1 FOR UPDATE"),
            &[&id],
        )
        .await
        .map_err(query("lock an admission"))?
        .ok_or_else(ApiError::not_found)?;
    if row.get::<_, Option<SystemTime>>(4).is_some() {
        return Err(ApiError::conflict("the admission is already discharged"));
    }
    if at <= row.get::<_, SystemTime>(3) {
        let mut f = Fields::default();
        f.bad("discharged_at", "must be after the admission time");
        f.finish()?;
    }
    let row = tx
        .query_one(
            &format!(
                "UPDATE admissions SET discharged_at = $2 WHERE id = $1
                 RETURNING {ADMISSION_COLUMNS}"
            ),
            &[&id, &at],
        )
        .await
        .map_err(query("discharge"))?;
    let out = admission(&row);
    let mut e = who.event(Action::U, "admission.discharge", "admission");
    e.entity_id = Some(id);
    e.patient_id = Some(out.patient_id.clone());
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    let change = census::Change::Discharged {
        bed: out.bed_id.clone(),
    };
    census::tell(&state, &who.tenant, change).await;
    Ok(Json(out).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_dates_are_checked_as_calendar_dates() {
        for ok in ["1950-01-31", "2000-02-29", "1880-12-01"] {
            assert!(is_birth_date(ok), "{ok}");
        }
        for bad in [
            "1900-02-29",
            "2023-02-29",
            "2023-13-01",
            "2023-04-31",
            "1879-12-31",
            "2023-1-01",
            "+023-01-01",
            "2023-01-0x",
            "20230101xx",
            "",
        ] {
            assert!(!is_birth_date(bad), "{bad}");
        }
    }
}
