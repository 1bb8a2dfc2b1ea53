//! The handlers of the authenticated API, by area.

pub mod alarm_history;
pub mod alarms;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod census;
pub mod clinical_inputs;
pub mod devices;
pub mod fhir;
pub mod fhir_outcome;
pub mod inventory;
pub mod message_draft;
pub mod message_lists;
pub mod messages;
mod observation_id;
pub mod patients;
pub mod users;
pub mod vitals;

use std::sync::Arc;

use crate::core::ApiCore;
use crate::problem::{ApiError, FieldError};
use crate::state::AppState;

/// The core, or 503 when the API is not configured.
pub(crate) fn core(state: &AppState) -> Result<Arc<ApiCore>, ApiError> {
    state.core.clone().ok_or_else(ApiError::unavailable)
}

/// Whether `s` is a device, bed or patient identifier: 1 to 64 characters
/// of A-Z, a-z, 0-9, `-`, `_` and `.`.
pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Collects field errors so a request learns about every bad field at once.
#[derive(Debug, Default)]
pub(crate) struct Fields(Vec<FieldError>);

impl Fields {
    /// Records that `field` is wrong.
    pub(crate) fn bad(&mut self, field: &str, message: &str) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.to_owned(),
        });
    }

    /// A cursor that is the id (32 hex digits) of the last item of a page.
    pub(crate) fn id_cursor(&mut self, v: Option<String>) -> Option<String> {
        let ok = |c: &String| c.len() == 32 && c.bytes().all(|b| b.is_ascii_hexdigit());
        match v {
            Some(c) if !ok(&c) => {
                self.bad("cursor", "is not a cursor this API issued");
                None
            }
            v => v,
        }
    }

    /// A page size: `default` when absent, else an integer from 1 to `max`.
    pub(crate) fn limit(&mut self, v: Option<&str>, default: i64, max: i64) -> i64 {
        match v.map(str::parse::<i64>) {
            None => default,
            Some(Ok(n)) if (1..=max).contains(&n) => n,
            Some(_) => {
                self.bad("limit", &format!("must be an integer from 1 to {max}"));
                0
            }
        }
    }

    /// A required string, trimmed of nothing, between `min` and `max` bytes.
    pub(crate) fn text(
        &mut self,
        field: &str,
        v: Option<String>,
        min: usize,
        max: usize,
    ) -> String {
        match v {
            None => {
                self.bad(field, "is required");
                String::new()
            }
            Some(s) if s.chars().count() < min || s.len() > max => {
                self.bad(field, &format!("must be {min} to {max} characters"));
                String::new()
            }
            // PostgreSQL text cannot hold NUL, and no field needs control
            // characters.
            Some(s) if s.chars().any(char::is_control) => {
                self.bad(field, "must not contain control characters");
                String::new()
            }
            Some(s) => s,
        }
    }

    /// A required text of lines (a file's contents): tabs and line breaks
    /// allowed, other control characters not.
    pub(crate) fn text_allowing_lines(&mut self, field: &str, v: Option<String>) -> String {
        match v {
            None => {
                self.bad(field, "is required");
                String::new()
            }
            Some(s)
                if s.chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) =>
            {
                self.bad(
                    field,
                    "must not contain control characters other than line breaks and tabs",
                );
                String::new()
            }
            Some(s) => s,
        }
    }

    /// 422 listing every field that names a record that does not exist, if
    /// any (see [`ApiError::unknown_reference`]).
    pub(crate) fn finish_unknown(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::unknown_reference(self.0))
        }
    }

    /// 400 listing every bad field, if any.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }
}
