//! Medibus session: ICC until answered, identification, then measured data
//! (code page 1) on the poll interval, with NOP keep-alives.
//!
//! States: `Init` sends ICC every keep-alive period until the device answers
//! it; `Identify` asks for the identification (re-asked every keep-alive
//! period), whose text goes on the status board; `Polling` requests measured
//! data every `poll_interval_ms`, and sends NOP when the gateway has sent
//! nothing for the keep-alive period (half the watchdog), which only happens
//! with slow polls. The device may send ICC or NOP itself; both get the empty
//! response the protocol requires. A silent line sends the session back to
//! `Init` through the watchdog.
//!
//! Items without a metric (ventilation values, unknown codes) are kept raw on
//! the status board under `0xCC` (their code in hex); an item whose value is
//! not a number is the device's "no value" and gives nothing.

use std::time::Duration;

use tokio::time::Instant;

use super::session::{noise_kind, Output, Session};
use crate::protocols::medibus::{
    encode_command, encode_empty_response, Command, FrameKind, MeasuredData, MedibusFrame,
    MedibusFramer,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Init,
    Identify,
    Polling,
}

/// A Medibus session.
#[derive(Debug)]
pub(crate) struct MedibusSession {
    framer: MedibusFramer,
    state: State,
    poll_interval: Duration,
    keepalive: Duration,
    /// When the next request of the current state is due.
    next_request: Instant,
    /// When the gateway last sent anything.
    last_sent: Instant,
}

impl MedibusSession {
    pub(crate) fn new(poll_interval: Duration, keepalive: Duration) -> Self {
        let now = Instant::now();
        Self {
            framer: MedibusFramer::new(),
            state: State::Init,
            poll_interval,
            keepalive,
            next_request: now,
            last_sent: now,
        }
    }

    fn send(&mut self, bytes: &[u8], now: Instant, out: &mut Output) {
        out.send.extend_from_slice(bytes);
        self.last_sent = now;
    }

    fn request(&mut self, now: Instant, out: &mut Output) {
        let (command, wait) = match self.state {
            State::Init => (Command::Icc, self.keepalive),
            State::Identify => (Command::DeviceId, self.keepalive),
            State::Polling => (Command::MeasuredCp1, self.poll_interval),
        };
        self.send(&encode_command(command), now, out);
        self.next_request = now + wait;
    }

    fn frame(&mut self, frame: &MedibusFrame, now: Instant, out: &mut Output) {
        out.frames += 1;
        let command = frame.known_command();
        match (frame.kind, command) {
            (FrameKind::Command, Some(c @ (Command::Icc | Command::Nop))) => {
                self.send(&encode_empty_response(c), now, out);
            }
            (FrameKind::Command, _) => {
                out.raw_number("unanswered_command".into(), f64::from(frame.command));
            }
            (FrameKind::Response, Some(Command::Icc)) if self.state == State::Init => {
                self.state = State::Identify;
                self.request(now, out);
            }
            (FrameKind::Response, Some(Command::DeviceId)) => {
                let text = String::from_utf8_lossy(&frame.data).trim().to_owned();
                out.raw_text("identification".into(), text);
                if self.state == State::Identify {
                    self.state = State::Polling;
                    self.request(now, out);
                }
            }
            (FrameKind::Response, Some(Command::MeasuredCp1)) => {
                match MeasuredData::from_frame(frame) {
                    Ok(data) => {
                        for item in data.unmapped() {
                            if let Some(v) = item.number() {
                                out.raw_number(format!("{:#04X}", item.code), v);
                            }
                        }
                        out.batch(data.readings());
                    }
                    Err(e) => out.error("decode", e),
                }
            }
            (FrameKind::Response, _) => {}
        }
    }
}

impl Session for MedibusSession {
    fn start(&mut self, now: Instant, out: &mut Output) {
        self.framer = MedibusFramer::new();
        self.state = State::Init;
        self.request(now, out);
    }

    fn receive(&mut self, bytes: &[u8], now: Instant, out: &mut Output) {
        for item in self.framer.feed(bytes) {
            match item {
                Ok(frame) => self.frame(&frame, now, out),
                Err(e) => out.error(noise_kind(e.is_framing()), e),
            }
        }
    }

    fn next_tick(&self) -> Option<Instant> {
        Some(self.next_request.min(self.last_sent + self.keepalive))
    }

    fn tick(&mut self, now: Instant, out: &mut Output) {
        if now >= self.next_request {
            self.request(now, out);
        } else if now >= self.last_sent + self.keepalive {
            self.send(&encode_command(Command::Nop), now, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::medibus::MeasuredItem;
    use crate::Metric;

    const ICC: &[u8] = &[0x1B, 0x51, 0x36, 0x43, 0x0D];
    const NOP: &[u8] = &[0x1B, 0x30, 0x34, 0x42, 0x0D];
    const CP1: &[u8] = &[0x1B, 0x24, 0x33, 0x46, 0x0D];
    const ID: &[u8] = &[0x1B, 0x52, 0x36, 0x44, 0x0D];

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn handshake_then_polls_on_the_interval() {
        let t0 = Instant::now();
        let mut s = MedibusSession::new(ms(1000), ms(1500));
        let mut out = Output::default();
        s.start(t0, &mut out);
        assert_eq!(out.send, ICC);
        // Unanswered ICC is repeated after the keep-alive period.
        assert_eq!(s.next_tick(), Some(t0 + ms(1500)));
        let mut out = Output::default();
        s.tick(t0 + ms(1500), &mut out);
        assert_eq!(out.send, ICC);
        let t1 = t0 + ms(1600);
        let mut out = Output::default();
        s.receive(&encode_empty_response(Command::Icc), t1, &mut out);
        assert_eq!(out.send, ID);
        let id = MedibusFrame::response(Command::DeviceId, b"0161'Evita'01.00")
            .to_bytes()
            .unwrap();
        let mut out = Output::default();
        s.receive(&id, t1, &mut out);
        assert_eq!(out.send, CP1);
        assert_eq!(out.raw[0].name, "identification");
        let data = MeasuredData {
            items: vec![
                MeasuredItem {
                    code: 0xE1,
                    value: "72".into(),
                },
                MeasuredItem {
                    code: 0x88,
                    value: "450".into(),
                },
            ],
        };
        let mut out = Output::default();
        s.receive(&data.to_frame().unwrap(), t1 + ms(10), &mut out);
        assert_eq!(out.batches[0][0].metric, Metric::PulseRate);
        assert_eq!(out.raw[0].name, "0x88");
        assert_eq!(s.next_tick(), Some(t1 + ms(1000)));
        let mut out = Output::default();
        s.tick(t1 + ms(1000), &mut out);
        assert_eq!(out.send, CP1);
    }

    #[test]
    fn the_devices_icc_and_nop_get_empty_responses_and_slow_polls_get_nops() {
        let t0 = Instant::now();
        let mut s = MedibusSession::new(ms(10_000), ms(1500));
        let mut out = Output::default();
        s.start(t0, &mut out);
        let mut out = Output::default();
        s.receive(NOP, t0, &mut out);
        assert_eq!(out.send, encode_empty_response(Command::Nop));
        s.state = State::Polling;
        s.next_request = t0 + ms(10_000);
        let mut out = Output::default();
        s.tick(t0 + ms(1500), &mut out);
        assert_eq!(out.send, NOP);
    }
}
