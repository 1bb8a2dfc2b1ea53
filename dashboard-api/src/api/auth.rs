//! `/api/v1/auth/*` and `/api/v1/me`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::{core, Fields};
use crate::auth::session::{self, Login};
use crate::db::{begin_tenant, query};
use crate::http::{JsonBody, Principal, RequestCtx};
use crate::problem::ApiError;
use crate::roles::Role;
use crate::state::AppState;
use crate::tenant::TenantId;

/// `POST /api/v1/auth/login` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    tenant: Option<String>,
    username: Option<String>,
    password: Option<String>,
    /// A TOTP code or a recovery code.
    otp: Option<String>,
}

/// Signs in with a password (and a second factor when enrolled).
pub async fn login(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response, ApiError> {
    let core = core(&state)?;
    let mut f = Fields::default();
    let tenant = f.text("tenant", body.tenant, 1, 64);
    let tenant = TenantId::parse(&tenant).ok();
    if tenant.is_none() {
        f.bad("tenant", "must be a site identifier (a-z, 0-9, '-', '_')");
    }
    let username = f.text("username", body.username, 1, 128);
    let password = f.text("password", body.password, 1, 1024);
    if let Some(otp) = &body.otp {
        if otp.len() > 32 {
            f.bad("otp", "must be at most 32 characters");
        }
    }
    f.finish()?;
    let Some(tenant) = tenant else {
        return Err(ApiError::malformed("tenant"));
    };
    let login = Login {
        tenant,
        username,
        password,
        second_factor: body.otp,
    };
    let pair = session::login(&core, login, &ctx).await?;
    Ok(Json(pair).into_response())
}

/// `POST /api/v1/auth/refresh` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: Option<String>,
}

/// Exchanges a refresh token for the next pair.
pub async fn refresh(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Response, ApiError> {
    let core = core(&state)?;
    let mut f = Fields::default();
    let token = f.text("refresh_token", body.refresh_token, 1, 256);
    f.finish()?;
    let pair = session::refresh(&core, &token, &ctx).await?;
    Ok(Json(pair).into_response())
}

/// Ends the caller's session; its refresh token stops working and its access
/// tokens are refused at the next request.
pub async fn logout(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<StatusCode, ApiError> {
    session::logout(&*core(&state)?, &who).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts TOTP enrolment.
pub async fn totp_enrol(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Response, ApiError> {
    let e = session::totp_enrol(&*core(&state)?, &who).await?;
    Ok((StatusCode::CREATED, Json(e)).into_response())
}

/// `POST /api/v1/auth/totp/confirm` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    code: Option<String>,
}

/// Confirms TOTP enrolment with the current code.
pub async fn totp_confirm(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    JsonBody(body): JsonBody<ConfirmBody>,
) -> Result<Response, ApiError> {
    let mut f = Fields::default();
    let code = f.text("code", body.code, 6, 6);
    f.finish()?;
    let c = session::totp_confirm(&*core(&state)?, &who, &code).await?;
    Ok(Json(c).into_response())
}

/// `POST /api/v1/auth/break-glass` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassBody {
    reason: Option<String>,
    duration_secs: Option<u64>,
}

/// Starts emergency access: a reason of at least 10 characters is required.
pub async fn break_glass(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    JsonBody(body): JsonBody<BreakGlassBody>,
) -> Result<Response, ApiError> {
    let core = core(&state)?;
    let mut f = Fields::default();
    let reason = f.text("reason", body.reason.map(|r| r.trim().to_owned()), 10, 500);
    let duration = body
        .duration_secs
        .unwrap_or(core.config.break_glass_max_secs);
    if duration == 0 {
        f.bad("duration_secs", "must be positive");
    }
    f.finish()?;
    let b = session::break_glass(&core, &who, &reason, duration).await?;
    Ok(Json(b).into_response())
}

/// `GET /api/v1/me`.
#[derive(Debug, Serialize)]
pub struct Me {
    id: String,
    tenant: String,
    username: String,
    display_name: String,
    roles: Vec<Role>,
    mfa_enabled: bool,
}

/// Who the caller is.
pub async fn me(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Response, ApiError> {
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let row = tx
        .query_opt(
            "SELECT username, display_name, totp_enabled FROM users WHERE id = $1",
            &[&who.user_id],
        )
        .await
        .map_err(query("load the caller"))?
        .ok_or_else(ApiError::session_ended)?;
    tx.commit().await.map_err(query("commit"))?;
    Ok(Json(Me {
        id: who.user_id.clone(),
        tenant: who.tenant.to_string(),
        username: row.get(0),
        display_name: row.get(1),
        roles: who.roles.clone(),
        mfa_enabled: row.get(2),
    })
    .into_response())
}
