//! Errors of the FHIR endpoints as FHIR R4 OperationOutcome resources.
//!
//! A FHIR client expects an OperationOutcome, not an RFC 9457 problem, when
//! a request to a FHIR endpoint fails. Every error of the API is first a
//! problem (handlers, the authorisation middleware and the fallbacks all
//! produce one); this layer rewrites those answered under `/fhir/` into an
//! OperationOutcome with the same status. The problem's stable code stays
//! available in `issue.details.coding` (system [`PROBLEM_SYSTEM`]), and each
//! field error becomes an issue of its own whose diagnostics name the field
//! (a search parameter, for the FHIR search).

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Value};

/// The code system of the API's stable problem codes.
pub const PROBLEM_SYSTEM: &str = "urn:healthsphere:problem";

/// The longest problem body rewritten; problems are far smaller.
const MAX_PROBLEM_BYTES: usize = 64 * 1024;

/// The middleware: rewrites problems answered under `/fhir/`.
pub async fn rewrite(req: Request, next: Next) -> Response {
    let fhir = req.uri().path().starts_with("/fhir/");
    let res = next.run(req).await;
    let problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    if !fhir || !problem {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PROBLEM_BYTES).await else {
        // Not expected of our own problems; answer with the status alone.
        return Response::from_parts(parts, Body::empty());
    };
    let problem: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let outcome = outcome(parts.status, &problem);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(outcome.to_string()))
}

/// The FHIR issue type of an HTTP status.
fn issue_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 422 => "invalid",
        401 => "login",
        403 => "forbidden",
        404 => "not-found",
        405 => "not-supported",
        409 | 412 => "conflict",
        410 => "deleted",
        413 => "too-long",
        429 => "throttled",
        503 => "transient",
        _ => "exception",
    }
}

/// The OperationOutcome of a problem answered with `status`.
pub fn outcome(status: StatusCode, problem: &Value) -> Value {
    let kind = issue_type(status);
    let code = problem["code"].as_str().unwrap_or("error");
    let title = problem["title"].as_str().unwrap_or("The request failed");
    let details =
        |text: &str| json!({"coding": [{"system": PROBLEM_SYSTEM, "code": code}], "text": text});
    let mut issues: Vec<Value> = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let field = e["field"].as_str().unwrap_or("");
            let message = e["message"].as_str().unwrap_or("");
            json!({"severity": "error", "code": kind, "details": details(title),
                   "diagnostics": format!("{field}: {message}")})
        })
        .collect();
    if issues.is_empty() {
        let mut issue = json!({"severity": "error", "code": kind, "details": details(title)});
        if let Some(d) = problem["detail"].as_str() {
            issue["diagnostics"] = json!(d);
        }
        issues.push(issue);
    }
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_become_one_issue_each() {
        let problem = json!({"type": "urn:healthsphere:problem:validation_failed", "title": "Invalid request",
            "status": 400, "code": "validation_failed",
            "errors": [{"field": "date", "message": "bad"}, {"field": "_count", "message": "too big"}]});
        let o = outcome(StatusCode::BAD_REQUEST, &problem);
        assert_eq!(o["resourceType"], "OperationOutcome");
        let issues = o["issue"].as_array().unwrap();
        assert_eq!(issues.len(), 2);
        assert_eq!(issues[1]["diagnostics"], "_count: too big");
        assert_eq!(issues[0]["code"], "invalid");
        assert_eq!(
            issues[0]["details"]["coding"][0]["code"],
            "validation_failed"
        );
    }

    #[test]
    fn other_problems_keep_their_detail_and_map_the_status() {
        let p = json!({"code": "forbidden", "title": "Forbidden", "detail": "no"});
        let o = outcome(StatusCode::FORBIDDEN, &p);
        assert_eq!(o["issue"][0]["code"], "forbidden");
        assert_eq!(o["issue"][0]["diagnostics"], "no");
        let o = outcome(StatusCode::INTERNAL_SERVER_ERROR, &Value::Null);
        assert_eq!(o["issue"][0]["code"], "exception");
        assert!(o["issue"][0].get("diagnostics").is_none());
        assert_eq!(issue_type(StatusCode::TOO_MANY_REQUESTS), "throttled");
    }
}
