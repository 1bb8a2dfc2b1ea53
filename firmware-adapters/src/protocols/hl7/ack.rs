//! The application acknowledgement (original mode) for a received message.
//! Sender and receiver swap places; an indented line continues the segment above:
//!
//! ```text
//! MSH|^~\&|<orig MSH-5>|<orig MSH-6>|<orig MSH-3>|<orig MSH-4>|<time>|
//!     |ACK^<trigger>^ACK|<ack id>|<orig MSH-11>|<orig MSH-12>
//! MSA|<AA/AE/AR>|<orig MSH-10>
//! ERR||<segment^sequence^field>|<table 0357 code>^<text>^HL70357|E||||<user message>
//! ```
//!
//! The ERR segment is only sent with AE or AR. The builder is pure: the caller
//! passes the timestamp and the ACK's own control id.

use super::{Delimiters, FieldLocation, Hl7Error, MessageHeader};

/// MSA-1 acknowledgment code (original mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// AA: accepted and processed.
    Accept,
    /// AE: accepted, but some of it could not be processed.
    Error,
    /// AR: rejected (wrong message type, unreadable header).
    Reject,
}

impl AckCode {
    /// The two-letter code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "AA",
            Self::Error => "AE",
            Self::Reject => "AR",
        }
    }
}

/// What goes into the ERR segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckDetail {
    /// HL7 table 0357 error condition code.
    pub condition: u16,
    /// ERR-2: where the problem is, if in one field.
    pub location: Option<FieldLocation>,
    /// ERR-8: a user message.
    pub text: String,
}

impl From<&Hl7Error> for AckDetail {
    fn from(err: &Hl7Error) -> Self {
        Self {
            condition: err.condition_code(),
            location: err.location().cloned(),
            text: err.to_string(),
        }
    }
}

/// The text HL7 table 0357 gives a condition code.
fn condition_text(code: u16) -> &'static str {
    match code {
        0 => "Message accepted",
        100 => "Segment sequence error",
        101 => "Required field missing",
        102 => "Data type error",
        103 => "Table value not found",
        200 => "Unsupported message type",
        201 => "Unsupported event code",
        203 => "Unsupported version id",
        204 => "Unknown key identifier",
        _ => "Application internal error",
    }
}

/// Builds the ACK for `original`, segments ended by CR (wrap it with
/// [`super::mllp::encode`] to send it). With AE or AR and no `detail`, the ERR
/// segment carries condition 207 (application internal error).
pub fn build_ack(
    original: &MessageHeader,
    code: AckCode,
    detail: Option<&AckDetail>,
    ack_control_id: &str,
    timestamp: &str,
) -> String {
    let d = Delimiters::default();
    let hd = |parts: &[String]| join(&d, parts.iter().map(String::as_str));
    let trigger = original.message_type.get(1).map_or("", String::as_str);
    let processing = non_empty(&original.processing_id, "P");
    let version = non_empty(&original.version, "2.6");
    let msh = [
        "MSH",
        "^~\\&",
        &hd(&original.receiving_application),
        &hd(&original.receiving_facility),
        &hd(&original.sending_application),
        &hd(&original.sending_facility),
        &d.escape(timestamp),
        "",
        &join(&d, ["ACK", trigger, "ACK"]),
        &d.escape(ack_control_id),
        &d.escape(processing),
        &d.escape(version),
    ]
    .join("|");
    let msa = format!("MSA|{}|{}", code.as_str(), d.escape(&original.control_id));
    let mut out = format!("{msh}\r{msa}\r");
    if code != AckCode::Accept {
        let fallback = AckDetail {
            condition: 207,
            location: None,
            text: condition_text(207).to_owned(),
        };
        out.push_str(&err_segment(&d, detail.unwrap_or(&fallback)));
        out.push('\r');
    }
    out
}

fn err_segment(d: &Delimiters, detail: &AckDetail) -> String {
    let location = detail.location.as_ref().map_or(String::new(), |at| {
        let (seq, field) = (at.sequence.to_string(), at.field.to_string());
        join(d, [at.segment.as_str(), &seq, &field])
    });
    let code = detail.condition.to_string();
    let condition = join(d, [&code, condition_text(detail.condition), "HL70357"]);
    format!(
        "ERR||{location}|{condition}|E||||{}",
        d.escape(&detail.text)
    )
}

/// Escapes each component and joins them with the component separator.
fn join<'a>(d: &Delimiters, parts: impl IntoIterator<Item = &'a str>) -> String {
    let escaped: Vec<String> = parts.into_iter().map(|p| d.escape(p)).collect();
    escaped.join("^")
}

fn non_empty<'a>(value: &'a str, default: &'a str) -> &'a str {
    if value.is_empty() {
        default
    } else {
        value
    }
}
