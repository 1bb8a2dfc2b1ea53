//! A simulated IntelliVue monitor on its MIB/RS-232 port: accepts any
//! association, sends the MDS create event report, and answers numeric polls
//! with heart rate, SpO2, pleth pulse, respiration rate, a compound NIBP and
//! one numeric whose physio id the vocabulary does not know.

use std::time::{Duration, SystemTime};

use super::devices::{DeviceModel, Vitals};
use crate::protocols::intellivue::{
    decode_message, encode_attribute_list, encode_compound, encode_frame, encode_session_pdu, Apdu,
    Attribute, CommandType, DataMessage, Float, IntellivueFramer, MeasurementState, Message,
    NumericValue, Operation, SessionPduKind, ACTION_POLL, ATTR_NU_CMPD_VAL_OBS, ATTR_NU_VAL_OBS,
    OBJ_CLASS_MDS,
};
use crate::serial::EVENT_MDS_CREATE;

const BPM: u16 = 0x0AA0;
const RPM: u16 = 0x0AE0;
const PERCENT: u16 = 0x0220;
const MMHG: u16 = 0x0F20;
/// A physio id outside the mapping table, to show unknown codes are kept.
const UNKNOWN_PHYSIO: u16 = 0x5000;

/// The simulated monitor.
#[derive(Debug, Default)]
pub(super) struct Monitor {
    framer: IntellivueFramer,
}

fn numeric(physio_id: u16, unit_code: u16, value: f64, valid: bool) -> NumericValue {
    let (state, value) = if valid {
        (0, Float::from_decimal(value, 1).unwrap_or(Float::NAN))
    } else {
        (MeasurementState::INVALID, Float::NAN)
    };
    NumericValue {
        physio_id,
        state: MeasurementState(state),
        unit_code,
        value,
    }
}

fn data(apdu: Apdu<'_>) -> Vec<u8> {
    let user = DataMessage {
        context_id: 2,
        apdu,
    }
    .encode()
    .unwrap_or_default();
    encode_frame(&user).unwrap_or_default()
}

fn list(attributes: &[Attribute<'_>]) -> Vec<u8> {
    encode_attribute_list(attributes).unwrap_or_default()
}

fn be16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// `{u16 count, u16 length, bytes}`.
fn counted(out: &mut Vec<u8>, count: usize, bytes: &[u8]) {
    be16(out, u16::try_from(count).unwrap_or(u16::MAX));
    be16(out, u16::try_from(bytes.len()).unwrap_or(u16::MAX));
    out.extend_from_slice(bytes);
}

impl Monitor {
    fn objects(v: &Vitals) -> Vec<Vec<u8>> {
        let single = |n: NumericValue| {
            let bytes = n.to_bytes();
            list(&[Attribute {
                id: ATTR_NU_VAL_OBS,
                value: &bytes,
            }])
        };
        let mut objects = vec![
            single(numeric(0x4182, BPM, v.heart_rate, true)),
            single(numeric(0x4BB8, PERCENT, v.spo2, !v.sensor_off)),
            single(numeric(0x4822, BPM, v.pulse_rate, !v.sensor_off)),
            single(numeric(0x500A, RPM, v.respiratory_rate, true)),
            single(numeric(UNKNOWN_PHYSIO, PERCENT, 42.0, true)),
        ];
        if let Some((s, d, m)) = v.nibp {
            let members = [
                numeric(0x4A05, MMHG, s, true),
                numeric(0x4A06, MMHG, d, true),
                numeric(0x4A07, MMHG, m, true),
            ];
            let compound = encode_compound(&members).unwrap_or_default();
            objects.push(list(&[Attribute {
                id: ATTR_NU_CMPD_VAL_OBS,
                value: &compound,
            }]));
        }
        objects
    }

    fn poll_result(invoke_id: u16, poll_number: u16, v: &Vitals) -> Vec<u8> {
        let mut polls = Vec::new();
        let objects = Self::objects(v);
        for (handle, attributes) in (1u16..).zip(&objects) {
            be16(&mut polls, handle);
            polls.extend_from_slice(attributes);
        }
        let mut context = Vec::new();
        be16(&mut context, 0);
        counted(&mut context, objects.len(), &polls);
        let mut reply = Vec::new();
        be16(&mut reply, poll_number);
        reply.extend_from_slice(&[0; 4 + 8]);
        for v in [1, 6, 0] {
            be16(&mut reply, v);
        }
        counted(&mut reply, 1, &context);
        let mut body = Vec::new();
        for v in [OBJ_CLASS_MDS, 0, 0, ACTION_POLL] {
            be16(&mut body, v);
        }
        be16(&mut body, u16::try_from(reply.len()).unwrap_or(u16::MAX));
        body.extend_from_slice(&reply);
        let op = Operation {
            invoke_id,
            command_type: CommandType::ConfirmedAction,
            body: &body,
        };
        data(Apdu::Result(op))
    }

    fn create_event() -> Vec<u8> {
        let mut body = Vec::new();
        for v in [OBJ_CLASS_MDS, 0, 0] {
            be16(&mut body, v);
        }
        body.extend_from_slice(&0u32.to_be_bytes());
        be16(&mut body, EVENT_MDS_CREATE);
        let info = list(&[]);
        be16(&mut body, u16::try_from(info.len()).unwrap_or(0));
        body.extend_from_slice(&info);
        let op = Operation {
            invoke_id: 1,
            command_type: CommandType::ConfirmedEventReport,
            body: &body,
        };
        data(Apdu::Invoke(op))
    }
}

impl DeviceModel for Monitor {
    fn period(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn receive(&mut self, bytes: &[u8], v: &Vitals, out: &mut Vec<u8>) {
        for user in self.framer.feed(bytes).into_iter().flatten() {
            match decode_message(&user) {
                Ok(Message::Session(pdu)) if pdu.kind == SessionPduKind::AssociationRequest => {
                    let ac = encode_session_pdu(SessionPduKind::AssociationResult, &[])
                        .unwrap_or_default();
                    out.extend(encode_frame(&ac).unwrap_or_default());
                    out.extend(Self::create_event());
                }
                Ok(Message::Data(DataMessage {
                    apdu: Apdu::Invoke(op),
                    ..
                })) if op.command_type == CommandType::ConfirmedAction => {
                    let poll_number = op
                        .body
                        .get(16..18)
                        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
                    out.extend(Self::poll_result(op.invoke_id, poll_number, v));
                }
                _ => {}
            }
        }
    }

    fn tick(&mut self, _: &Vitals, _: SystemTime, _: &mut Vec<u8>) {}
}
