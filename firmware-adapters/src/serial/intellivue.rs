//! IntelliVue MIB/RS-232 session: association, the answer to the MDS create
//! event, numeric polls and keep-alives.
//!
//! States: `Associating` sends the association request every keep-alive
//! period until the monitor answers AC (a refusal is counted as
//! `association_refused` and retried); `Created` waits for the monitor's MDS
//! Create Event Report and answers it with the MDS Create Event Result;
//! `Polling` sends a single poll for numerics every `poll_interval_ms` and
//! re-sends the MDS Create Event Result every keep-alive period (half the
//! watchdog), which is what keeps the monitor's association alive. A release
//! request or an abort from the monitor sends the session back to
//! `Associating`; so does the watchdog.
//!
//! # Wire layouts this session adds to the codec
//!
//! From the IEEE 11073-20101 structures the Data Export protocol uses (all
//! big-endian):
//!
//! - Event report argument: {managed object: u16 class, u16 context, u16
//!   handle; u32 event time; u16 event type; u16 length; info}. The MDS
//!   create event has type `0x0D06` (NOM_NOTI_MDS_CREAT); its result is the
//!   same managed object, the current relative time, the event type and an
//!   empty info (length 0).
//! - Poll result (the body of a confirmed-action result or linked result):
//!   action result {managed object (6 bytes), u16 action type, u16 length},
//!   then the poll reply {u16 poll number, u32 relative time, 8-byte absolute
//!   time, u16 partition + u16 code of the polled type, u16 attribute group,
//!   poll info list {u16 count, u16 length, per context {u16 context id,
//!   {u16 count, u16 length, per object {u16 handle, attribute list}}}}}.
//!
//! Limitation: the association request body is not laid out in the sources
//! the codec was built from. By default the session sends the MDSE user
//! info values as an attribute list ([`default_association_body`]); a
//! monitor that expects the guide's full presentation header refuses it,
//! which shows as `association_refused` in the device's health. A site with
//! the Philips Data Export guide sets `intellivue_association_hex` in its
//! profile to the guide's association request body.

use std::time::Duration;

use tokio::time::Instant;

use super::session::{noise_kind, Output, Session};
use crate::protocols::intellivue::{
    association_request, decode_message, encode_attribute_list, encode_frame, mds_create_result,
    Apdu, Attribute, CommandType, IntellivueFramer, Message, NumericObservation, PollRequest,
    SessionPduKind, Unmapped, ACTION_POLL, NOMENCLATURE_VERSION, PROTOCOL_VERSION,
    STARTUP_MODE_COLD, SYSTEM_TYPE_CLIENT,
};

/// NOM_NOTI_MDS_CREAT: the event type of the MDS create event report.
pub const EVENT_MDS_CREATE: u16 = 0x0D06;
/// The presentation context of data messages.
const CONTEXT: u16 = 2;

/// The association body sent when the profile gives none: the documented
/// MDSE user info values, each as a 4-byte attribute.
pub fn default_association_body() -> Vec<u8> {
    let values = [
        PROTOCOL_VERSION.to_be_bytes(),
        NOMENCLATURE_VERSION.to_be_bytes(),
        SYSTEM_TYPE_CLIENT.to_be_bytes(),
        STARTUP_MODE_COLD.to_be_bytes(),
    ];
    let attributes: Vec<Attribute<'_>> = (1u16..)
        .zip(values.iter())
        .map(|(id, value)| Attribute { id, value })
        .collect();
    encode_attribute_list(&attributes).unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Associating,
    Created,
    Polling,
}

/// An IntelliVue session.
#[derive(Debug)]
pub(crate) struct IntellivueSession {
    framer: IntellivueFramer,
    state: State,
    association: Vec<u8>,
    poll_interval: Duration,
    keepalive: Duration,
    next_poll: Instant,
    next_keepalive: Instant,
    invoke_id: u16,
    poll_number: u16,
    /// The MDS create event's managed object and invoke id, echoed in every
    /// keep-alive.
    create: Option<([u8; 6], u16)>,
    started: Instant,
}

impl IntellivueSession {
    pub(crate) fn new(association: Vec<u8>, poll_interval: Duration, keepalive: Duration) -> Self {
        let now = Instant::now();
        Self {
            framer: IntellivueFramer::new(),
            state: State::Associating,
            association,
            poll_interval,
            keepalive,
            next_poll: now,
            next_keepalive: now,
            invoke_id: 0,
            poll_number: 0,
            create: None,
            started: now,
        }
    }

    fn send(user_data: Result<Vec<u8>, impl std::fmt::Display>, out: &mut Output) {
        match user_data
            .map_err(|e| e.to_string())
            .and_then(|d| encode_frame(&d).map_err(|e| e.to_string()))
        {
            Ok(frame) => out.send.extend_from_slice(&frame),
            Err(e) => out.error("encode", e),
        }
    }

    fn associate(&mut self, now: Instant, out: &mut Output) {
        Self::send(association_request(&self.association), out);
        self.next_keepalive = now + self.keepalive;
    }

    fn create_result(&self, now: Instant, out: &mut Output) {
        let Some((object, invoke_id)) = self.create else {
            return;
        };
        let ticks = u32::try_from((now - self.started).as_micros() / 125).unwrap_or(u32::MAX);
        let mut body = object.to_vec();
        body.extend_from_slice(&ticks.to_be_bytes());
        body.extend_from_slice(&EVENT_MDS_CREATE.to_be_bytes());
        body.extend_from_slice(&0u16.to_be_bytes());
        Self::send(mds_create_result(CONTEXT, invoke_id, &body), out);
    }

    fn poll(&mut self, now: Instant, out: &mut Output) {
        self.poll_number = self.poll_number.wrapping_add(1);
        self.invoke_id = self.invoke_id.wrapping_add(1);
        Self::send(
            PollRequest::numerics(CONTEXT, self.invoke_id, self.poll_number).encode(),
            out,
        );
        self.next_poll = now + self.poll_interval;
    }

    fn message(&mut self, user_data: &[u8], now: Instant, out: &mut Output) {
        let message = match decode_message(user_data) {
            Ok(m) => m,
            Err(e) => return out.error("decode", e),
        };
        out.frames += 1;
        match message {
            Message::Session(pdu) => match pdu.kind {
                SessionPduKind::AssociationResult if self.state == State::Associating => {
                    self.state = State::Created;
                }
                SessionPduKind::Refuse => {
                    out.error("association_refused", "the monitor refused the association");
                    self.state = State::Associating;
                }
                SessionPduKind::ReleaseRequest | SessionPduKind::Abort => {
                    out.error(
                        "association_lost",
                        format!("the monitor sent {:?}", pdu.kind),
                    );
                    self.state = State::Associating;
                    self.associate(now, out);
                }
                _ => {}
            },
            Message::Data(data) => match data.apdu {
                Apdu::Invoke(op) if op.command_type == CommandType::ConfirmedEventReport => {
                    let is_create =
                        op.body.get(10..12) == Some(&EVENT_MDS_CREATE.to_be_bytes()[..]);
                    if let (true, Some(object)) = (is_create, op.body.get(..6)) {
                        let mut id = [0u8; 6];
                        id.copy_from_slice(object);
                        self.create = Some((id, op.invoke_id));
                        self.create_result(now, out);
                        self.state = State::Polling;
                        self.next_keepalive = now + self.keepalive;
                        self.poll(now, out);
                    }
                }
                Apdu::Result(op) | Apdu::LinkedResult(_, op)
                    if op.command_type == CommandType::ConfirmedAction =>
                {
                    // One poll result is one moment: one batch.
                    match poll_objects(op.body) {
                        Ok(objects) => {
                            let readings =
                                objects.iter().flat_map(|l| observation(l, out)).collect();
                            out.batch(readings);
                        }
                        Err(e) => out.error("decode", e),
                    }
                }
                Apdu::Error(body) => out.raw_text("last_error_pdu".into(), hex(body)),
                _ => {}
            },
        }
    }
}

/// One object's readings; its unmapped numerics go raw into `out`.
fn observation(list: &[u8], out: &mut Output) -> Vec<crate::Reading> {
    let obs = match NumericObservation::decode(list) {
        Ok(o) => o,
        Err(e) => {
            out.error("decode", e);
            return Vec::new();
        }
    };
    for u in obs.unmapped() {
        let why = match u.reason {
            Unmapped::UnknownUnit => "unit",
            _ => "physio",
        };
        let value = u.value.value.value().number().unwrap_or(f64::NAN);
        out.raw_number(
            format!(
                "{:#06X}/{:#06X}.unmapped_{why}",
                u.value.physio_id, u.value.unit_code
            ),
            value,
        );
    }
    obs.readings()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A tiny big-endian reader for the poll result.
struct Be<'a>(&'a [u8]);

impl<'a> Be<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err(format!(
                "poll result cut short: {n} bytes wanted, {} left",
                self.0.len()
            ));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A `{u16 count, u16 length, items}` list: its count and item bytes.
    fn list(&mut self) -> Result<(u16, Self), String> {
        let count = self.u16()?;
        let len = self.u16()?;
        Ok((count, Self(self.take(usize::from(len))?)))
    }
}

/// The attribute lists of every object in a poll result (see the module
/// docs for the layout). A result of another action is no poll result.
pub(crate) fn poll_objects(body: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut r = Be(body);
    r.take(6)?;
    let action = r.u16()?;
    if action != ACTION_POLL {
        return Ok(Vec::new());
    }
    let len = usize::from(r.u16()?);
    let mut r = Be(r.take(len)?);
    // Poll number, relative and absolute time, polled type, attribute group.
    r.take(2 + 4 + 8 + 4 + 2)?;
    let (_, mut contexts) = r.list()?;
    let mut objects = Vec::new();
    while !contexts.0.is_empty() {
        contexts.u16()?;
        let (_, mut polls) = contexts.list()?;
        while !polls.0.is_empty() {
            polls.u16()?;
            let start = polls.0;
            let (_, _) = polls.list()?;
            objects.push(&start[..start.len() - polls.0.len()]);
        }
    }
    Ok(objects)
}

impl Session for IntellivueSession {
    fn start(&mut self, now: Instant, out: &mut Output) {
        self.framer = IntellivueFramer::new();
        self.state = State::Associating;
        self.create = None;
        self.started = now;
        self.associate(now, out);
    }

    fn receive(&mut self, bytes: &[u8], now: Instant, out: &mut Output) {
        for item in self.framer.feed(bytes) {
            match item {
                Ok(user_data) => self.message(&user_data, now, out),
                Err(e) => out.error(noise_kind(e.is_framing()), e),
            }
        }
    }

    fn next_tick(&self) -> Option<Instant> {
        Some(match self.state {
            State::Associating | State::Created => self.next_keepalive,
            State::Polling => self.next_poll.min(self.next_keepalive),
        })
    }

    fn tick(&mut self, now: Instant, out: &mut Output) {
        match self.state {
            State::Associating | State::Created => {
                self.state = State::Associating;
                self.associate(now, out);
            }
            State::Polling => {
                if now >= self.next_keepalive {
                    self.create_result(now, out);
                    self.next_keepalive = now + self.keepalive;
                }
                if now >= self.next_poll {
                    self.poll(now, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::intellivue::{encode_session_pdu, DataMessage, Operation};
    use crate::Metric;

    fn frames(bytes: &[u8]) -> Vec<Vec<u8>> {
        IntellivueFramer::new()
            .feed(bytes)
            .into_iter()
            .map(Result::unwrap)
            .collect()
    }

    fn frame(user: &[u8]) -> Vec<u8> {
        encode_frame(user).unwrap()
    }

    #[test]
    fn associates_answers_the_create_event_and_polls() {
        let t0 = Instant::now();
        let mut s = IntellivueSession::new(
            vec![1, 2, 3],
            Duration::from_secs(1),
            Duration::from_secs(4),
        );
        let mut out = Output::default();
        s.start(t0, &mut out);
        let sent = frames(&out.send);
        assert_eq!(sent[0], association_request(&[1, 2, 3]).unwrap());

        let mut out = Output::default();
        s.receive(
            &frame(&encode_session_pdu(SessionPduKind::AssociationResult, &[]).unwrap()),
            t0,
            &mut out,
        );
        assert!(out.send.is_empty());
        let mut event = vec![0, 0x21, 0, 0, 0, 0, 0, 0, 0, 0];
        event.extend_from_slice(&EVENT_MDS_CREATE.to_be_bytes());
        event.extend_from_slice(&[0, 0]);
        let op = Operation {
            invoke_id: 7,
            command_type: CommandType::ConfirmedEventReport,
            body: &event,
        };
        let report = DataMessage {
            context_id: 2,
            apdu: Apdu::Invoke(op),
        }
        .encode()
        .unwrap();
        let mut out = Output::default();
        s.receive(&frame(&report), t0, &mut out);
        let sent = frames(&out.send);
        assert_eq!(sent.len(), 2, "the result, then the first poll");
        let Message::Data(result) = decode_message(&sent[0]).unwrap() else {
            panic!()
        };
        let Apdu::Result(op) = result.apdu else {
            panic!("{result:?}")
        };
        assert_eq!(
            (op.invoke_id, op.command_type),
            (7, CommandType::ConfirmedEventReport)
        );
        assert_eq!(&op.body[..6], &event[..6]);
        assert_eq!(&op.body[10..], &[0x0D, 0x06, 0, 0]);
        assert_eq!(
            sent[1],
            PollRequest::numerics(CONTEXT, 1, 1).encode().unwrap()
        );
        // Polls on the interval; the keep-alive on its own period.
        assert_eq!(s.next_tick(), Some(t0 + Duration::from_secs(1)));
        let mut out = Output::default();
        s.tick(t0 + Duration::from_secs(4), &mut out);
        assert_eq!(frames(&out.send).len(), 2, "keep-alive and poll");
    }

    #[test]
    fn a_refusal_is_counted_and_the_association_retried() {
        let t0 = Instant::now();
        let mut s = IntellivueSession::new(vec![1], Duration::from_secs(1), Duration::from_secs(4));
        let mut out = Output::default();
        s.start(t0, &mut out);
        let mut out = Output::default();
        s.receive(
            &frame(&encode_session_pdu(SessionPduKind::Refuse, &[]).unwrap()),
            t0,
            &mut out,
        );
        assert_eq!(out.errors[0].0, "association_refused");
        let mut out = Output::default();
        s.tick(t0 + Duration::from_secs(4), &mut out);
        assert_eq!(frames(&out.send)[0], association_request(&[1]).unwrap());
    }

    #[test]
    fn a_poll_result_of_another_action_gives_nothing_and_a_short_one_is_an_error() {
        let mut body = vec![0, 0x21, 0, 0, 0, 0];
        body.extend_from_slice(&0xF13Bu16.to_be_bytes());
        assert_eq!(poll_objects(&body).map(|v| v.len()), Ok(0));
        let mut short = vec![0, 0x21, 0, 0, 0, 0];
        short.extend_from_slice(&ACTION_POLL.to_be_bytes());
        short.extend_from_slice(&[0, 40, 0, 1]);
        assert!(poll_objects(&short).is_err());
        let mut out = Output::default();
        let r = observation(
            &[
                0, 1, 0, 14, 0x09, 0x50, 0, 10, 0x41, 0x82, 0, 0, 0x0A, 0xA0, 0, 0, 0, 72,
            ],
            &mut out,
        );
        assert_eq!((r[0].metric, r[0].value), (Metric::HeartRate, 72.0));
    }
}
