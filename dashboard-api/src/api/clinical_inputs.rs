//! Clinician inputs to alerting: manual NEWS2 observations
//! (`POST /api/v1/beds/{bed_id}/observations`) and limit overrides for a bed
//! or a patient (`POST /api/v1/limit-overrides`, `.../clear`).
//!
//! The signed-in user is the actor. Each input is audited in the API's audit
//! log, and the alerting runtime also writes it to the alarm log with who
//! and why. Callers of another site get 404: this gateway's beds are not
//! theirs.

use alerting::engine::{LimitOverride, ManualObservation, OverrideScope};
use alerting::news2::{Consciousness, Oxygen, Spo2Scale};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::alarms::{action_error, Alerting};
use super::{core, is_identifier, Fields};
use crate::audit::{Action, Outcome};
use crate::http::{JsonBody, Principal};
use crate::problem::ApiError;
use crate::state::AppState;

const IDENTIFIER: &str = "must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'";

fn site<'a>(state: &'a AppState, who: &Principal) -> Result<&'a Alerting, ApiError> {
    let a = state.alerting.as_ref().ok_or_else(ApiError::unavailable)?;
    if a.tenant() == who.tenant.as_str() {
        Ok(a)
    } else {
        Err(ApiError::not_found())
    }
}

/// Manual NEWS2 inputs; at least one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observations {
    /// ACVPU: `alert`, `new_confusion`, `voice`, `pain`, `unresponsive`.
    consciousness: Option<String>,
    /// `air` or `supplemental`.
    oxygen: Option<String>,
    /// 1, or 2 for hypercapnic respiratory failure (a clinician's decision).
    spo2_scale: Option<u8>,
}

fn observations(body: &Observations) -> Result<Vec<ManualObservation>, ApiError> {
    let mut f = Fields::default();
    let mut out = Vec::new();
    let level = match body.consciousness.as_deref() {
        None => None,
        Some("alert") => Some(Consciousness::Alert),
        Some("new_confusion") => Some(Consciousness::NewConfusion),
        Some("voice") => Some(Consciousness::Voice),
        Some("pain") => Some(Consciousness::Pain),
        Some("unresponsive") => Some(Consciousness::Unresponsive),
        Some(_) => {
            f.bad(
                "consciousness",
                "must be alert, new_confusion, voice, pain or unresponsive",
            );
            None
        }
    };
    out.extend(level.map(ManualObservation::Consciousness));
    match body.oxygen.as_deref() {
        None => {}
        Some("air") => out.push(ManualObservation::Oxygen(Oxygen::Air)),
        Some("supplemental") => out.push(ManualObservation::Oxygen(Oxygen::Supplemental)),
        Some(_) => f.bad("oxygen", "must be air or supplemental"),
    }
    match body.spo2_scale {
        None => {}
        Some(1) => out.push(ManualObservation::Spo2Scale(Spo2Scale::Scale1)),
        Some(2) => out.push(ManualObservation::Spo2Scale(Spo2Scale::Scale2)),
        Some(_) => f.bad("spo2_scale", "must be 1 or 2"),
    }
    if body.consciousness.is_none() && body.oxygen.is_none() && body.spo2_scale.is_none() {
        f.bad(
            "consciousness",
            "one of consciousness, oxygen, spo2_scale is required",
        );
    }
    f.finish()?;
    Ok(out)
}

/// `POST /api/v1/beds/{bed_id}/observations`: records the inputs, then
/// answers the bed's NEWS2 (204 when it has none yet).
pub async fn observe(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(bed_id): Path<String>,
    JsonBody(body): JsonBody<Observations>,
) -> Result<Response, ApiError> {
    let mut f = Fields::default();
    if !is_identifier(&bed_id) {
        f.bad("bed_id", IDENTIFIER);
    }
    f.finish()?;
    let obs = observations(&body)?;
    let a = site(&state, &who)?;
    let core = core(&state)?;
    for o in obs {
        a.handle()
            .observe(&bed_id, o, &who.user_id)
            .await
            .map_err(action_error)?;
    }
    let mut e = who.event(Action::C, "news2.observation", "bed");
    e.entity_id = Some(bed_id.clone());
    core.audit_read(e).await?;
    let view = a.handle().news2(&bed_id).await.map_err(action_error)?;
    Ok(view.map_or_else(
        || StatusCode::NO_CONTENT.into_response(),
        |v| Json(v).into_response(),
    ))
}

/// A limit override, or its removal (`low` and `high` then not allowed).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    /// The bed, or
    bed_id: Option<String>,
    /// the patient (exactly one of the two).
    patient_id: Option<String>,
    /// The limit rule.
    rule: Option<String>,
    /// New low limit; absent or null: none.
    low: Option<f64>,
    /// New high limit; absent or null: none.
    high: Option<f64>,
    /// Why; required.
    reason: Option<String>,
}

struct Checked {
    scope: OverrideScope,
    rule: String,
    reason: String,
}

fn check(
    body: OverrideRequest,
    clearing: bool,
) -> Result<(Checked, Option<f64>, Option<f64>), ApiError> {
    let mut f = Fields::default();
    let scope = match (body.bed_id, body.patient_id) {
        (Some(b), None) if is_identifier(&b) => Some(OverrideScope::Bed(b.into())),
        (None, Some(p)) if is_identifier(&p) => Some(OverrideScope::Patient(p.into())),
        (Some(_), None) => {
            f.bad("bed_id", IDENTIFIER);
            None
        }
        (None, Some(_)) => {
            f.bad("patient_id", IDENTIFIER);
            None
        }
        _ => {
            f.bad("bed_id", "exactly one of bed_id and patient_id is required");
            None
        }
    };
    let rule = body.rule.unwrap_or_default();
    if !is_identifier(&rule) {
        f.bad("rule", IDENTIFIER);
    }
    let reason = f.text("reason", body.reason, 1, 500);
    if reason.trim().is_empty() && !reason.is_empty() {
        f.bad("reason", "must not be blank");
    }
    if clearing {
        if body.low.is_some() {
            f.bad("low", "is not allowed when clearing");
        }
        if body.high.is_some() {
            f.bad("high", "is not allowed when clearing");
        }
    } else {
        for (name, v) in [("low", body.low), ("high", body.high)] {
            if v.is_some_and(|x| !x.is_finite()) {
                f.bad(name, "must be a finite number");
            }
        }
        if let (Some(l), Some(h)) = (body.low, body.high) {
            if l >= h {
                f.bad("high", "must be above low");
            }
        }
    }
    f.finish()?;
    let scope = scope.ok_or_else(|| ApiError::malformed("scope"))?;
    Ok((
        Checked {
            scope,
            rule,
            reason,
        },
        body.low,
        body.high,
    ))
}

fn scope_id(s: &OverrideScope) -> String {
    match s {
        OverrideScope::Bed(b) => format!("bed/{b}"),
        OverrideScope::Patient(p) => format!("patient/{p}"),
    }
}

async fn audited(
    state: &AppState,
    who: &Principal,
    event: &str,
    c: &Checked,
    result: Result<(), alerting::engine::ActionError>,
) -> Result<Response, ApiError> {
    let mut e = who.event(Action::U, event, "alarm_limits");
    e.entity_id = Some(format!("{}/{}", scope_id(&c.scope), c.rule));
    if let OverrideScope::Patient(p) = &c.scope {
        e.patient_id = Some(p.to_string());
    }
    e.reason = Some(c.reason.clone());
    if result.is_err() {
        e.outcome = Outcome::MinorFailure;
    }
    core(state)?.audit_read(e).await?;
    result.map_err(action_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/limit-overrides`: new limits for one rule of a bed or a
/// patient, from the next sample; the reason is required.
pub async fn set(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    JsonBody(body): JsonBody<OverrideRequest>,
) -> Result<Response, ApiError> {
    let (c, low, high) = check(body, false)?;
    let a = site(&state, &who)?;
    let result = a
        .handle()
        .set_override(LimitOverride {
            scope: c.scope.clone(),
            rule: c.rule.as_str().into(),
            low,
            high,
            by: who.user_id.as_str().into(),
            reason: c.reason.clone(),
        })
        .await;
    audited(&state, &who, "alarm_limits.override", &c, result).await
}

/// `POST /api/v1/limit-overrides/clear`: back to the rule's own limits.
pub async fn clear(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    JsonBody(body): JsonBody<OverrideRequest>,
) -> Result<Response, ApiError> {
    let (c, _, _) = check(body, true)?;
    let a = site(&state, &who)?;
    let result = a
        .handle()
        .clear_override(c.scope.clone(), &c.rule, &who.user_id, &c.reason)
        .await;
    audited(&state, &who, "alarm_limits.clear", &c, result).await
}
