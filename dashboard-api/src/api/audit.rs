//! `/api/v1/audit`: the tenant's audit log, newest first, as JSON or as FHIR
//! R4 AuditEvent resources. Reading the log is itself audited.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{core, Fields};
use crate::audit::{self, Action, StoredEntry, COLUMNS};
use crate::db::{begin_tenant, query};
use crate::http::Principal;
use crate::problem::ApiError;
use crate::state::AppState;
use crate::time::rfc3339;

/// Entries per page unless `limit` says otherwise.
pub const DEFAULT_PAGE: i64 = 50;
/// The largest page.
pub const MAX_PAGE: i64 = 200;

/// Query parameters of both audit routes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// From a previous page's `next_cursor`.
    cursor: Option<String>,
    /// Page size, 1 to 200.
    limit: Option<String>,
    /// Only entries about this patient.
    patient_id: Option<String>,
}

/// A page of entries.
#[derive(Debug, Serialize)]
pub struct Page {
    items: Vec<StoredEntry>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("seq:{seq}"))
}

fn decode_cursor(c: &str) -> Option<i64> {
    let raw = URL_SAFE_NO_PAD.decode(c).ok()?;
    std::str::from_utf8(&raw)
        .ok()?
        .strip_prefix("seq:")?
        .parse()
        .ok()
}

/// Validates the query: every bad parameter is named.
pub(crate) fn page_params(
    cursor: Option<&str>,
    limit: Option<&str>,
) -> Result<(Option<i64>, i64), ApiError> {
    let mut f = Fields::default();
    let before = match cursor {
        None => None,
        Some(c) => {
            let seq = decode_cursor(c);
            if seq.is_none() {
                f.bad("cursor", "is not a cursor this API issued");
            }
            seq
        }
    };
    let limit = f.limit(limit, DEFAULT_PAGE, MAX_PAGE);
    f.finish()?;
    Ok((before, limit))
}

async fn load(
    state: &AppState,
    who: &Principal,
    q: AuditQuery,
    event: &str,
) -> Result<Page, ApiError> {
    if q.patient_id
        .as_deref()
        .is_some_and(|p| !super::is_identifier(p))
    {
        return Err(ApiError::validation(vec![crate::problem::FieldError {
            field: "patient_id".to_owned(),
            message: "must be a patient identifier (A-Z, a-z, 0-9, '-', '_', '.')".to_owned(),
        }]));
    }
    let (before, limit) = page_params(q.cursor.as_deref(), q.limit.as_deref())?;
    let core = core(state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    // No tenant filter: row-level security keeps this to the caller's tenant.
    let rows = tx
        .query(
            &format!(
                "SELECT {COLUMNS} FROM audit_log
                 WHERE ($1::bigint IS NULL OR seq < $1)
                   AND ($2::text IS NULL OR patient_id = $2)
                 ORDER BY seq DESC LIMIT $3"
            ),
            &[&before, &q.patient_id, &(limit + 1)],
        )
        .await
        .map_err(query("read the audit log"))?;
    let mut items: Vec<StoredEntry> = rows.iter().map(audit::from_row).collect();
    let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    items.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = more
        .then(|| items.last().map(|e| encode_cursor(e.seq)))
        .flatten();
    let mut e = who.event(Action::R, event, "audit_log");
    e.patient_id = q.patient_id.clone();
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    Ok(Page { items, next_cursor })
}

fn query_params(
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AuditQuery, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::malformed(e.body_text()))
}

/// `GET /api/v1/audit`.
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let page = load(&state, &who, query_params(q)?, "audit.read").await?;
    Ok(Json(page).into_response())
}

/// `GET /api/v1/audit/fhir`: a FHIR R4 `searchset` Bundle of AuditEvent.
pub async fn fhir(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let page = load(&state, &who, query_params(q)?, "audit.export").await?;
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": page.items.iter().map(|e| json!({"resource": audit_event(e)})).collect::<Vec<_>>(),
    });
    if let Some(c) = page.next_cursor {
        bundle["link"] =
            json!([{"relation": "next", "url": format!("/api/v1/audit/fhir?cursor={c}")}]);
    }
    let mut res = Json(bundle).into_response();
    res.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/fhir+json"),
    );
    Ok(res)
}

/// One entry as a FHIR R4 AuditEvent.
///
/// Type: DICOM 110114 User Authentication for sign-in events, 110113
/// Security Alert for break-the-glass and refused access, the HL7 `rest`
/// type for API operations. Break-the-glass entries carry purposeOfEvent
/// ETREAT (emergency treatment).
pub fn audit_event(e: &StoredEntry) -> Value {
    const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
    let ev = &e.event;
    let kind = if ev.event.starts_with("auth.login") || ev.event.starts_with("auth.logout") {
        json!({"system": DCM, "code": "110114", "display": "User Authentication"})
    } else if ev.break_glass || ev.event == "access.denied" {
        json!({"system": DCM, "code": "110113", "display": "Security Alert"})
    } else {
        json!({"system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
               "code": "rest", "display": "RESTful Operation"})
    };
    let outcome = match ev.outcome {
        audit::Outcome::Success => "0",
        audit::Outcome::MinorFailure => "4",
        audit::Outcome::SeriousFailure => "8",
    };
    let mut agent = json!({
        "who": {"identifier": {"value": ev.actor_id.clone().unwrap_or_else(|| ev.actor_name.clone())}},
        "name": ev.actor_name,
        "requestor": true,
    });
    if !ev.actor_roles.is_empty() {
        agent["role"] = Value::Array(ev.actor_roles.iter().map(|r| json!({"text": r})).collect());
    }
    if let Some(addr) = &ev.source_addr {
        agent["network"] = json!({"address": addr, "type": "2"});
    }
    let mut entities = vec![json!({
        "what": {"identifier": {"value": ev.entity_id.clone().unwrap_or_default()}},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
        "description": ev.entity_type,
    })];
    if let Some(p) = &ev.patient_id {
        entities.push(json!({
            "what": {"reference": format!("Patient/{p}")},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
        }));
    }
    let mut out = json!({
        "resourceType": "AuditEvent",
        "id": format!("{}-{}", ev.tenant_id, e.seq),
        "type": kind,
        "subtype": [{"system": "urn:healthsphere:audit-event", "code": ev.event}],
        "action": format!("{:?}", ev.action),
        "recorded": rfc3339(ev.recorded_at),
        "outcome": outcome,
        "agent": [agent],
        "source": {
            "site": ev.tenant_id,
            "observer": {"display": "HealthSphere gateway"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}],
        },
        "entity": entities,
    });
    if let Some(reason) = &ev.reason {
        out["outcomeDesc"] = json!(reason);
    }
    if ev.break_glass {
        out["purposeOfEvent"] = json!([{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
            "code": "ETREAT", "display": "Emergency Treatment"}]}]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_parameters_are_all_named() {
        let c = encode_cursor(42);
        assert_eq!(page_params(Some(&c), Some("10")).unwrap(), (Some(42), 10));
        assert_eq!(page_params(None, None).unwrap(), (None, DEFAULT_PAGE));
        let e = page_params(Some("zz"), Some("500")).unwrap_err();
        assert_eq!(e.code(), "validation_failed");
        let body = format!("{e:?}");
        assert!(body.contains("cursor") && body.contains("limit"), "{body}");
    }
}
