//! The OpenAPI 3.1 document, built from the route table.
//!
//! Every route of [`ROUTES`] gets an operation: its permission decides the
//! security requirement and the documented error statuses, and
//! [`operation`] adds what only the handler knows (parameters, request
//! body, success response). A route without documentation is an error
//! caught by a test, so the document cannot fall behind the router.

use serde_json::{json, Map, Value};

use crate::roles::{Permission, Role};
use crate::routes::{Route, ROUTES};

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn int() -> Value {
    json!({"type": "integer"})
}

fn object(props: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
}

fn query(name: &str, schema: Value, required: bool) -> Value {
    json!({"name": name, "in": "query", "required": required, "schema": schema})
}

fn path(name: &str, pattern: &str) -> Value {
    json!({"name": name, "in": "path", "required": true,
           "schema": {"type": "string", "pattern": pattern, "minLength": 1, "maxLength": 64}})
}

fn json_body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn ok(status: &str, media: &str, schema: Value) -> (String, Value) {
    (
        status.to_owned(),
        json!({"description": "Success", "content": {media: {"schema": schema}}}),
    )
}

const BED: &str = "^[A-Za-z0-9._-]{1,64}$";
const USER_ID: &str = "^[0-9a-fA-F]{32}$";

/// Summary, parameters, request body, and success status with its response.
type Operation = (&'static str, Vec<Value>, Option<Value>, (String, Value));

/// What the handler of `route` takes and returns on success.
fn operation(route: &Route) -> Option<Operation> {
    // A patient's vitals take what a bed's take, with the patient in the path.
    if let Some(rest) = route
        .path
        .strip_prefix("/api/v1/patients/{patient_id}/vitals")
    {
        let bed_path = format!("/api/v1/beds/{{bed_id}}/vitals{rest}");
        let bed = ROUTES
            .iter()
            .find(|r| r.method == route.method && r.path == bed_path)?;
        let (summary, mut params, body, success) = operation(bed)?;
        params[0] = path("patient_id", USER_ID);
        return Some((summary, params, body, success));
    }
    let time = || json!({"type": "string", "format": "date-time"});
    let range = || {
        vec![
            path("bed_id", BED),
            query("from", time(), true),
            query("to", time(), true),
            query("metric", string(), false),
        ]
    };
    let j = "application/json";
    Some(match (route.method.as_str(), route.path) {
        ("GET", "/healthz") => ("Liveness", vec![], None, ok("200", "text/plain", string())),
        ("GET", "/readyz") => ("Readiness", vec![], None, ok("200", j, r("Readiness"))),
        ("GET", "/metrics") => (
            "Prometheus metrics",
            vec![],
            None,
            ok("200", "text/plain", string()),
        ),
        ("GET", "/openapi.json") => (
            "This document",
            vec![],
            None,
            ok("200", j, json!({"type": "object"})),
        ),
        ("POST", "/api/v1/auth/login") => (
            "Sign in",
            vec![],
            Some(r("LoginRequest")),
            ok("200", j, r("TokenPair")),
        ),
        ("POST", "/api/v1/auth/refresh") => (
            "Rotate the refresh token",
            vec![],
            Some(r("RefreshRequest")),
            ok("200", j, r("TokenPair")),
        ),
        ("POST", "/api/v1/auth/logout") => (
            "End the session",
            vec![],
            None,
            ("204".to_owned(), json!({"description": "Signed out"})),
        ),
        ("POST", "/api/v1/auth/totp/enrol") => (
            "Start TOTP enrolment",
            vec![],
            None,
            ok("201", j, r("Enrolment")),
        ),
        ("POST", "/api/v1/auth/totp/confirm") => (
            "Confirm TOTP enrolment",
            vec![],
            Some(r("ConfirmRequest")),
            ok("200", j, r("Confirmed")),
        ),
        ("POST", "/api/v1/auth/break-glass") => (
            "Start emergency access",
            vec![],
            Some(r("BreakGlassRequest")),
            ok("200", j, r("BreakGlass")),
        ),
        ("GET", "/api/v1/me") => ("The caller", vec![], None, ok("200", j, r("Me"))),
        ("GET", "/api/v1/audit") => (
            "The audit log, newest first",
            vec![
                query("cursor", string(), false),
                query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 200}),
                    false,
                ),
                query("patient_id", string(), false),
            ],
            None,
            ok("200", j, r("AuditPage")),
        ),
        ("GET", "/api/v1/audit/fhir") => (
            "The audit log as FHIR AuditEvent",
            vec![
                query("cursor", string(), false),
                query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 200}),
                    false,
                ),
                query("patient_id", string(), false),
            ],
            None,
            ok("200", "application/fhir+json", r("Bundle")),
        ),
        ("GET", "/fhir/R4/Observation") => (
            "Search vital-sign Observations (by bed or by patient, one required)",
            vec![
                query("bed", json!({"type": "string", "pattern": BED}), false),
                query("patient", string(), false),
                query("code", string(), false),
                query("date", string(), false),
                query(
                    "_count",
                    json!({"type": "integer", "minimum": 1, "maximum": 200}),
                    false,
                ),
            ],
            None,
            ok("200", "application/fhir+json", r("Bundle")),
        ),
        ("GET", "/fhir/R4/Observation/{observation_id}") => (
            "Read a vital-sign Observation by its stable id",
            vec![path("observation_id", "^[A-Za-z0-9.-]{1,64}$")],
            None,
            ok(
                "200",
                "application/fhir+json",
                json!({"type": "object", "required": ["resourceType", "id"],
                       "properties": {"resourceType": {"const": "Observation"}, "id": string()}}),
            ),
        ),
        ("GET", "/api/v1/users") => (
            "List users",
            vec![
                query(
                    "cursor",
                    json!({"type": "string", "pattern": USER_ID}),
                    false,
                ),
                query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 200}),
                    false,
                ),
            ],
            None,
            ok("200", j, r("UserPage")),
        ),
        ("POST", "/api/v1/users") => (
            "Create a user",
            vec![],
            Some(r("NewUser")),
            ok("201", j, r("User")),
        ),
        ("GET", "/api/v1/users/{user_id}") => (
            "Read a user",
            vec![path("user_id", USER_ID)],
            None,
            ok("200", j, r("User")),
        ),
        ("PATCH", "/api/v1/users/{user_id}") => (
            "Change a user (If-Match required)",
            vec![
                path("user_id", USER_ID),
                json!({"name": "If-Match", "in": "header", "required": false, "schema": string()}),
            ],
            Some(r("UserChange")),
            ok("200", j, r("User")),
        ),
        ("DELETE", "/api/v1/users/{user_id}") => (
            "Delete a user (soft; If-Match required)",
            vec![
                path("user_id", USER_ID),
                json!({"name": "If-Match", "in": "header", "required": false, "schema": string()}),
            ],
            None,
            ("204".to_owned(), json!({"description": "Deleted"})),
        ),
        ("GET", "/api/v1/live") => (
            "Live events over a WebSocket (upgrade)",
            vec![],
            None,
            (
                "101".to_owned(),
                json!({"description": "Switching to the WebSocket protocol"}),
            ),
        ),
        ("GET", "/devices/health") => (
            "Adapter health (operational, unauthenticated)",
            vec![],
            None,
            ok(
                "200",
                j,
                json!({"type": "object", "additionalProperties": {"type": "object"}}),
            ),
        ),
        ("GET", "/api/v1/devices/health") => (
            "Adapter health of every device",
            vec![],
            None,
            ok(
                "200",
                j,
                json!({"type": "object", "additionalProperties": {"type": "object"}}),
            ),
        ),
        ("GET", "/api/v1/devices") => (
            "Configured devices with their adapter health",
            vec![],
            None,
            ok("200", j, json!({"type": "array", "items": r("Device")})),
        ),
        ("GET", "/api/v1/devices/statuses") => (
            "Latest device statuses (door, alarm bits, unmapped codes), by device",
            vec![],
            None,
            ok(
                "200",
                j,
                json!({"type": "object", "additionalProperties": {
                    "type": "object", "additionalProperties": r("Status")}}),
            ),
        ),
        ("POST", "/api/v1/devices/reload") => (
            "Reload devices and profiles, as on SIGHUP",
            vec![],
            None,
            ok("200", j, r("Reloaded")),
        ),
        ("GET", "/api/v1/device-profiles") => (
            "Loaded device profiles",
            vec![],
            None,
            ok(
                "200",
                j,
                json!({"type": "array", "items": r("DeviceProfile")}),
            ),
        ),
        ("POST", "/api/v1/device-profiles") => (
            "Upload a profile into the site folder (applied at the next reload)",
            vec![],
            Some(r("ProfileUpload")),
            ok("201", j, r("ProfileUploaded")),
        ),
        ("POST", "/api/v1/device-profiles/validate") => (
            "Validate a profile; changes nothing",
            vec![],
            Some(r("ProfileText")),
            ok("200", j, r("ProfileValid")),
        ),
        ("GET", "/api/v1/beds/{bed_id}/vitals/latest") => (
            "Newest value of each metric",
            vec![
                path("bed_id", BED),
                query(
                    "within_secs",
                    json!({"type": "integer", "minimum": 1, "maximum": 86400}),
                    false,
                ),
            ],
            None,
            ok("200", j, json!({"type": "array", "items": r("Sample")})),
        ),
        ("GET", "/api/v1/beds/{bed_id}/vitals") => (
            "Raw samples over a range",
            {
                let mut p = range();
                p.push(query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 5000}),
                    false,
                ));
                p.push(query("after", time(), false));
                p
            },
            None,
            ok("200", j, r("RawPage")),
        ),
        ("GET", "/api/v1/beds/{bed_id}/vitals/aggregate") => (
            "time_bucket aggregates",
            {
                let mut p = range();
                p.push(query(
                    "bucket_secs",
                    json!({"type": "integer", "minimum": 1, "maximum": 86400}),
                    false,
                ));
                p
            },
            None,
            ok("200", j, json!({"type": "array", "items": r("Bucket")})),
        ),
        ("GET", "/api/v1/patients") => (
            "List patients (each one returned is audited)",
            vec![
                query(
                    "cursor",
                    json!({"type": "string", "pattern": USER_ID}),
                    false,
                ),
                query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 100}),
                    false,
                ),
                query("mrn", json!({"type": "string", "pattern": BED}), false),
            ],
            None,
            ok("200", j, r("PatientPage")),
        ),
        ("POST", "/api/v1/patients") => (
            "Register a patient",
            vec![],
            Some(r("NewPatient")),
            ok("201", j, r("Patient")),
        ),
        ("GET", "/api/v1/patients/{patient_id}") => (
            "Read a patient",
            vec![path("patient_id", USER_ID)],
            None,
            ok("200", j, r("Patient")),
        ),
        ("GET", "/api/v1/patients/{patient_id}/admissions") => (
            "A patient's admissions, oldest first",
            vec![path("patient_id", USER_ID)],
            None,
            ok("200", j, json!({"type": "array", "items": r("Admission")})),
        ),
        ("POST", "/api/v1/patients/{patient_id}/admissions") => (
            "Admit a patient to a bed",
            vec![path("patient_id", USER_ID)],
            Some(r("NewAdmission")),
            ok("201", j, r("Admission")),
        ),
        ("POST", "/api/v1/admissions/{admission_id}/discharge") => (
            "Discharge an admission",
            vec![path("admission_id", USER_ID)],
            Some(r("Discharge")),
            ok("200", j, r("Admission")),
        ),
        ("GET", "/api/v1/alarms") => (
            "Open alarms (technical only for roles that cannot act on alarms)",
            vec![
                query("bed", json!({"type": "string", "pattern": BED}), false),
                query(
                    "priority",
                    json!({"enum": ["low", "medium", "high"]}),
                    false,
                ),
                query(
                    "state",
                    json!({"enum": ["active_unacknowledged", "acknowledged", "silenced"]}),
                    false,
                ),
            ],
            None,
            ok("200", j, json!({"type": "array", "items": r("Alarm")})),
        ),
        ("GET", "/api/v1/alarms/history") => (
            "The alarm log over a range, newest first",
            vec![
                query("from", time(), true),
                query("to", time(), true),
                query("bed", json!({"type": "string", "pattern": BED}), false),
                query("rule", json!({"type": "string", "pattern": BED}), false),
                query("state", json!({"type": "string", "pattern": BED}), false),
                query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 500}),
                    false,
                ),
                query("cursor", string(), false),
            ],
            None,
            ok("200", j, r("AlarmHistoryPage")),
        ),
        ("POST", "/api/v1/beds/{bed_id}/observations") => (
            "Record manual NEWS2 inputs; answers the bed's NEWS2 (204 without one)",
            vec![path("bed_id", BED)],
            Some(r("Observations")),
            ok("200", j, r("News2")),
        ),
        ("POST", "/api/v1/limit-overrides") => (
            "Override a rule's limits for a bed or a patient",
            vec![],
            Some(r("LimitOverride")),
            ("204".to_owned(), json!({"description": "Set"})),
        ),
        ("POST", "/api/v1/limit-overrides/clear") => (
            "Remove a limit override",
            vec![],
            Some(r("LimitOverrideClear")),
            ("204".to_owned(), json!({"description": "Cleared"})),
        ),
        ("GET", "/api/v1/beds/{bed_id}/news2") => (
            "The bed's NEWS2 now, with the age of each input",
            vec![path("bed_id", BED)],
            None,
            ok("200", j, r("News2")),
        ),
        ("POST", p) if p.starts_with("/api/v1/beds/{bed_id}/alarms/{rule_id}/") => (
            "Act on an alarm as the caller (204 when this ended it)",
            vec![path("bed_id", BED), path("rule_id", BED)],
            p.ends_with("/silence").then(|| r("SilenceRequest")),
            ok("200", j, r("Alarm")),
        ),
        _ => return None,
    })
}

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
    if route.path.contains("{user_id}") {
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
    if route.path.starts_with("/api/v1/users") || route.path.contains("totp") {
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
        for s in error_statuses(route) {
            responses.insert(
                s.to_owned(),
                json!({"description": "Problem details (RFC 9457)",
                       "content": {"application/problem+json": {"schema": r("Problem")}}}),
            );
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

fn schemas() -> Value {
    let mut all = base_schemas();
    if let (Some(all), Value::Object(more)) = (all.as_object_mut(), alarm_schemas()) {
        all.extend(more);
    }
    all
}

fn alarm_schemas() -> Value {
    let opt = |t: &str| nullable(t);
    json!({
        "Alarm": {"type": "object", "required": ["event_id", "tenant", "bed", "rule", "occurrence", "class",
            "priority", "change", "state", "condition_present", "at_us", "actor", "message"], "properties": {
            "event_id": string(), "tenant": string(), "bed": string(), "rule": string(), "occurrence": int(),
            "class": {"enum": ["physiological", "news2", "technical", "device"]},
            "priority": {"enum": ["low", "medium", "high"]}, "change": string(), "state": string(),
            "silenced_until_us": opt("integer"), "condition_present": {"type": "boolean"}, "at_us": int(),
            "actor": string(), "metric": opt("string"), "value": opt("number"), "message": string(),
            "escalation": {"type": ["object", "null"]}}},
        "News2": {"type": "object", "required": ["bed", "total", "band", "response", "complete", "parts", "at_us"],
            "properties": {"bed": string(), "total": int(),
            "band": {"enum": ["zero", "low", "low_medium", "medium", "high"]}, "response": string(),
            "complete": {"type": "boolean"}, "at_us": int(), "parts": {"type": "array", "items": object(json!({
                "parameter": string(), "points": opt("integer"), "gap": opt("string"), "age_s": opt("number")}),
                &["parameter", "points", "gap", "age_s"])}}},
        "AlarmHistoryPage": object(json!({"items": {"type": "array", "items": {"type": "object",
            "required": ["time", "event_id", "bed", "rule", "occurrence", "class", "priority", "change", "state",
                "actor", "condition_present", "message", "detail"]}}, "next_cursor": string()}), &["items"]),
        "Observations": {"type": "object", "additionalProperties": false, "minProperties": 1, "properties": {
            "consciousness": {"enum": ["alert", "new_confusion", "voice", "pain", "unresponsive"]},
            "oxygen": {"enum": ["air", "supplemental"]}, "spo2_scale": {"enum": [1, 2]}}},
        "LimitOverride": object(json!({"bed_id": {"type": "string", "pattern": BED},
            "patient_id": {"type": "string", "pattern": BED}, "rule": {"type": "string", "pattern": BED},
            "low": opt("number"), "high": opt("number"),
            "reason": {"type": "string", "minLength": 1, "maxLength": 500}}), &["rule", "reason"]),
        "LimitOverrideClear": object(json!({"bed_id": {"type": "string", "pattern": BED},
            "patient_id": {"type": "string", "pattern": BED}, "rule": {"type": "string", "pattern": BED},
            "reason": {"type": "string", "minLength": 1, "maxLength": 500}}), &["rule", "reason"]),
        "SilenceRequest": object(json!({"duration_secs": {"type": "integer", "minimum": 1}}), &["duration_secs"]),
    })
}

fn base_schemas() -> Value {
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    let opt = |t: &str| nullable(t);
    json!({
        "Problem": {"type": "object", "required": ["type", "title", "status", "code"], "properties": {
            "type": string(), "title": string(), "status": int(), "code": string(), "detail": string(),
            "errors": {"type": "array", "items": object(json!({"field": string(), "message": string()}), &["field", "message"])}}},
        "Readiness": object(json!({"ready": {"type": "boolean"}, "database": {"enum": ["up", "down", "not_configured"]}}), &["ready", "database"]),
        "Role": {"enum": roles},
        "LoginRequest": object(json!({"tenant": string(), "username": string(), "password": string(), "otp": string()}), &["tenant", "username", "password"]),
        "RefreshRequest": object(json!({"refresh_token": string()}), &["refresh_token"]),
        "TokenPair": object(json!({"access_token": string(), "token_type": {"const": "Bearer"}, "expires_in": int(),
            "refresh_token": string(), "mfa_enrolment_required": {"type": "boolean"}}),
            &["access_token", "token_type", "expires_in", "refresh_token", "mfa_enrolment_required"]),
        "Enrolment": object(json!({"secret": string(), "provisioning_uri": string()}), &["secret", "provisioning_uri"]),
        "ConfirmRequest": object(json!({"code": {"type": "string", "pattern": "^[0-9]{6}$"}}), &["code"]),
        "Confirmed": object(json!({"recovery_codes": {"type": "array", "items": string()}, "tokens": r("TokenPair")}), &["recovery_codes", "tokens"]),
        "BreakGlassRequest": object(json!({"reason": {"type": "string", "minLength": 10, "maxLength": 500},
            "duration_secs": {"type": "integer", "minimum": 1}}), &["reason"]),
        "BreakGlass": object(json!({"expires_in": int()}), &["expires_in"]),
        "Me": object(json!({"id": string(), "tenant": string(), "username": string(), "display_name": string(),
            "roles": {"type": "array", "items": r("Role")}, "mfa_enabled": {"type": "boolean"}}),
            &["id", "tenant", "username", "display_name", "roles", "mfa_enabled"]),
        "AuditEntry": object(json!({"seq": int(), "tenant_id": string(), "recorded_at": string(), "actor_id": opt("string"),
            "actor_name": string(), "actor_roles": {"type": "array", "items": string()}, "action": {"enum": ["C", "R", "U", "D", "E"]},
            "event": string(), "entity_type": string(), "entity_id": opt("string"), "patient_id": opt("string"),
            "source_addr": opt("string"), "outcome": {"enum": ["Success", "MinorFailure", "SeriousFailure"]},
            "break_glass": {"type": "boolean"}, "reason": opt("string"), "request_id": opt("string"),
            "prev_hash": string(), "hash": string()}),
            &["seq", "tenant_id", "recorded_at", "actor_name", "actor_roles", "action", "event", "entity_type",
              "outcome", "break_glass", "prev_hash", "hash"]),
        "AuditPage": object(json!({"items": {"type": "array", "items": r("AuditEntry")}, "next_cursor": string()}), &["items"]),
        "Bundle": {"type": "object", "required": ["resourceType", "type"], "properties": {
            "resourceType": {"const": "Bundle"}, "type": {"const": "searchset"},
            "entry": {"type": "array", "items": {"type": "object"}}, "link": {"type": "array"}}},
        "Sample": object(json!({"metric": string(), "value": {"type": "number"}, "unit": string(), "time": string(),
            "device_id": string(), "quality": int()}), &["metric", "value", "unit", "time", "device_id", "quality"]),
        "RawPage": object(json!({"items": {"type": "array", "items": r("Sample")}, "next_after": string()}), &["items"]),
        "Bucket": object(json!({"bucket_start": string(), "metric": string(), "unit": string(), "min": {"type": "number"},
            "max": {"type": "number"}, "mean": {"type": "number"}, "count": int()}),
            &["bucket_start", "metric", "unit", "min", "max", "mean", "count"]),
        "User": object(json!({"id": string(), "username": string(), "display_name": string(),
            "roles": {"type": "array", "items": r("Role")}, "disabled": {"type": "boolean"},
            "mfa_enabled": {"type": "boolean"}, "version": int(), "created_at": string()}),
            &["id", "username", "display_name", "roles", "disabled", "mfa_enabled", "version", "created_at"]),
        "DeviceHealth": object(json!({"adapter": string(), "state": {"enum": ["connecting", "connected", "backing_off", "failed"]},
            "last_reading": opt("string"), "frames": int(), "readings": int(), "errors": int(), "last_error": opt("string")}),
            &["adapter", "state", "last_reading", "frames", "readings", "errors", "last_error"]),
        "Device": object(json!({"device_id": string(), "bed_id": opt("string"), "profile": opt("string"),
            "protocol": {"enum": ["mqtt", "modbus", "serial", null]},
            "health": {"oneOf": [r("DeviceHealth"), {"type": "null"}]}}),
            &["device_id", "bed_id", "profile", "protocol", "health"]),
        "Status": object(json!({"value": {"type": ["boolean", "number", "string"]}, "unit": opt("string")}), &["value", "unit"]),
        "Reloaded": object(json!({"applied": {"type": "boolean"}, "devices": opt("integer"), "profiles": opt("integer"),
            "problems": {"type": "array", "items": string()}}), &["applied", "devices", "profiles", "problems"]),
        "DeviceProfile": object(json!({"name": string(), "description": string(), "protocol": {"enum": ["mqtt", "modbus", "serial"]},
            "silence_timeout_ms": int(), "file": opt("string"), "site": {"type": "boolean"}}),
            &["name", "description", "protocol", "silence_timeout_ms", "file", "site"]),
        "ProfileText": object(json!({"toml": string()}), &["toml"]),
        "ProfileUpload": object(json!({"file_name": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}\\.toml$"},
            "toml": string()}), &["file_name", "toml"]),
        "ProfileValid": object(json!({"name": string(), "protocol": {"enum": ["mqtt", "modbus", "serial"]}}), &["name", "protocol"]),
        "ProfileUploaded": object(json!({"file_name": string(), "name": string(), "protocol": {"enum": ["mqtt", "modbus", "serial"]},
            "replaced": {"type": "boolean"}}), &["file_name", "name", "protocol", "replaced"]),
        "UserPage": object(json!({"items": {"type": "array", "items": r("User")}, "next_cursor": string()}), &["items"]),
        "NewUser": object(json!({"username": {"type": "string", "minLength": 1, "maxLength": 128},
            "display_name": {"type": "string", "minLength": 1, "maxLength": 200},
            "password": {"type": "string", "minLength": 8, "maxLength": 1024},
            "roles": {"type": "array", "items": r("Role"), "minItems": 1}}),
            &["username", "display_name", "password", "roles"]),
        "UserChange": object(json!({"display_name": {"type": "string", "minLength": 1, "maxLength": 200},
            "roles": {"type": "array", "items": r("Role"), "minItems": 1}, "disabled": {"type": "boolean"}}), &[]),
        "Patient": object(json!({"id": string(), "mrn": string(), "name": string(),
            "birth_date": {"type": "string", "format": "date"}, "created_at": string()}),
            &["id", "mrn", "name", "birth_date", "created_at"]),
        "PatientPage": object(json!({"items": {"type": "array", "items": r("Patient")}, "next_cursor": string()}), &["items"]),
        "NewPatient": object(json!({"mrn": {"type": "string", "pattern": BED},
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "birth_date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}}),
            &["mrn", "name", "birth_date"]),
        "Admission": object(json!({"id": string(), "patient_id": string(), "bed_id": string(), "ward_id": string(),
            "admitted_at": string(), "discharged_at": string()}),
            &["id", "patient_id", "bed_id", "admitted_at"]),
        "NewAdmission": object(json!({"bed_id": {"type": "string", "pattern": BED}, "ward_id": {"type": "string", "pattern": BED},
            "admitted_at": {"type": "string", "format": "date-time"}}), &["bed_id"]),
        "Discharge": object(json!({"discharged_at": {"type": "string", "format": "date-time"}}), &[]),
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
