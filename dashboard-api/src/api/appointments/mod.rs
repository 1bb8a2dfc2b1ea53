//! `/api/v1/appointments`: patients' appointments and their status.
//!
//! An appointment names a patient, a service (a clinic, a procedure), its
//! start and end (at most 24 hours apart), and optionally the practitioner
//! (a user of the site) and a ward. Its status follows the machine of
//! [`status`]; every change is kept in `appointment_status_history` with who
//! made it and why, and a cancellation needs a reason.
//!
//! Reads and writes are audited with the patient: the fact of an
//! appointment with a service is patient data. After a status change
//! commits, `appointment:status:change` goes to the live connections of the
//! site whose roles may read appointments (see [`crate::events`]); it names
//! the patient by id only.
//!
//! Limits: no slots, schedules or double-booking checks (a practitioner may
//! hold overlapping appointments); times are stored as given, without a
//! working-hours calendar.

pub mod routes;
pub mod status;

use std::time::SystemTime;

use serde::Serialize;
use tokio_postgres::Row;

use crate::time::rfc3339;

/// The columns [`appointment`] reads, in its order.
pub(crate) const COLUMNS: &str = "id, patient_id, service, practitioner_id, ward_id, starts_at, \
     ends_at, status, cancellation_reason, version, created_at, updated_at";

/// An appointment as the API shows it.
#[derive(Debug, Serialize)]
pub struct Appointment {
    id: String,
    patient_id: String,
    service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    practitioner_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ward_id: Option<String>,
    start: String,
    end: String,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancellation_reason: Option<String>,
    version: i32,
    created_at: String,
    updated_at: String,
}

pub(crate) fn appointment(r: &Row) -> Appointment {
    Appointment {
        id: r.get(0),
        patient_id: r.get(1),
        service: r.get(2),
        practitioner_id: r.get(3),
        ward_id: r.get(4),
        start: rfc3339(r.get::<_, SystemTime>(5)),
        end: rfc3339(r.get::<_, SystemTime>(6)),
        status: r.get(7),
        cancellation_reason: r.get(8),
        version: r.get(9),
        created_at: rfc3339(r.get::<_, SystemTime>(10)),
        updated_at: rfc3339(r.get::<_, SystemTime>(11)),
    }
}
