//! The route table: every route of the API with the permission it needs.
//!
//! The authorisation middleware looks each request's matched route up in
//! [`ROUTES`] (a route missing from it is refused), so this table and
//! [`crate::roles::access`] together decide every request. The router in
//! [`crate::routes`] must name the same routes; a test walks them all.

use axum::http::Method;

use crate::roles::Permission;

/// One route of the API.
#[derive(Debug)]
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path pattern, as the router matches it.
    pub path: &'static str,
    /// What the caller needs.
    pub permission: Permission,
    /// The name in audit entries of refused access.
    pub audit_name: &'static str,
}

const fn route(
    method: Method,
    path: &'static str,
    permission: Permission,
    audit_name: &'static str,
) -> Route {
    Route {
        method,
        path,
        permission,
        audit_name,
    }
}

/// Every route, with the permission it needs.
pub static ROUTES: &[Route] = &[
    route(Method::GET, "/healthz", Permission::Public, "healthz"),
    route(Method::GET, "/readyz", Permission::Public, "readyz"),
    route(Method::GET, "/metrics", Permission::Public, "metrics"),
    route(Method::GET, "/openapi.json", Permission::Public, "openapi"),
    // Operational, like /metrics (which carries the same counters): device
    // ids, states and counters, no patient data.
    route(
        Method::GET,
        "/devices/health",
        Permission::Public,
        "devices.health.ops",
    ),
    route(
        Method::POST,
        "/api/v1/auth/login",
        Permission::Public,
        "auth.login",
    ),
    route(
        Method::POST,
        "/api/v1/auth/refresh",
        Permission::Public,
        "auth.refresh",
    ),
    route(
        Method::POST,
        "/api/v1/auth/logout",
        Permission::OwnSession,
        "auth.logout",
    ),
    route(
        Method::POST,
        "/api/v1/auth/totp/enrol",
        Permission::OwnSession,
        "auth.totp.enrol",
    ),
    route(
        Method::POST,
        "/api/v1/auth/totp/confirm",
        Permission::OwnSession,
        "auth.totp.confirm",
    ),
    route(
        Method::POST,
        "/api/v1/auth/break-glass",
        Permission::BreakGlass,
        "auth.break_glass",
    ),
    route(Method::GET, "/api/v1/me", Permission::Authenticated, "me"),
    route(
        Method::GET,
        "/api/v1/audit",
        Permission::AuditRead,
        "audit.read",
    ),
    route(
        Method::GET,
        "/api/v1/audit/fhir",
        Permission::AuditRead,
        "audit.export",
    ),
    route(
        Method::GET,
        "/api/v1/live",
        Permission::Authenticated,
        "vitals.live",
    ),
    route(
        Method::GET,
        "/fhir/R4/Observation",
        Permission::VitalsRead,
        "fhir.observation.search",
    ),
    route(
        Method::GET,
        "/api/v1/users",
        Permission::UsersManage,
        "user.list",
    ),
    route(
        Method::POST,
        "/api/v1/users",
        Permission::UsersManage,
        "user.create",
    ),
    route(
        Method::GET,
        "/api/v1/users/{user_id}",
        Permission::UsersManage,
        "user.read",
    ),
    route(
        Method::PATCH,
        "/api/v1/users/{user_id}",
        Permission::UsersManage,
        "user.update",
    ),
    route(
        Method::DELETE,
        "/api/v1/users/{user_id}",
        Permission::UsersManage,
        "user.delete",
    ),
    route(
        Method::GET,
        "/api/v1/devices/health",
        Permission::DevicesRead,
        "devices.health",
    ),
    route(
        Method::GET,
        "/api/v1/devices",
        Permission::DevicesRead,
        "devices.list",
    ),
    route(
        Method::GET,
        "/api/v1/devices/statuses",
        Permission::DevicesRead,
        "devices.statuses",
    ),
    route(
        Method::POST,
        "/api/v1/devices/reload",
        Permission::DevicesManage,
        "devices.reload",
    ),
    route(
        Method::GET,
        "/api/v1/device-profiles",
        Permission::DevicesRead,
        "device_profile.list",
    ),
    route(
        Method::POST,
        "/api/v1/device-profiles",
        Permission::DevicesManage,
        "device_profile.upload",
    ),
    route(
        Method::POST,
        "/api/v1/device-profiles/validate",
        Permission::DevicesManage,
        "device_profile.validate",
    ),
    route(
        Method::GET,
        "/api/v1/beds/{bed_id}/vitals/latest",
        Permission::VitalsRead,
        "vitals.latest",
    ),
    route(
        Method::GET,
        "/api/v1/beds/{bed_id}/vitals",
        Permission::VitalsRead,
        "vitals.range",
    ),
    route(
        Method::GET,
        "/api/v1/beds/{bed_id}/vitals/aggregate",
        Permission::VitalsRead,
        "vitals.aggregate",
    ),
    // Patients and admissions (permissions justified in roles::access).
    route(
        Method::GET,
        "/api/v1/patients",
        Permission::PatientsRead,
        "patient.list",
    ),
    route(
        Method::POST,
        "/api/v1/patients",
        Permission::PatientsRegister,
        "patient.create",
    ),
    route(
        Method::GET,
        "/api/v1/patients/{patient_id}",
        Permission::PatientsRead,
        "patient.read",
    ),
    route(
        Method::GET,
        "/api/v1/patients/{patient_id}/admissions",
        Permission::PatientsRead,
        "admission.list",
    ),
    route(
        Method::POST,
        "/api/v1/patients/{patient_id}/admissions",
        Permission::AdmissionsManage,
        "admission.create",
    ),
    route(
        Method::GET,
        "/api/v1/patients/{patient_id}/vitals/latest",
        Permission::VitalsRead,
        "patient.vitals.latest",
    ),
    route(
        Method::GET,
        "/api/v1/patients/{patient_id}/vitals",
        Permission::VitalsRead,
        "patient.vitals.range",
    ),
    route(
        Method::GET,
        "/api/v1/patients/{patient_id}/vitals/aggregate",
        Permission::VitalsRead,
        "patient.vitals.aggregate",
    ),
    route(
        Method::GET,
        "/fhir/R4/Observation/{observation_id}",
        Permission::VitalsRead,
        "fhir.observation.read",
    ),
    route(
        Method::POST,
        "/api/v1/admissions/{admission_id}/discharge",
        Permission::AdmissionsManage,
        "admission.discharge",
    ),
    // Alarms: reads are audited as patient data; actions carry the caller
    // as actor. NEWS2 is a clinical score, read like vitals.
    route(
        Method::GET,
        "/api/v1/alarms",
        Permission::AlarmsRead,
        "alarms.list",
    ),
    route(
        Method::GET,
        "/api/v1/alarms/history",
        Permission::AlarmsRead,
        "alarms.history",
    ),
    route(
        Method::GET,
        "/api/v1/beds/{bed_id}/news2",
        Permission::VitalsRead,
        "alarms.news2",
    ),
    // Manual NEWS2 inputs and limit overrides change what alarms; the same
    // staff who act on alarms give them. Audited here and in the alarm log.
    route(
        Method::POST,
        "/api/v1/beds/{bed_id}/observations",
        Permission::AlarmsAct,
        "news2.observation",
    ),
    route(
        Method::POST,
        "/api/v1/limit-overrides",
        Permission::AlarmsAct,
        "alarm_limits.override",
    ),
    route(
        Method::POST,
        "/api/v1/limit-overrides/clear",
        Permission::AlarmsAct,
        "alarm_limits.clear",
    ),
    route(
        Method::POST,
        "/api/v1/beds/{bed_id}/alarms/{rule_id}/acknowledge",
        Permission::AlarmsAct,
        "alarm.acknowledge",
    ),
    route(
        Method::POST,
        "/api/v1/beds/{bed_id}/alarms/{rule_id}/silence",
        Permission::AlarmsAct,
        "alarm.silence",
    ),
    route(
        Method::POST,
        "/api/v1/beds/{bed_id}/alarms/{rule_id}/accept",
        Permission::AlarmsAct,
        "alarm.accept",
    ),
    route(
        Method::POST,
        "/api/v1/beds/{bed_id}/alarms/{rule_id}/decline",
        Permission::AlarmsAct,
        "alarm.decline",
    ),
    route(
        Method::POST,
        "/api/v1/beds/{bed_id}/alarms/{rule_id}/accept-and-call-back",
        Permission::AlarmsAct,
        "alarm.accept_call_back",
    ),
    // Staff messages: every role; which messages a caller sees is decided
    // per message (see api::messages). Reads and sends are audited.
    route(
        Method::POST,
        "/api/v1/messages",
        Permission::MessagesUse,
        "message.send",
    ),
    route(
        Method::GET,
        "/api/v1/messages",
        Permission::MessagesUse,
        "message.list",
    ),
    route(
        Method::GET,
        "/api/v1/messages/sent",
        Permission::MessagesUse,
        "message.sent",
    ),
    route(
        Method::GET,
        "/api/v1/messages/{message_id}",
        Permission::MessagesUse,
        "message.read",
    ),
    route(
        Method::POST,
        "/api/v1/messages/{message_id}/read",
        Permission::MessagesUse,
        "message.receipt",
    ),
    // Ward stock (permissions justified in roles::access). Not patient
    // data: writes are audited, reads are not. Recording a movement needs
    // InventoryIssue; its handler also requires InventoryManage for every
    // kind but issue and return (403 otherwise).
    route(
        Method::GET,
        "/api/v1/inventory/items",
        Permission::InventoryRead,
        "inventory_item.list",
    ),
    route(
        Method::POST,
        "/api/v1/inventory/items",
        Permission::InventoryManage,
        "inventory_item.create",
    ),
    route(
        Method::GET,
        "/api/v1/inventory/items/{item_id}",
        Permission::InventoryRead,
        "inventory_item.read",
    ),
    route(
        Method::PATCH,
        "/api/v1/inventory/items/{item_id}",
        Permission::InventoryManage,
        "inventory_item.update",
    ),
    route(
        Method::DELETE,
        "/api/v1/inventory/items/{item_id}",
        Permission::InventoryManage,
        "inventory_item.delete",
    ),
    route(
        Method::GET,
        "/api/v1/inventory/items/{item_id}/movements",
        Permission::InventoryRead,
        "inventory_movement.list",
    ),
    route(
        Method::POST,
        "/api/v1/inventory/items/{item_id}/movements",
        Permission::InventoryIssue,
        "inventory_movement.create",
    ),
    // Appointments (permissions justified in roles::access). Reads and
    // changes are audited with the patient.
    route(
        Method::GET,
        "/api/v1/appointments",
        Permission::AppointmentsRead,
        "appointment.list",
    ),
    route(
        Method::POST,
        "/api/v1/appointments",
        Permission::AppointmentsManage,
        "appointment.create",
    ),
    route(
        Method::GET,
        "/api/v1/appointments/{appointment_id}",
        Permission::AppointmentsRead,
        "appointment.read",
    ),
    route(
        Method::POST,
        "/api/v1/appointments/{appointment_id}/status",
        Permission::AppointmentsManage,
        "appointment.status",
    ),
];

/// The table entry for `method` on the matched `path`, if any.
pub fn find_route(method: &Method, path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}
