//! Which device and bed an HL7 message's readings belong to, and what the
//! sender is told. Pure: no socket, no clock.
//!
//! # Policy
//!
//! - **Device**: the EUI-64 in OBX-18 of each observation, else the one in MSH-3
//!   (`<app>^<EUI-64>^EUI-64`). A configured device with that EUI-64 gives the
//!   device id. An EUI-64 that is not configured is refused (AE, condition 204)
//!   unless the policy is [`UnknownSenders::Accept`], which files it under
//!   `hl7-<EUI-64>`; a reading without any EUI-64 is always refused.
//! - **Bed**: PV1-3 (point of care ^ room ^ bed) when it matches a configured
//!   location, else the configured device's own bed. When both exist and
//!   disagree the message is refused: a reading is never filed under a bed
//!   the configuration and the monitor do not agree on.
//! - **All or nothing**: one reading that cannot be placed refuses the whole
//!   message (AE), and nothing of it is stored.
//! - An OBX that cannot be read (bad number, bad time) is reported with AE
//!   after the others are stored; an unsupported message type, a missing control
//!   id or a broken MSH gets AR.
//! - **Observations that are not readings** (a code with no metric, a text
//!   value, a unit this gateway does not know) are filed for the status board
//!   under the device their readings would go to, by the same EUI-64 rule and
//!   policy, whatever the bed; one that names no device that may be stored is
//!   filed under the listener ([`LISTENER_ID`]), with the EUI-64 it named, if
//!   any, in its name. They never change the ACK.

use std::collections::HashMap;
use std::sync::Arc;

use super::health::LISTENER_ID;
use crate::modbus::{StatusData, StatusValue};
use crate::protocols::hl7::{
    AckCode, AckDetail, BedLocation, EquipmentId, FieldLocation, Hl7Error, Message, MessageHeader,
    ObservationValue, OruMessage, UnknownObservation,
};
use crate::sink::DeviceRef;
use crate::Reading;

/// What happens to readings from an EUI-64 no `[[hl7.device]]` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownSenders {
    /// Answer AE (condition 204) and store nothing. The default: a monitor is
    /// attached to a bed by configuration, not by what it claims.
    #[default]
    Reject,
    /// Store them as device `hl7-<EUI-64>`, in the bed PV1-3 maps to; a
    /// message whose PV1-3 maps to no configured bed is still refused.
    Accept,
}

/// A configured HL7 device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    /// The device id readings are stored under.
    pub device_id: String,
    /// Its EUI-64 (OBX-18 or MSH-3).
    pub eui64: u64,
    /// The bed it is attached to; `None` when PV1-3 says where it is.
    pub bed_id: Option<String>,
}

/// A configured PV1-3 location and the bed it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownBed {
    /// Point of care, room and bed as PV1-3 carries them (empty for absent).
    pub location: [String; 3],
    /// The bed id.
    pub bed_id: String,
}

impl KnownBed {
    /// Parses `point of care^room^bed` (fewer parts leave the rest empty).
    ///
    /// # Errors
    ///
    /// More than three parts, or no part at all.
    pub fn parse_location(text: &str) -> Result<[String; 3], &'static str> {
        let parts: Vec<&str> = text.split('^').collect();
        if parts.len() > 3 {
            return Err("must be `point of care^room^bed`, at most three parts");
        }
        if parts.iter().all(|p| p.is_empty()) {
            return Err("must name a point of care, room or bed");
        }
        let get = |i: usize| parts.get(i).copied().unwrap_or_default().to_owned();
        Ok([get(0), get(1), get(2)])
    }
}

/// Readings for one device, ready to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The device and bed.
    pub device: DeviceRef,
    /// Whether the device is configured (not accepted under the policy).
    pub configured: bool,
    /// The readings, in message order.
    pub readings: Vec<Reading>,
}

/// A message whose readings may be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed {
    /// The header, for the ACK.
    pub header: MessageHeader,
    /// Readings per device.
    pub batches: Vec<Batch>,
    /// Observations that could not be read; the ACK is AE when not empty.
    pub problems: Vec<Hl7Error>,
    /// Observations with a value that are not readings, kept raw and filed
    /// under a device for the status board.
    pub unknown: Vec<FiledUnknown>,
}

/// An observation that is not a reading, with where it goes on the status
/// board.
#[derive(Debug, Clone, PartialEq)]
pub struct FiledUnknown {
    /// The device it is filed under: the one its readings would be stored
    /// under, else [`LISTENER_ID`].
    pub device_id: Arc<str>,
    /// The board entry: named `hl7:<OBX-3 identifier>^<coding system>`, then
    /// `/<OBX-4 sub-id>` when there is one, then `@<EUI-64>` when filed under
    /// the listener for an EUI-64 that names no device; the value as sent (a
    /// number or the raw text) and the unit when this gateway knows it.
    pub status: StatusValue,
    /// The observation as decoded.
    pub observation: UnknownObservation,
}

impl Routed {
    /// The ACK code and detail once the batches are stored.
    pub fn ack(&self) -> (AckCode, Option<AckDetail>) {
        match self.problems.first() {
            None => (AckCode::Accept, None),
            Some(p) => (AckCode::Error, Some(AckDetail::from(p))),
        }
    }
}

/// A message nothing of which is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The header as far as it could be read, for the ACK.
    pub header: MessageHeader,
    /// AE or AR.
    pub code: AckCode,
    /// The reason for the ERR segment.
    pub detail: AckDetail,
    /// A bounded name for counters (`malformed`, `unsupported`, ...).
    pub kind: &'static str,
}

#[derive(Debug, Clone)]
struct Route {
    device_id: Arc<str>,
    bed_id: Option<Arc<str>>,
}

/// The configured devices and beds, and the policy for the rest.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    devices: HashMap<u64, Route>,
    beds: Vec<([String; 3], Arc<str>)>,
    unknown: UnknownSenders,
}

impl Routing {
    /// Routing for these devices and beds. Duplicates are ruled out by the
    /// configuration's validation; here the last one wins.
    pub fn new(devices: &[KnownDevice], beds: &[KnownBed], unknown: UnknownSenders) -> Self {
        let devices = devices
            .iter()
            .map(|d| {
                let route = Route {
                    device_id: d.device_id.as_str().into(),
                    bed_id: d.bed_id.as_deref().map(Into::into),
                };
                (d.eui64, route)
            })
            .collect();
        let beds = beds
            .iter()
            .map(|b| (b.location.clone(), b.bed_id.as_str().into()))
            .collect();
        Self {
            devices,
            beds,
            unknown,
        }
    }

    /// Decodes one MLLP payload and places its readings. A time without an
    /// offset converts with `assumed_offset` (minutes east of UTC).
    ///
    /// # Errors
    ///
    /// A [`Refusal`] when nothing of the message may be stored (boxed: it
    /// carries the header, and refusals are the rare case).
    pub fn route(&self, bytes: &[u8], assumed_offset: Option<i32>) -> Result<Routed, Box<Refusal>> {
        let message = Message::parse(bytes).map_err(|e| refusal_unparsed(bytes, &e))?;
        let oru = OruMessage::decode(&message).map_err(|e| {
            let kind = match e {
                Hl7Error::UnsupportedMessage { .. } => "unsupported",
                _ => "malformed",
            };
            refusal(MessageHeader::read(&message), AckCode::Reject, &e, kind)
        })?;
        let fallback_eui = header_eui64(&oru.header);
        let pv1_bed = oru.bed.as_ref().and_then(|b| self.bed_for(b));
        let mut batches: Vec<Batch> = Vec::new();
        for pcd in oru.readings(assumed_offset) {
            let eui = match pcd.equipment {
                Some(EquipmentId::Eui64(eui)) => Some(eui),
                _ => fallback_eui,
            };
            let (device, configured) = self
                .place(eui, pv1_bed.as_ref(), oru.bed.as_ref())
                .map_err(|(kind, detail)| {
                    Box::new(Refusal {
                        header: oru.header.clone(),
                        code: AckCode::Error,
                        detail,
                        kind,
                    })
                })?;
            match batches.iter_mut().find(|b| b.device == device) {
                Some(batch) => batch.readings.push(pcd.reading),
                None => batches.push(Batch {
                    device,
                    configured,
                    readings: vec![pcd.reading],
                }),
            }
        }
        let unknown = oru
            .unknown()
            .into_iter()
            .map(|u| self.file_unknown(u, fallback_eui))
            .collect();
        Ok(Routed {
            unknown,
            header: oru.header,
            batches,
            problems: oru.rejected,
        })
    }

    /// Files an observation that is not a reading under the device its
    /// readings would go to (the bed does not matter for the status board).
    fn file_unknown(&self, u: UnknownObservation, fallback_eui: Option<u64>) -> FiledUnknown {
        let eui = match u.equipment {
            Some(EquipmentId::Eui64(eui)) => Some(eui),
            _ => fallback_eui,
        };
        let device_id = eui.and_then(|eui| match self.devices.get(&eui) {
            Some(route) => Some(Arc::clone(&route.device_id)),
            None if self.unknown == UnknownSenders::Accept => Some(accepted_id(eui)),
            None => None,
        });
        let stray_eui = if device_id.is_none() { eui } else { None };
        let status = StatusValue {
            name: status_name(&u, stray_eui),
            value: match &u.value {
                ObservationValue::Numeric(n) => StatusData::Number(*n),
                ObservationValue::Text(t) => StatusData::Text(t.clone()),
                ObservationValue::Empty => StatusData::Text(String::new()),
            },
            unit: u.known_unit,
            alarm: None,
        };
        let device_id = device_id.unwrap_or_else(|| LISTENER_ID.into());
        FiledUnknown {
            device_id,
            status,
            observation: u,
        }
    }

    fn bed_for(&self, location: &BedLocation) -> Option<Arc<str>> {
        let parts = [&location.point_of_care, &location.room, &location.bed]
            .map(|p| p.as_deref().unwrap_or_default());
        self.beds
            .iter()
            .find(|(loc, _)| loc.iter().map(String::as_str).eq(parts))
            .map(|(_, bed)| Arc::clone(bed))
    }

    fn place(
        &self,
        eui: Option<u64>,
        pv1_bed: Option<&Arc<str>>,
        pv1: Option<&BedLocation>,
    ) -> Result<(DeviceRef, bool), (&'static str, AckDetail)> {
        let eui = eui.ok_or_else(|| {
            unknown_key(
                "unknown_device",
                "no EUI-64 in OBX-18 or MSH-3: the sending device is unknown".to_owned(),
            )
        })?;
        let (device_id, own_bed, configured) = match self.devices.get(&eui) {
            Some(route) => (Arc::clone(&route.device_id), route.bed_id.clone(), true),
            None if self.unknown == UnknownSenders::Accept => (accepted_id(eui), None, false),
            None => {
                let text = format!("equipment {eui:016X} is not a configured HL7 device");
                return Err(unknown_key("unknown_device", text));
            }
        };
        let bed_id = match (pv1_bed, own_bed.as_ref()) {
            (Some(a), Some(b)) if a != b => {
                let text = format!(
                    "PV1-3 places device {device_id} in bed {a}, the configuration in bed {b}"
                );
                return Err(unknown_key("bed_conflict", text));
            }
            (Some(bed), _) | (None, Some(bed)) => Arc::clone(bed),
            (None, None) => {
                let at = pv1.map_or_else(|| "no PV1-3".to_owned(), describe_location);
                let text = format!("{at}: no configured bed for device {device_id}");
                return Err(unknown_key("unknown_bed", text));
            }
        };
        let device = DeviceRef { device_id, bed_id };
        Ok((device, configured))
    }
}

/// `hl7:<identifier>^<system>[/<sub-id>][@<EUI-64>]`; the text of OBX-3 stands
/// in for an empty identifier.
fn status_name(u: &UnknownObservation, stray_eui: Option<u64>) -> String {
    let code = &u.code;
    let identifier = if code.identifier.is_empty() {
        &code.text
    } else {
        &code.identifier
    };
    let sub_id = if u.sub_id.is_empty() { "" } else { "/" };
    let name = format!("hl7:{identifier}^{}{sub_id}{}", code.system, u.sub_id);
    match stray_eui {
        Some(eui) => format!("{name}@{eui:016X}"),
        None => name,
    }
}

/// The device id of an EUI-64 accepted under [`UnknownSenders::Accept`].
fn accepted_id(eui: u64) -> Arc<str> {
    format!("hl7-{eui:016X}").into()
}

/// MSH-3 `<app>^<EUI-64>^EUI-64`.
fn header_eui64(header: &MessageHeader) -> Option<u64> {
    let app = &header.sending_application;
    let typed = app.get(2).is_some_and(|t| t == "EUI-64");
    let id = app.get(1).filter(|_| typed)?;
    (id.len() == 16)
        .then(|| u64::from_str_radix(id, 16).ok())
        .flatten()
}

fn describe_location(b: &BedLocation) -> String {
    let parts = [&b.point_of_care, &b.room, &b.bed].map(|p| p.as_deref().unwrap_or_default());
    format!("PV1-3 `{}`", parts.join("^"))
}

fn unknown_key(kind: &'static str, text: String) -> (&'static str, AckDetail) {
    let detail = AckDetail {
        condition: 204,
        location: None,
        text,
    };
    (kind, detail)
}

fn refusal(header: MessageHeader, code: AckCode, e: &Hl7Error, kind: &'static str) -> Box<Refusal> {
    Box::new(Refusal {
        header,
        code,
        detail: AckDetail::from(e),
        kind,
    })
}

/// A message that did not parse: the ACK still names its control id when the
/// MSH segment alone parses.
fn refusal_unparsed(bytes: &[u8], e: &Hl7Error) -> Box<Refusal> {
    let first = bytes
        .split(|b| *b == b'\r' || *b == b'\n')
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    let header = Message::parse(first)
        .map(|m| MessageHeader::read(&m))
        .unwrap_or_default();
    refusal(header, AckCode::Reject, e, "malformed")
}

/// A refusal for a block the framer dropped (too long): there is no header.
pub fn refusal_for_framing(text: String) -> Refusal {
    Refusal {
        header: MessageHeader::default(),
        code: AckCode::Reject,
        detail: AckDetail {
            condition: 207,
            location: None::<FieldLocation>,
            text,
        },
        kind: "too_long",
    }
}

#[cfg(test)]
#[path = "routing_tests.rs"]
mod tests;
