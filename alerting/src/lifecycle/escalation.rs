//! Escalation: offering an alarm to recipients in order until one accepts.
//!
//! An [`EscalationPath`] is an ordered list of recipients, each with a
//! time-to-live (research B.7: Vocera destinations, Ascom levels). The
//! recipient on offer may accept, accept and ask for a call back, or decline.
//!
//! # States
//!
//! ```text
//!   Offered{step 0} --accept--> Accepted
//!        |  decline (at once) or TTL runs out (tick)
//!        v
//!   Offered{step 1} --> ... --> Offered{last} --decline or TTL--> Exhausted
//!
//!   Offered{any} --cancel (alarm acknowledged or resolved)--> Cancelled
//! ```
//!
//! # Invariants
//!
//! - Only the recipient on offer can answer, and only before the deadline (the
//!   deadline itself is too late); a recipient who declined or timed out is no
//!   longer on offer, so cannot accept later.
//! - Each offer gets its full time-to-live from the moment it is made. A late
//!   [`Escalation::tick`] moves on one step, stamps the time-out with the
//!   deadline and makes the next offer at the tick: it never skips a recipient.
//! - Exhausted means nobody accepted: the runtime must treat the alarm as
//!   unowned (for example, broadcast it), never let it go quiet.
//! - Accepted, Exhausted and Cancelled are final.
//! - Errors change nothing.

use std::time::Duration;

use super::{Actor, StaffId};
use crate::time::Timestamp;

/// One recipient on a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationStep {
    /// Who is offered the alarm (a staff member or the handset standing for a
    /// role; the runtime resolves roles).
    pub recipient: StaffId,
    /// How long the offer stands before moving on.
    pub ttl: Duration,
}

/// A validated, ordered list of recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationPath {
    steps: Vec<EscalationStep>,
}

impl EscalationPath {
    /// The most steps a path may have (Vocera Engage allows 20 destinations).
    pub const MAX_STEPS: usize = 20;

    /// A path through `steps`, in order.
    ///
    /// # Errors
    ///
    /// When there are no steps, more than [`Self::MAX_STEPS`], or a step has a
    /// zero time-to-live.
    pub fn new(steps: Vec<EscalationStep>) -> Result<Self, EscalationError> {
        if steps.is_empty() {
            return Err(EscalationError::EmptyPath);
        }
        if steps.len() > Self::MAX_STEPS {
            return Err(EscalationError::TooManySteps {
                count: steps.len(),
                max: Self::MAX_STEPS,
            });
        }
        if let Some(step) = steps.iter().position(|s| s.ttl.is_zero()) {
            return Err(EscalationError::ZeroTtl { step });
        }
        Ok(Self { steps })
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[EscalationStep] {
        &self.steps
    }
}

/// A recipient's answer to an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Response {
    /// Takes the alarm.
    Accept,
    /// Takes the alarm and asks to be called back (to talk to the bedside).
    AcceptAndCallBack,
    /// Refuses; the next recipient is offered the alarm at once.
    Decline,
}

/// Where an escalation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscalationState {
    /// Step `step` is on offer until `deadline`.
    Offered {
        /// Index into the path.
        step: usize,
        /// When the offer lapses.
        deadline: Timestamp,
    },
    /// Step `step` accepted.
    Accepted {
        /// Index into the path.
        step: usize,
        /// Whether the recipient asked for a call back.
        call_back: bool,
    },
    /// Every recipient declined or let the offer lapse.
    Exhausted,
    /// Called off, for example because the alarm was acknowledged at the bed.
    Cancelled,
}

/// What happened in an escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalationEventKind {
    /// The alarm was offered to a recipient.
    Offered {
        /// Index into the path.
        step: usize,
        /// The recipient.
        recipient: StaffId,
        /// When the offer lapses.
        deadline: Timestamp,
    },
    /// The offer lapsed.
    TimedOut {
        /// Index into the path.
        step: usize,
        /// The recipient.
        recipient: StaffId,
    },
    /// The recipient declined.
    Declined {
        /// Index into the path.
        step: usize,
    },
    /// The recipient accepted.
    Accepted {
        /// Index into the path.
        step: usize,
        /// Whether the recipient asked for a call back.
        call_back: bool,
    },
    /// Nobody accepted.
    Exhausted,
    /// The escalation was called off.
    Cancelled,
}

/// One entry of the escalation log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationEvent {
    /// When.
    pub at: Timestamp,
    /// Who: the system for offers and time-outs, the recipient for answers.
    pub actor: Actor,
    /// What.
    pub kind: EscalationEventKind,
}

/// A path that cannot be built, or an answer that cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscalationError {
    /// A path needs at least one step.
    #[error("an escalation path needs at least one recipient")]
    EmptyPath,
    /// Too many steps.
    #[error("an escalation path has {count} steps; at most {max} are allowed")]
    TooManySteps {
        /// Steps given.
        count: usize,
        /// The maximum.
        max: usize,
    },
    /// A step would lapse at once.
    #[error("step {step} has a zero time-to-live")]
    ZeroTtl {
        /// Index into the path.
        step: usize,
    },
    /// Nothing is on offer (accepted, exhausted or cancelled).
    #[error("the escalation is no longer waiting for an answer")]
    NotOffered,
    /// Someone other than the recipient on offer answered.
    #[error("`{responder}` is not the recipient on offer (`{current}`)")]
    NotCurrentRecipient {
        /// Who answered.
        responder: StaffId,
        /// Who is on offer.
        current: StaffId,
    },
    /// The answer came at or after the deadline.
    #[error("the offer lapsed at {deadline:?}")]
    OfferLapsed {
        /// The deadline.
        deadline: Timestamp,
    },
}

/// One alarm's escalation along a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    path: EscalationPath,
    state: EscalationState,
}

impl Escalation {
    /// Starts at `at` by offering the alarm to the first recipient.
    pub fn start(path: EscalationPath, at: Timestamp) -> (Self, Vec<EscalationEvent>) {
        let mut escalation = Self {
            path,
            state: EscalationState::Exhausted,
        };
        let mut events = Vec::new();
        escalation.offer(0, at, &mut events);
        (escalation, events)
    }

    /// Where the escalation stands.
    pub fn state(&self) -> EscalationState {
        self.state
    }

    /// The path.
    pub fn path(&self) -> &EscalationPath {
        &self.path
    }

    /// Who is on offer now, if anyone.
    pub fn on_offer(&self) -> Option<&StaffId> {
        match self.state {
            EscalationState::Offered { step, .. } => Some(&self.path.steps[step].recipient),
            _ => None,
        }
    }

    /// `responder` answers at `at`.
    ///
    /// # Errors
    ///
    /// When nothing is on offer, `responder` is not on offer, or the offer has
    /// lapsed (call [`Escalation::tick`]); nothing changes.
    pub fn respond(
        &mut self,
        at: Timestamp,
        responder: &StaffId,
        response: Response,
    ) -> Result<Vec<EscalationEvent>, EscalationError> {
        let EscalationState::Offered { step, deadline } = self.state else {
            return Err(EscalationError::NotOffered);
        };
        if at >= deadline {
            return Err(EscalationError::OfferLapsed { deadline });
        }
        let current = &self.path.steps[step].recipient;
        if current != responder {
            return Err(EscalationError::NotCurrentRecipient {
                responder: responder.clone(),
                current: current.clone(),
            });
        }
        let actor = Actor::Staff(responder.clone());
        let call_back = response == Response::AcceptAndCallBack;
        if response == Response::Decline {
            let declined = EscalationEventKind::Declined { step };
            let mut events = vec![event(at, actor, declined)];
            self.offer(step + 1, at, &mut events);
            return Ok(events);
        }
        self.state = EscalationState::Accepted { step, call_back };
        let accepted = EscalationEventKind::Accepted { step, call_back };
        Ok(vec![event(at, actor, accepted)])
    }

    /// Lets time pass to `now`: a lapsed offer moves on to the next recipient.
    pub fn tick(&mut self, now: Timestamp) -> Vec<EscalationEvent> {
        let mut events = Vec::new();
        if let EscalationState::Offered { step, deadline } = self.state {
            if now >= deadline {
                let recipient = self.path.steps[step].recipient.clone();
                let lapsed = EscalationEventKind::TimedOut { step, recipient };
                events.push(event(deadline, Actor::System, lapsed));
                self.offer(step + 1, now, &mut events);
            }
        }
        events
    }

    /// Calls the escalation off at `at` (the alarm was acknowledged at the bed or
    /// resolved). Only an escalation still on offer changes.
    pub fn cancel(&mut self, at: Timestamp, actor: Actor) -> Vec<EscalationEvent> {
        if !matches!(self.state, EscalationState::Offered { .. }) {
            return Vec::new();
        }
        self.state = EscalationState::Cancelled;
        vec![event(at, actor, EscalationEventKind::Cancelled)]
    }

    /// Offers step `step` at `at`, or ends Exhausted past the last step.
    fn offer(&mut self, step: usize, at: Timestamp, events: &mut Vec<EscalationEvent>) {
        let Some(next) = self.path.steps.get(step) else {
            self.state = EscalationState::Exhausted;
            events.push(event(at, Actor::System, EscalationEventKind::Exhausted));
            return;
        };
        let deadline = at + next.ttl;
        self.state = EscalationState::Offered { step, deadline };
        let recipient = next.recipient.clone();
        let offered = EscalationEventKind::Offered {
            step,
            recipient,
            deadline,
        };
        events.push(event(at, Actor::System, offered));
    }
}

fn event(at: Timestamp, actor: Actor, kind: EscalationEventKind) -> EscalationEvent {
    EscalationEvent { at, actor, kind }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_millis(s * 1_000)
    }

    fn staff(id: &str) -> StaffId {
        StaffId::from(id)
    }

    /// Nurse (60 s), charge nurse (60 s), doctor (120 s).
    fn path() -> EscalationPath {
        let step = |id, secs| EscalationStep {
            recipient: staff(id),
            ttl: Duration::from_secs(secs),
        };
        EscalationPath::new(vec![
            step("nurse", 60),
            step("charge", 60),
            step("doctor", 120),
        ])
        .unwrap()
    }

    fn kinds(events: &[EscalationEvent]) -> Vec<&EscalationEventKind> {
        events.iter().map(|e| &e.kind).collect()
    }

    #[test]
    fn start_offers_the_first_recipient_with_its_ttl() {
        let (esc, events) = Escalation::start(path(), t(100));
        let offered = EscalationEventKind::Offered {
            step: 0,
            recipient: staff("nurse"),
            deadline: t(160),
        };
        assert_eq!(kinds(&events), [&offered]);
        assert_eq!(esc.on_offer(), Some(&staff("nurse")));
    }

    #[test]
    fn offer_not_accepted_in_time_moves_on_at_the_deadline() {
        let (mut esc, _) = Escalation::start(path(), t(0));
        assert!(esc.tick(t(59)).is_empty());
        let events = esc.tick(t(60));
        assert_eq!(events[0].at, t(60));
        assert_eq!(events[0].actor, Actor::System);
        let timed_out = EscalationEventKind::TimedOut {
            step: 0,
            recipient: staff("nurse"),
        };
        let offered = EscalationEventKind::Offered {
            step: 1,
            recipient: staff("charge"),
            deadline: t(120),
        };
        assert_eq!(kinds(&events), [&timed_out, &offered]);
    }

    #[test]
    fn late_tick_gives_the_next_recipient_a_full_ttl() {
        let (mut esc, _) = Escalation::start(path(), t(0));
        let events = esc.tick(t(500));
        assert_eq!(events[0].at, t(60), "time-out stamped at the deadline");
        assert_eq!(
            esc.state(),
            EscalationState::Offered {
                step: 1,
                deadline: t(560)
            }
        );
    }

    #[test]
    fn decline_moves_on_at_once() {
        let (mut esc, _) = Escalation::start(path(), t(0));
        let events = esc
            .respond(t(5), &staff("nurse"), Response::Decline)
            .unwrap();
        assert_eq!(events[0].actor, Actor::Staff(staff("nurse")));
        assert_eq!(esc.on_offer(), Some(&staff("charge")));
        assert_eq!(
            esc.state(),
            EscalationState::Offered {
                step: 1,
                deadline: t(65)
            }
        );
    }

    #[test]
    fn declined_recipient_cannot_accept_later() {
        let (mut esc, _) = Escalation::start(path(), t(0));
        esc.respond(t(5), &staff("nurse"), Response::Decline)
            .unwrap();
        let err = esc
            .respond(t(6), &staff("nurse"), Response::Accept)
            .unwrap_err();
        assert!(matches!(err, EscalationError::NotCurrentRecipient { .. }));
    }

    #[test]
    fn accept_and_call_back_ends_the_escalation_with_a_call_back() {
        let (mut esc, _) = Escalation::start(path(), t(0));
        esc.tick(t(60));
        let events = esc
            .respond(t(70), &staff("charge"), Response::AcceptAndCallBack)
            .unwrap();
        let accepted = EscalationEventKind::Accepted {
            step: 1,
            call_back: true,
        };
        assert_eq!(kinds(&events), [&accepted]);
        assert!(esc.tick(t(10_000)).is_empty());
        let err = esc.respond(t(71), &staff("charge"), Response::Decline);
        assert_eq!(err, Err(EscalationError::NotOffered));
    }

    #[test]
    fn plain_accept_asks_for_no_call_back() {
        let (mut esc, _) = Escalation::start(path(), t(0));
        esc.respond(t(1), &staff("nurse"), Response::Accept)
            .unwrap();
        let state = EscalationState::Accepted {
            step: 0,
            call_back: false,
        };
        assert_eq!(esc.state(), state);
    }

    #[test]
    fn answer_at_the_deadline_is_too_late_and_changes_nothing() {
        let (mut esc, _) = Escalation::start(path(), t(0));
        let err = esc.respond(t(60), &staff("nurse"), Response::Accept);
        assert_eq!(err, Err(EscalationError::OfferLapsed { deadline: t(60) }));
        assert_eq!(esc.on_offer(), Some(&staff("nurse")));
    }

    #[test]
    fn last_decline_exhausts_the_path() {
        let (mut esc, _) = Escalation::start(path(), t(0));
        esc.respond(t(1), &staff("nurse"), Response::Decline)
            .unwrap();
        esc.tick(t(61));
        let events = esc
            .respond(t(70), &staff("doctor"), Response::Decline)
            .unwrap();
        let declined = EscalationEventKind::Declined { step: 2 };
        assert_eq!(kinds(&events), [&declined, &EscalationEventKind::Exhausted]);
        assert_eq!(esc.state(), EscalationState::Exhausted);
    }

    #[test]
    fn cancel_stops_an_offer_but_not_an_acceptance() {
        let (mut esc, _) = Escalation::start(path(), t(0));
        let nurse = Actor::Staff(staff("nurse"));
        assert_eq!(esc.cancel(t(3), nurse.clone()).len(), 1);
        assert_eq!(esc.state(), EscalationState::Cancelled);
        assert!(esc.tick(t(1_000)).is_empty());
        let (mut esc, _) = Escalation::start(path(), t(0));
        esc.respond(t(1), &staff("nurse"), Response::Accept)
            .unwrap();
        assert!(esc.cancel(t(3), nurse).is_empty());
    }

    #[test]
    fn invalid_paths_are_refused() {
        assert_eq!(EscalationPath::new(vec![]), Err(EscalationError::EmptyPath));
        let step = |ttl| EscalationStep {
            recipient: staff("a"),
            ttl,
        };
        let zero = EscalationPath::new(vec![step(Duration::from_secs(1)), step(Duration::ZERO)]);
        assert_eq!(zero, Err(EscalationError::ZeroTtl { step: 1 }));
        let long = vec![step(Duration::from_secs(1)); 21];
        let err = EscalationPath::new(long).unwrap_err();
        assert_eq!(err, EscalationError::TooManySteps { count: 21, max: 20 });
    }
}
