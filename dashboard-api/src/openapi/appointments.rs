//! The appointment routes' operations and schemas.

use serde_json::{json, Value};

use super::{int, object, ok, path, query, r, string, Operation, BED, USER_ID};
use crate::api::appointments::status::Status;
use crate::routes::Route;

fn statuses(only: &[Status]) -> Value {
    json!({"enum": only.iter().map(|s| s.as_str()).collect::<Vec<_>>()})
}

/// What the handler of an appointment route takes and returns on success.
pub(super) fn operation(route: &Route) -> Option<Operation> {
    let j = "application/json";
    let time = || json!({"type": "string", "format": "date-time"});
    let id = || path("appointment_id", USER_ID);
    Some(match (route.method.as_str(), route.path) {
        ("GET", "/api/v1/appointments") => (
            "List appointments in start order (of a patient, a status, a time range)",
            vec![
                query(
                    "patient",
                    json!({"type": "string", "pattern": USER_ID}),
                    false,
                ),
                query("status", statuses(&Status::ALL), false),
                query("from", time(), false),
                query("to", time(), false),
                query(
                    "cursor",
                    json!({"type": "string", "pattern": "^[0-9]{1,20}\\.[0-9a-fA-F]{32}$"}),
                    false,
                ),
                query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 200}),
                    false,
                ),
            ],
            None,
            ok("200", j, r("AppointmentPage")),
        ),
        ("POST", "/api/v1/appointments") => (
            "Book an appointment",
            vec![],
            Some(r("NewAppointment")),
            ok("201", j, r("Appointment")),
        ),
        ("GET", "/api/v1/appointments/{appointment_id}") => (
            "Read an appointment",
            vec![id()],
            None,
            ok("200", j, r("Appointment")),
        ),
        ("POST", "/api/v1/appointments/{appointment_id}/status") => (
            "Change an appointment's status (If-Match optional; a reason is required to cancel)",
            vec![
                id(),
                json!({"name": "If-Match", "in": "header", "required": false, "schema": string()}),
            ],
            Some(r("AppointmentStatusChange")),
            ok("200", j, r("Appointment")),
        ),
        _ => return None,
    })
}

/// The appointment components.
pub(super) fn schemas() -> Value {
    let time = json!({"type": "string", "format": "date-time"});
    json!({
        "Appointment": object(json!({"id": string(), "patient_id": string(), "service": string(),
            "practitioner_id": string(), "ward_id": string(), "start": string(), "end": string(),
            "status": statuses(&Status::ALL), "cancellation_reason": string(), "version": int(),
            "created_at": string(), "updated_at": string()}),
            &["id", "patient_id", "service", "start", "end", "status", "version", "created_at",
              "updated_at"]),
        "AppointmentPage": object(json!({"items": {"type": "array", "items": r("Appointment")},
            "next_cursor": string()}), &["items"]),
        "NewAppointment": object(json!({"patient_id": {"type": "string", "pattern": USER_ID},
            "service": {"type": "string", "minLength": 1, "maxLength": 200},
            "start": time, "end": time,
            "practitioner_id": {"type": "string", "pattern": USER_ID},
            "ward_id": {"type": "string", "pattern": BED},
            "status": statuses(&Status::INITIAL)}),
            &["patient_id", "service", "start", "end"]),
        "AppointmentStatusChange": object(json!({"status": statuses(&Status::ALL),
            "reason": {"type": "string", "minLength": 1, "maxLength": 500}}), &["status"]),
    })
}
