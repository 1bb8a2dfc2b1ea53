//! The body of `POST /api/v1/messages` and the checks of its form: every
//! bad field is named at once (400). Whether the user, role and patient it
//! names exist is checked by the handler, in the caller's tenant (422).

use serde::Deserialize;

use super::messages::is_id;
use super::{is_identifier, Fields};
use crate::problem::ApiError;

/// Longest subject, in characters.
pub const SUBJECT_MAX: usize = 200;
/// Longest body, in characters.
pub const BODY_MAX: usize = 4000;

/// `to` of a new message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct To {
    user: Option<String>,
    role: Option<String>,
    ward: Option<String>,
}

/// `POST /api/v1/messages` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    to: Option<To>,
    subject: Option<String>,
    body: Option<String>,
    /// `routine` or `urgent`.
    priority: Option<String>,
    /// The patient the message is about.
    patient_id: Option<String>,
}

/// A recipient in the right form, not yet known to exist.
pub(super) enum Named {
    User(String),
    Role(String),
    Ward(String),
}

fn named(f: &mut Fields, to: Option<To>) -> Option<Named> {
    let Some(to) = to else {
        f.bad("to", "is required");
        return None;
    };
    match (to.user, to.role, to.ward) {
        (Some(u), None, None) if is_id(&u) => Some(Named::User(u)),
        (Some(_), None, None) => {
            f.bad("to.user", "must be a user id (32 hexadecimal digits)");
            None
        }
        (None, Some(r), None) => Some(Named::Role(r)),
        (None, None, Some(w)) if is_identifier(&w) => Some(Named::Ward(w)),
        (None, None, Some(_)) => {
            f.bad(
                "to.ward",
                "must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'",
            );
            None
        }
        _ => {
            f.bad("to", "must name exactly one of user, role and ward");
            None
        }
    }
}

/// A required text of 1 to `max` characters (not bytes: staff write in
/// every language), where `lines` allows line breaks and tabs.
fn text(f: &mut Fields, field: &str, v: Option<String>, max: usize, lines: bool) -> String {
    match v {
        Some(s) if s.is_empty() || s.chars().count() > max => {
            f.bad(field, &format!("must be 1 to {max} characters"));
            String::new()
        }
        other if lines => f.text_allowing_lines(field, other),
        other => f.text(field, other, 1, usize::MAX),
    }
}

/// The checked fields of a new message.
pub(super) struct Draft {
    pub(super) to: Option<Named>,
    pub(super) subject: String,
    pub(super) body: String,
    pub(super) priority: String,
    pub(super) patient_id: Option<String>,
}

/// Checks the form of every field: 400 naming each bad one.
pub(super) fn draft(body: NewMessage) -> Result<Draft, ApiError> {
    let mut f = Fields::default();
    let to = named(&mut f, body.to);
    let subject = text(&mut f, "subject", body.subject, SUBJECT_MAX, false);
    let body_text = text(&mut f, "body", body.body, BODY_MAX, true);
    let priority = match body.priority.as_deref() {
        Some(p @ ("routine" | "urgent")) => p.to_owned(),
        Some(_) => {
            f.bad("priority", "must be routine or urgent");
            String::new()
        }
        None => {
            f.bad("priority", "is required");
            String::new()
        }
    };
    if body.patient_id.as_deref().is_some_and(|p| !is_id(p)) {
        f.bad("patient_id", "must be a patient id (32 hexadecimal digits)");
    }
    f.finish()?;
    Ok(Draft {
        to,
        subject,
        body: body_text,
        priority,
        patient_id: body.patient_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_named_at_once() {
        let body = NewMessage {
            to: Some(To {
                user: Some("x".into()),
                role: Some("nurse".into()),
                ward: None,
            }),
            subject: Some("s".repeat(SUBJECT_MAX + 1)),
            body: Some("line one\nline two\u{7}".into()),
            priority: Some("soon".into()),
            patient_id: Some("p".into()),
        };
        let Err(e) = draft(body) else {
            panic!("accepted");
        };
        let text = e.to_string();
        for field in ["to:", "subject:", "body:", "priority:", "patient_id:"] {
            assert!(text.contains(field), "{field} in {text}");
        }
        let ok = NewMessage {
            to: Some(To {
                user: None,
                role: None,
                ward: Some("icu".into()),
            }),
            subject: Some("é".repeat(SUBJECT_MAX)),
            body: Some("line one\nline two".into()),
            priority: Some("urgent".into()),
            patient_id: None,
        };
        assert!(draft(ok).is_ok());
    }
}
