//! The component schemas the operations refer to.

use serde_json::{json, Value};

use super::{int, nullable, object, r, string, BED, USER_ID};
use crate::roles::Role;

pub(super) fn schemas() -> Value {
    let mut all = base_schemas();
    for more in [
        alarm_schemas(),
        message_schemas(),
        super::inventory::schemas(),
        super::appointments::schemas(),
    ] {
        if let (Some(all), Value::Object(more)) = (all.as_object_mut(), more) {
            all.extend(more);
        }
    }
    all
}

fn message_schemas() -> Value {
    let id = || json!({"type": "string", "pattern": USER_ID});
    let head = |extra: Value| {
        let mut props = json!({"id": string(), "sender_id": string(), "to": r("Recipient"),
            "priority": {"enum": ["routine", "urgent"]}, "patient_id": string(), "subject": string(),
            "sent_at": string(), "read_at": string()});
        if let (Some(p), Value::Object(extra)) = (props.as_object_mut(), extra) {
            p.extend(extra);
        }
        props
    };
    let required = ["id", "sender_id", "to", "priority", "subject", "sent_at"];
    json!({
        "Recipient": {"oneOf": [
            object(json!({"user": id()}), &["user"]),
            object(json!({"role": r("Role")}), &["role"]),
            object(json!({"ward": {"type": "string", "pattern": BED}}), &["ward"])]},
        "NewMessage": object(json!({"to": r("Recipient"),
            "subject": {"type": "string", "minLength": 1, "maxLength": 200},
            "body": {"type": "string", "minLength": 1, "maxLength": 4000},
            "priority": {"enum": ["routine", "urgent"]}, "patient_id": id()}),
            &["to", "subject", "body", "priority"]),
        "Receipt": object(json!({"message_id": string(), "user_id": string(), "read_at": string()}),
            &["message_id", "user_id", "read_at"]),
        "Message": object(head(json!({"body": string(), "reads": {"type": "array", "items": r("Receipt")}})),
            &[&required[..], &["body", "reads"]].concat()),
        "MessageSummary": object(head(json!({"read_count": int()})), &[&required[..], &["read_count"]].concat()),
        "MessagePage": object(json!({"items": {"type": "array", "items": r("MessageSummary")}, "next_cursor": string()}),
            &["items"]),
    })
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
        "OperationOutcome": {"type": "object", "required": ["resourceType", "issue"], "properties": {
            "resourceType": {"const": "OperationOutcome"},
            "issue": {"type": "array", "minItems": 1, "items": object(json!({
                "severity": {"enum": ["fatal", "error", "warning", "information"]}, "code": string(),
                "details": {"type": "object"}, "diagnostics": string()}), &["severity", "code"])}}},
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
