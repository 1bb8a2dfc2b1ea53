//! Errors as RFC 9457 problem details.
//!
//! Every error the API returns is `application/problem+json` with a stable
//! machine-readable `code` (also the last segment of `type`), a human `title`,
//! and for validation errors an `errors` list naming every bad field. Server
//! errors carry a generic body; their detail goes to the log once, with the
//! request id that the body also carries.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field, as a JSON pointer-like dotted path (`vitals.limit`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: Option<String>,
    errors: Vec<FieldError>,
    retry_after_secs: Option<u64>,
}

/// The body of an error response.
#[derive(Debug, Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, title: &'static str) -> Self {
        Self {
            status,
            code,
            title,
            detail: None,
            errors: Vec::new(),
            retry_after_secs: None,
        }
    }

    /// Adds a human-readable detail. Never put secrets or other tenants' data
    /// here.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// 400: the listed fields are invalid.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "The request has invalid fields",
        );
        e.errors = errors;
        e
    }

    /// 422: the request is well-formed but what it carries (a device
    /// profile) is invalid; `errors` names every problem by its key path.
    pub fn unprocessable(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_profile",
            "The device profile is invalid",
        );
        e.errors = errors;
        e
    }

    /// 422: the request is well-formed but names records that do not exist
    /// (a recipient, a patient); `errors` names each such field.
    pub fn unknown_reference(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_reference",
            "The request names records that do not exist",
        );
        e.errors = errors;
        e
    }

    /// 400: the body is not the JSON expected.
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "The request could not be read",
        )
        .with_detail(detail)
    }

    /// 413: the body is larger than the limit.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The request body is too large",
        )
    }

    /// 415: the body is not JSON.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The request body must be application/json",
        )
    }

    /// 401: the credentials are wrong. The same answer whether or not the
    /// account exists.
    pub fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "The credentials are not valid",
        )
    }

    /// 401: the password was right, the second factor is needed or wrong.
    pub fn mfa_required() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "mfa_required",
            "A valid one-time password or recovery code is required",
        )
    }

    /// 401: no, or no valid, access token.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "A valid access token is required",
        )
    }

    /// 401: the session ended (logout, idle timeout, absolute lifetime,
    /// refresh-token reuse).
    pub fn session_ended() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "session_ended",
            "The session has ended",
        )
    }

    /// 403: the role does not allow this.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed for your roles",
        )
    }

    /// 403: allowed only with break-the-glass access, which is not active.
    pub fn break_glass_required() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "break_glass_required",
            "Allowed only with emergency (break-the-glass) access",
        )
    }

    /// 403: the second factor must be enrolled and used first.
    pub fn mfa_enrolment_required() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "mfa_enrolment_required",
            "Your roles require a second factor; enrol one and sign in again",
        )
    }

    /// 404: no route has this path.
    pub fn no_such_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "no_such_route", "No such route")
    }

    /// 404.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "No such resource")
    }

    /// 410: the resource was deleted.
    pub fn gone() -> Self {
        Self::new(StatusCode::GONE, "gone", "The resource was deleted")
    }

    /// 412: `If-Match` names a version that is not the current one.
    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            "The resource changed since you read it; read it again",
        )
    }

    /// 428: a change needs `If-Match` with the current `ETag`.
    pub fn precondition_required() -> Self {
        Self::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
            "Send If-Match with the ETag you read",
        )
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "The method is not allowed on this resource",
        )
    }

    /// 409: the state does not allow this.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "conflict",
            "The request conflicts with the current state",
        )
        .with_detail(detail)
    }

    /// 409: the appointment's status does not allow the change asked for;
    /// the detail names both statuses.
    pub fn invalid_transition(from: &str, to: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "invalid_transition",
            "The status change is not allowed",
        )
        .with_detail(format!("an appointment that is {from} cannot become {to}"))
    }

    /// 409: a movement would take more stock out than is on hand; the
    /// detail names the quantity on hand.
    pub fn insufficient_stock(on_hand: i64, wanted: i64) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "insufficient_stock",
            "Not enough stock on hand",
        )
        .with_detail(format!(
            "on_hand is {on_hand}; the movement takes out {wanted}"
        ))
    }

    /// 429: too many attempts; retry after `secs`.
    pub fn throttled(secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            "Too many attempts; try again later",
        );
        e.retry_after_secs = Some(secs.max(1));
        e
    }

    /// 503: the database or the authentication settings are missing.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The service is not available",
        )
    }

    /// 500. `detail` is logged here, once, and never sent.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "Request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The request could not be completed",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

/// For command-line tools: the title, the detail, then every bad field.
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.title)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        for e in &self.errors {
            write!(f, "; {}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        match e {
            crate::db::DbError::NotConfigured => Self::unavailable(),
            other => Self::internal(&error_chain(&other)),
        }
    }
}

/// `e` and its sources, joined, for the one log line of a server error.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: format!("urn:healthsphere:problem:{}", self.code),
            title: self.title,
            status: self.status.as_u16(),
            code: self.code,
            detail: self.detail.as_deref(),
            errors: &self.errors,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut res = (self.status, json).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after_secs {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}
