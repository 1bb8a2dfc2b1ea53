//! The OpenAPI 3.1 document, built from the route table.
//!
//! Every route of [`ROUTES`] gets an operation: its permission decides the
//! security requirement and the documented error statuses, and
//! `operation` adds what only the handler knows (parameters, request
//! body, success response). A route without documentation is an error
//! caught by a test, so the document cannot fall behind the router.
//!
//! `operations` holds each route's parameters and responses, `schemas`
//! the components they refer to.

mod appointments;
mod inventory;
mod operations;
mod schemas;

use serde_json::{json, Map, Value};

use crate::roles::Permission;
use crate::routes::{Route, ROUTES};

use operations::operation;
use schemas::schemas;

pub(super) fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

pub(super) fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

pub(super) fn string() -> Value {
    json!({"type": "string"})
}

pub(super) fn int() -> Value {
    json!({"type": "integer"})
}

pub(super) fn object(props: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
}

pub(super) fn query(name: &str, schema: Value, required: bool) -> Value {
    json!({"name": name, "in": "query", "required": required, "schema": schema})
}

pub(super) fn path(name: &str, pattern: &str) -> Value {
    json!({"name": name, "in": "path", "required": true,
           "schema": {"type": "string", "pattern": pattern, "minLength": 1, "maxLength": 64}})
}

pub(super) fn json_body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

pub(super) fn ok(status: &str, media: &str, schema: Value) -> (String, Value) {
    (
        status.to_owned(),
        json!({"description": "Success", "content": {media: {"schema": schema}}}),
    )
}

pub(super) const BED: &str = "^[A-Za-z0-9._-]{1,64}$";
pub(super) const USER_ID: &str = "^[0-9a-fA-F]{32}$";

/// Summary, parameters, request body, and success status with its response.
pub(super) type Operation = (&'static str, Vec<Value>, Option<Value>, (String, Value));

/// Error statuses a route can answer, by its permission and method.
fn error_statuses(route: &Route) -> Vec<&'static str> {
    if matches!(
        route.path,
        "/healthz" | "/metrics" | "/openapi.json" | "/devices/health"
    ) {
        return vec!["500"];
    }
    if route.path == "/readyz" {
        return vec!["503"];
    }
    let mut s = vec!["400", "429", "500", "503"];
    if route.permission != Permission::Public
        || route.path.ends_with("/login")
        || route.path.ends_with("/refresh")
    {
        s.push("401");
    }
    if route.permission != Permission::Public {
        s.push("403");
    }
    if route.method == axum::http::Method::POST || route.method == axum::http::Method::PATCH {
        s.extend(["413", "415"]);
    }
    if route.path.contains("{user_id}") || route.path.contains("{item_id}") {
        s.extend(["404", "410", "412", "428"]);
    }
    if route.path.ends_with("/news2") {
        s.push("404");
    }
    if route.path.contains("{rule_id}") {
        s.extend(["404", "409"]);
    }
    if route.path.ends_with("/observations") || route.path.starts_with("/api/v1/limit-overrides") {
        s.push("404");
    }
    let inventory_write =
        route.path.starts_with("/api/v1/inventory") && route.method == axum::http::Method::POST;
    if route.path.starts_with("/api/v1/users") || route.path.contains("totp") || inventory_write {
        s.push("409");
    }
    if route.method == axum::http::Method::POST && route.path.starts_with("/api/v1/device") {
        s.push("409");
        if route.path.starts_with("/api/v1/device-profiles") {
            s.push("422");
        }
    }

    if route.path.contains("{patient_id}")
        || route.path.contains("{admission_id}")
        || route.path.contains("{observation_id}")
    {
        s.push("404");
    }
    let patients =
        route.path.starts_with("/api/v1/patients") || route.path.starts_with("/api/v1/admissions");
    if patients && route.method == axum::http::Method::POST {
        s.push("409");
    }
    if route.path.contains("{message_id}") {
        s.push("404");
    }
    if route.path.contains("{appointment_id}") {
        s.push("404");
    }
    if route.path.ends_with("/status") && route.path.starts_with("/api/v1/appointments/") {
        s.extend(["409", "412"]);
    }
    if route.path == "/api/v1/messages" && route.method == axum::http::Method::POST {
        s.push("422");
    }
    s.sort_unstable();
    s
}

/// The document, built once.
pub fn cached() -> &'static Value {
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DOC.get_or_init(document)
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let Some((summary, params, body, (status, success))) = operation(route) else {
            continue;
        };
        let mut responses = Map::new();
        if route.path.contains("{rule_id}") || route.path.ends_with("/observations") {
            responses.insert(
                "204".to_owned(),
                json!({"description": "Done; the alarm is no longer open"}),
            );
        }
        if route.audit_name == "device_profile.upload" {
            // 200 when an existing file was replaced, 201 when created.
            responses.insert("200".to_owned(), success.clone());
        }
        responses.insert(status, success);
        let error = if route.path.starts_with("/fhir/") {
            json!({"description": "A FHIR OperationOutcome",
                   "content": {"application/fhir+json": {"schema": r("OperationOutcome")}}})
        } else {
            json!({"description": "Problem details (RFC 9457)",
                   "content": {"application/problem+json": {"schema": r("Problem")}}})
        };
        for s in error_statuses(route) {
            responses.insert(s.to_owned(), error.clone());
        }
        let mut op = json!({
            "operationId": route.audit_name,
            "summary": summary,
            "parameters": params,
            "responses": responses,
        });
        if let Some(b) = body {
            op["requestBody"] = json_body(b);
        }
        if route.permission != Permission::Public {
            op["security"] = json!([{"bearer": []}]);
            op["x-permission"] = json!(format!("{:?}", route.permission));
        }
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.as_str().to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "HealthSphere ward gateway API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {"schemas": schemas(), "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_once() {
        let doc = document();
        for route in ROUTES {
            assert!(
                operation(route).is_some(),
                "{} {} is undocumented",
                route.method,
                route.path
            );
            let op = &doc["paths"][route.path][route.method.as_str().to_ascii_lowercase()];
            assert!(op.is_object(), "{} {}", route.method, route.path);
            assert_eq!(
                op.get("security").is_some(),
                route.permission != Permission::Public,
                "{}",
                route.path
            );
        }
        assert_eq!(doc["openapi"], "3.1.0");
        // Every reference resolves.
        let text = doc.to_string();
        for piece in text.split("#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap();
            assert!(doc["components"]["schemas"][name].is_object(), "{name}");
        }
    }
}
