//! `/api/v1/alarms` and `/api/v1/beds/{bed_id}/...`: open alarms, a bed's
//! NEWS2 and staff actions on an alarm, through the alerting runtime's
//! [`AlertingHandle`].
//!
//! An alarm is named by its bed and rule (the runtime keeps one open
//! occurrence per pair). The actor of every action is the signed-in user's
//! id, which is also what escalation paths name. Every read is audited as a
//! read of patient data; every action is audited with its outcome, refusals
//! included.
//!
//! Limits: the gateway serves one site, so callers of another tenant see no
//! alarms and get 404 on actions. Callers whose roles may read alarms but
//! not act on them (biomedical engineers) see technical alarms only.

use std::time::Duration;

use alerting::engine::ActionError;
use alerting::lifecycle::LifecycleError;
use alerting::notice::{AlarmClass, AlarmNotice};
use alerting::runtime::AlertingHandle;
use alerting::Priority;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::{core, is_identifier, Fields};
use crate::audit::{Action, Outcome};
use crate::http::{JsonBody, Principal};
use crate::problem::ApiError;
use crate::roles::{best_access, Access, Permission};
use crate::state::AppState;

/// The alerting runtime of this gateway's site.
#[derive(Debug, Clone)]
pub struct Alerting {
    tenant: String,
    handle: AlertingHandle,
}

impl Alerting {
    /// The runtime behind `handle`, whose alarms belong to site `tenant`.
    pub fn new(tenant: &str, handle: AlertingHandle) -> Self {
        Self {
            tenant: tenant.to_owned(),
            handle,
        }
    }

    /// The runtime's handle (the live WebSocket subscribes through it).
    pub fn handle(&self) -> &AlertingHandle {
        &self.handle
    }

    /// The site.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }
}

fn alerting(state: &AppState) -> Result<&Alerting, ApiError> {
    state.alerting.as_ref().ok_or_else(ApiError::unavailable)
}

const IDENTIFIER: &str = "must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'";

/// Whether `who` may see the alarm in `n`: same site, and clinical roles see
/// every class while the others see technical alarms only.
pub(crate) fn visible(who: &Principal, tenant: &str, n: &AlarmNotice) -> bool {
    tenant == who.tenant.as_str()
        && n.tenant.as_ref() == tenant
        && (n.class == AlarmClass::Technical
            || best_access(&who.roles, Permission::AlarmsAct) == Access::Allow)
}

/// Filters of the open-alarm list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    bed: Option<String>,
    priority: Option<String>,
    state: Option<String>,
}

const STATES: [&str; 3] = ["active_unacknowledged", "acknowledged", "silenced"];

type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

/// `GET /api/v1/alarms`: open alarms, in bed and rule order, filtered by
/// `bed`, `priority` (`low`, `medium`, `high`) and `state`.
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    q: QueryResult<ListQuery>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::malformed(e.body_text()))?;
    let mut f = Fields::default();
    if q.bed.as_deref().is_some_and(|b| !is_identifier(b)) {
        f.bad("bed", IDENTIFIER);
    }
    let priority = match q.priority.as_deref() {
        None => None,
        Some(p) => match [Priority::Low, Priority::Medium, Priority::High]
            .into_iter()
            .find(|x| x.as_str() == p)
        {
            Some(x) => Some(x),
            None => {
                f.bad("priority", "must be low, medium or high");
                None
            }
        },
    };
    if q.state.as_deref().is_some_and(|s| !STATES.contains(&s)) {
        f.bad(
            "state",
            "must be active_unacknowledged, acknowledged or silenced",
        );
    }
    f.finish()?;
    let a = alerting(&state)?;
    let open = a.handle.open_alarms().await.map_err(action_error)?;
    let alarms: Vec<AlarmNotice> = open
        .into_iter()
        .filter(|n| visible(&who, &a.tenant, n))
        .filter(|n| q.bed.as_deref().is_none_or(|b| n.bed.as_ref() == b))
        .filter(|n| priority.is_none_or(|p| n.priority == p))
        .filter(|n| q.state.as_deref().is_none_or(|s| n.state == s))
        .collect();
    let mut e = who.event(Action::R, "alarms.list", "alarm");
    e.entity_id = q.bed.clone();
    core(&state)?.audit_read(e).await?;
    Ok(Json(alarms).into_response())
}

/// `GET /api/v1/beds/{bed_id}/news2`: the bed's NEWS2 now, with the age of
/// each input; 404 when the bed has no score yet.
pub async fn news2(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(bed_id): Path<String>,
) -> Result<Response, ApiError> {
    let mut f = Fields::default();
    if !is_identifier(&bed_id) {
        f.bad("bed_id", IDENTIFIER);
    }
    f.finish()?;
    let a = alerting(&state)?;
    let view = if a.tenant == who.tenant.as_str() {
        a.handle.news2(&bed_id).await.map_err(action_error)?
    } else {
        None
    };
    let mut e = who.event(Action::R, "alarms.news2", "bed");
    e.entity_id = Some(bed_id);
    core(&state)?.audit_read(e).await?;
    view.map(|v| Json(v).into_response())
        .ok_or_else(ApiError::not_found)
}

/// The problem a refused action answers.
pub(crate) fn action_error(e: ActionError) -> ApiError {
    let text = e.to_string();
    match e {
        ActionError::Lifecycle(LifecycleError::NoSuchAlarm(_)) => ApiError::not_found(),
        ActionError::Lifecycle(LifecycleError::SilenceOutOfRange { max, .. }) => {
            let mut f = Fields::default();
            f.bad(
                "duration_secs",
                &format!("must be from 1 to {}", max.as_secs()),
            );
            f.finish().err().unwrap_or_else(ApiError::unavailable)
        }
        ActionError::Lifecycle(_)
        | ActionError::Escalation(_)
        | ActionError::NotEscalated { .. } => ApiError::conflict(text),
        ActionError::Rule { .. } | ActionError::UnknownRule(_) => {
            let mut f = Fields::default();
            f.bad("rule", &text);
            f.finish().err().unwrap_or_else(ApiError::unavailable)
        }
        ActionError::MissingReason => {
            let mut f = Fields::default();
            f.bad("reason", "is required");
            f.finish().err().unwrap_or_else(ApiError::unavailable)
        }
        ActionError::Stopped => ApiError::unavailable(),
    }
}

/// What staff can do to an alarm.
#[derive(Debug, Clone, Copy)]
enum Verb {
    Acknowledge,
    Silence(Duration),
    Accept,
    Decline,
    AcceptAndCallBack,
}

impl Verb {
    fn audit_name(self) -> &'static str {
        match self {
            Self::Acknowledge => "alarm.acknowledge",
            Self::Silence(_) => "alarm.silence",
            Self::Accept => "alarm.accept",
            Self::Decline => "alarm.decline",
            Self::AcceptAndCallBack => "alarm.accept_call_back",
        }
    }
}

/// Runs `verb` on the alarm of `bed_id` and `rule_id` as the caller, audits
/// it with its outcome and answers the alarm as it now stands (204 when the
/// action ended it).
async fn act(
    state: &AppState,
    who: &Principal,
    (bed_id, rule_id): (String, String),
    verb: Verb,
) -> Result<Response, ApiError> {
    let mut f = Fields::default();
    if !is_identifier(&bed_id) {
        f.bad("bed_id", IDENTIFIER);
    }
    if !is_identifier(&rule_id) {
        f.bad("rule_id", IDENTIFIER);
    }
    f.finish()?;
    let a = alerting(state)?;
    let core = core(state)?;
    let h = &a.handle;
    let staff = who.user_id.as_str();
    let (bed, rule) = (bed_id.as_str(), rule_id.as_str());
    let result = if a.tenant == who.tenant.as_str() {
        match verb {
            Verb::Acknowledge => h.acknowledge(bed, rule, staff).await,
            Verb::Silence(d) => h.silence(bed, rule, staff, d).await,
            Verb::Accept => h.accept(bed, rule, staff).await,
            Verb::Decline => h.decline(bed, rule, staff).await,
            Verb::AcceptAndCallBack => h.accept_and_call_back(bed, rule, staff).await,
        }
    } else {
        // Another site's caller learns nothing about this site's alarms.
        Err(ActionError::Lifecycle(LifecycleError::NoSuchAlarm(
            alerting::AlarmKey::new(bed, rule),
        )))
    };
    let mut e = who.event(Action::U, verb.audit_name(), "alarm");
    e.entity_id = Some(format!("{bed_id}/{rule_id}"));
    if let Err(err) = &result {
        e.outcome = Outcome::MinorFailure;
        e.reason = Some(err.to_string());
    }
    core.audit_read(e).await?;
    result.map_err(action_error)?;
    let open = h.open_alarms().await.map_err(action_error)?;
    Ok(open
        .into_iter()
        .find(|n| n.bed.as_ref() == bed && n.rule.as_ref() == rule)
        .map_or_else(
            || axum::http::StatusCode::NO_CONTENT.into_response(),
            |n| Json(n).into_response(),
        ))
}

type AlarmPath = Path<(String, String)>;

/// `POST /api/v1/beds/{bed_id}/alarms/{rule_id}/acknowledge`.
pub async fn acknowledge(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(p): AlarmPath,
) -> Result<Response, ApiError> {
    act(&state, &who, p, Verb::Acknowledge).await
}

/// Body of a silence.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceRequest {
    duration_secs: Option<u64>,
}

/// `POST /api/v1/beds/{bed_id}/alarms/{rule_id}/silence`: pauses the
/// alarm's audio for `duration_secs`, at most the lifecycle's maximum (the
/// error names the field and the maximum).
pub async fn silence(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(p): AlarmPath,
    JsonBody(body): JsonBody<SilenceRequest>,
) -> Result<Response, ApiError> {
    let Some(secs) = body.duration_secs else {
        let mut f = Fields::default();
        f.bad("duration_secs", "is required");
        return Err(f.finish().err().unwrap_or_else(ApiError::unavailable));
    };
    act(&state, &who, p, Verb::Silence(Duration::from_secs(secs))).await
}

/// `POST /api/v1/beds/{bed_id}/alarms/{rule_id}/accept`: accepts the
/// escalation offer.
pub async fn accept(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(p): AlarmPath,
) -> Result<Response, ApiError> {
    act(&state, &who, p, Verb::Accept).await
}

/// `POST /api/v1/beds/{bed_id}/alarms/{rule_id}/decline`: the next recipient
/// is offered the alarm at once.
pub async fn decline(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(p): AlarmPath,
) -> Result<Response, ApiError> {
    act(&state, &who, p, Verb::Decline).await
}

/// `POST /api/v1/beds/{bed_id}/alarms/{rule_id}/accept-and-call-back`.
pub async fn accept_and_call_back(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(p): AlarmPath,
) -> Result<Response, ApiError> {
    act(&state, &who, p, Verb::AcceptAndCallBack).await
}
