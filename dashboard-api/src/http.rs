//! Request plumbing shared by every route: request ids, security headers,
//! authentication and authorisation, and JSON bodies with field-level errors.

use std::net::SocketAddr;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::audit::{self, Action, AuditEvent, Outcome};
use crate::auth::session;
use crate::problem::{ApiError, FieldError};
use crate::roles::{best_access, Access, Permission, Role};
use crate::routes::find_route;
use crate::state::AppState;
use crate::tenant::TenantId;
use crate::time::unix_secs;

/// The request id header, taken from the client when well-formed, else made.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Facts about the request every handler may need.
#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    /// The request id, echoed in `X-Request-Id` and in every log line.
    pub request_id: String,
    /// The peer's IP address, when served from a socket.
    pub addr: Option<String>,
}

/// The authenticated caller, put in the request extensions by [`authorize`].
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user.
    pub user_id: String,
    /// Their tenant: every query of the request runs in it.
    pub tenant: TenantId,
    /// Their roles.
    pub roles: Vec<Role>,
    /// The session.
    pub session_id: String,
    /// The break-the-glass reason, when this request is allowed only by it.
    pub break_glass: Option<String>,
    /// The request.
    pub ctx: RequestCtx,
}

impl Principal {
    /// An audit event by this caller, flagged when under break-the-glass.
    pub fn event(&self, action: Action, name: &str, entity_type: &str) -> AuditEvent {
        let mut e = AuditEvent::new(&self.tenant, action, name, entity_type);
        e.actor_id = Some(self.user_id.clone());
        e.actor_name.clone_from(&self.user_id);
        e.actor_roles = self.roles.iter().map(|r| r.as_str().to_owned()).collect();
        e.source_addr.clone_from(&self.ctx.addr);
        e.request_id = Some(self.ctx.request_id.clone());
        if let Some(reason) = &self.break_glass {
            e.break_glass = true;
            e.reason = Some(reason.clone());
        }
        e
    }
}

fn valid_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then(|| s.to_owned())
}

/// Outermost middleware: assigns the request id, logs the request in a span
/// carrying it, and adds the security headers to every response.
pub async fn request_context(mut req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(valid_request_id)
        .unwrap_or_else(new_request_id);
    let addr = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    req.extensions_mut().insert(RequestCtx {
        request_id: request_id.clone(),
        addr,
    });
    let span = tracing::info_span!("request", request_id = %request_id,
        method = %req.method(), path = %req.uri().path());
    let mut res = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| tracing::debug!(status = res.status().as_u16(), "Request done"));
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert(REQUEST_ID.clone(), v);
    }
    security_headers(h);
    res
}

fn new_request_id() -> String {
    let mut b = [0u8; 12];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    audit::hex(&b)
}

/// The headers of the product's design. No CORS headers are ever added, so
/// browsers keep cross-origin reads off by default.
fn security_headers(h: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, k: HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    );
    set(h, header::CACHE_CONTROL, "no-store");
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Route middleware: finds the route in the permission table, authenticates
/// the bearer token, checks the session and the matrix, and puts the
/// [`Principal`] in the request. A route missing from the table is refused
/// (deny by default).
pub async fn authorize(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    match check(&state, &mut req).await {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn check(state: &AppState, req: &mut Request) -> Result<(), ApiError> {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let Some(route) = find_route(req.method(), &path) else {
        return Err(ApiError::internal(&format_args!(
            "route {} {path} is missing from the permission table",
            req.method()
        )));
    };
    let ctx = req
        .extensions()
        .get::<RequestCtx>()
        .cloned()
        .unwrap_or_else(|| RequestCtx {
            request_id: new_request_id(),
            addr: None,
        });
    if path.starts_with("/api/") || path.starts_with("/fhir/") {
        if let Some(wait) = state
            .core
            .as_ref()
            .and_then(|c| c.rate_limited(ctx.addr.as_deref().unwrap_or("")))
        {
            return Err(ApiError::throttled(wait.as_secs().max(1)));
        }
    }
    if route.permission == Permission::Public {
        return Ok(());
    }
    let core = state.core.clone().ok_or_else(ApiError::unavailable)?;
    let token = bearer(req.headers()).ok_or_else(ApiError::unauthenticated)?;
    let claims = core
        .jwt
        .verify(token, unix_secs(SystemTime::now()))
        .map_err(|e| {
            tracing::debug!(reason = %e, "Access token refused");
            ApiError::unauthenticated()
        })?;
    let tenant = TenantId::parse(&claims.tid).map_err(|_| ApiError::unauthenticated())?;
    let access = best_access(&claims.roles, route.permission);
    let mut principal = Principal {
        user_id: claims.sub.clone(),
        tenant: tenant.clone(),
        roles: claims.roles.clone(),
        session_id: claims.sid.clone(),
        break_glass: None,
        ctx,
    };
    if access == Access::Deny {
        deny(&core, &principal, route.audit_name, "role").await?;
        return Err(ApiError::forbidden());
    }
    if route.permission != Permission::OwnSession
        && !claims.mfa
        && session::needs_mfa(&core, &claims.roles)
    {
        return Err(ApiError::mfa_enrolment_required());
    }
    let live = session::touch(&core, &tenant, &claims).await?;
    if access == Access::BreakGlass {
        match live.break_glass {
            Some(reason) => principal.break_glass = Some(reason),
            None => {
                deny(
                    &core,
                    &principal,
                    route.audit_name,
                    "break-the-glass not active",
                )
                .await?;
                return Err(ApiError::break_glass_required());
            }
        }
    }
    req.extensions_mut().insert(principal);
    req.extensions_mut().insert(claims);
    Ok(())
}

/// Records a refused access.
async fn deny(
    core: &crate::core::ApiCore,
    who: &Principal,
    route: &str,
    why: &str,
) -> Result<(), ApiError> {
    let mut e = who.event(Action::E, "access.denied", "route");
    e.entity_id = Some(route.to_owned());
    e.outcome = Outcome::MinorFailure;
    e.reason = Some(why.to_owned());
    core.audit_read(e).await
}

/// A JSON request body whose errors are problem details: 413 above
/// [`MAX_BODY_BYTES`], 415 without a JSON content type, 400 naming the field
/// for a wrong type or a missing or unknown field.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let mime = v.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("application/json")
            });
        if !json {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large()
            } else {
                ApiError::malformed("the body could not be read")
            }
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(JsonBody)
            .map_err(|e| {
                let field = e.path().to_string();
                let inner = e.into_inner();
                if inner.is_syntax() || inner.is_eof() || field == "." {
                    ApiError::malformed(format!("not valid JSON for this request: {inner}"))
                } else {
                    ApiError::validation(vec![FieldError {
                        field,
                        message: inner.to_string(),
                    }])
                }
            })
    }
}
