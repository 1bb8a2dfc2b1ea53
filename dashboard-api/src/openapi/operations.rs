//! Each route's summary, parameters, request body and success response.

use serde_json::json;

use super::{ok, path, query, r, string, Operation, BED, USER_ID};
use crate::routes::{Route, ROUTES};

/// What the handler of `route` takes and returns on success.
pub(super) fn operation(route: &Route) -> Option<Operation> {
    if route.path.starts_with("/api/v1/inventory/") {
        return super::inventory::operation(route);
    }
    if route.path.starts_with("/api/v1/appointments") {
        return super::appointments::operation(route);
    }
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
        ("POST", "/api/v1/messages") => (
            "Send a staff message to a user, a role or a ward",
            vec![],
            Some(r("NewMessage")),
            ok("201", j, r("Message")),
        ),
        ("GET", "/api/v1/messages") => (
            "The caller's inbox (or a ward's messages), newest first",
            vec![
                query("unread", json!({"type": "boolean"}), false),
                query("ward", json!({"type": "string", "pattern": BED}), false),
                query("cursor", string(), false),
                query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 100}),
                    false,
                ),
            ],
            None,
            ok("200", j, r("MessagePage")),
        ),
        ("GET", "/api/v1/messages/sent") => (
            "The messages the caller sent, newest first",
            vec![
                query("cursor", string(), false),
                query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 100}),
                    false,
                ),
            ],
            None,
            ok("200", j, r("MessagePage")),
        ),
        ("GET", "/api/v1/messages/{message_id}") => (
            "Read a message (404 unless the caller may)",
            vec![path("message_id", USER_ID)],
            None,
            ok("200", j, r("Message")),
        ),
        ("POST", "/api/v1/messages/{message_id}/read") => (
            "Mark a message read (idempotent)",
            vec![path("message_id", USER_ID)],
            None,
            ok("200", j, r("Receipt")),
        ),
        _ => return None,
    })
}
