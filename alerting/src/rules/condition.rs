//! The on-delay, hysteresis and off-delay state machine every rule kind shares.
//!
//! The rule decides, for each valid value, whether it breaches (and which way)
//! and whether it counts as recovered from a given breach; this machine decides
//! when that becomes a transition. States and invariants are in the [`rules`]
//! module documentation.
//!
//! [`rules`]: crate::rules

use collector::Quality;

use super::{Breach, Timing};
use crate::time::Timestamp;

/// Where one (bed, rule) condition stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConditionState {
    /// No breach seen.
    #[default]
    Normal,
    /// A breach is seen but has not yet held for the on-delay.
    Pending {
        /// Which way.
        breach: Breach,
        /// When the breach was first seen.
        since: Timestamp,
    },
    /// The condition is present: a `Started` transition was returned.
    Active {
        /// Which way.
        breach: Breach,
        /// When the breach was first seen.
        since: Timestamp,
    },
    /// The value has recovered but not yet for the off-delay.
    Clearing {
        /// Which way.
        breach: Breach,
        /// When the breach was first seen.
        since: Timestamp,
        /// When the recovery was first seen.
        recovering_since: Timestamp,
    },
}

/// A change of a condition, for the alarm lifecycle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transition {
    /// The breach held for the on-delay: the alarm condition starts.
    Started {
        /// Which way.
        breach: Breach,
        /// When the breach was first seen.
        since: Timestamp,
        /// The time of the sample that completed the on-delay.
        at: Timestamp,
        /// That sample's value.
        value: f64,
        /// That sample's quality flags (questionable values do raise).
        quality: Quality,
    },
    /// The recovery held for the off-delay, or the value breached the other
    /// side: the alarm condition ends.
    Cleared {
        /// Which way the condition was.
        breach: Breach,
        /// The time of the sample that ended it.
        at: Timestamp,
        /// That sample's value.
        value: f64,
    },
}

/// One valid sample as the rule judged it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reading {
    pub(crate) at: Timestamp,
    pub(crate) value: f64,
    pub(crate) quality: Quality,
    /// The breach this value shows, if any.
    pub(crate) breach: Option<Breach>,
}

/// The state machine of one (bed, rule) condition.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    timing: Timing,
    state: ConditionState,
}

impl Condition {
    pub(crate) fn new(timing: Timing) -> Self {
        Self {
            timing,
            state: ConditionState::Normal,
        }
    }

    pub(crate) fn state(&self) -> ConditionState {
        self.state
    }

    /// Moves the machine by one valid reading. `recovered(b)` says whether the
    /// reading's value counts as recovered from breach `b`.
    pub(crate) fn step(
        &mut self,
        r: &Reading,
        recovered: impl Fn(Breach) -> bool,
    ) -> Vec<Transition> {
        let mut out = Vec::new();
        self.state = match self.state {
            ConditionState::Normal => self.begin(r, &mut out),
            ConditionState::Pending { breach, since } if r.breach == Some(breach) => {
                self.confirm(breach, since, r, &mut out)
            }
            ConditionState::Pending { .. } => self.begin(r, &mut out),
            ConditionState::Active { breach, since } => {
                let held = Held::new(breach, since, r.at);
                self.hold(held, r, recovered, &mut out)
            }
            ConditionState::Clearing {
                breach,
                since,
                recovering_since,
            } => {
                let held = Held::new(breach, since, recovering_since);
                self.hold(held, r, recovered, &mut out)
            }
        };
        out
    }

    /// From Normal: no breach stays Normal; a breach starts at once with a zero
    /// on-delay, else becomes Pending.
    fn begin(&self, r: &Reading, out: &mut Vec<Transition>) -> ConditionState {
        match r.breach {
            None => ConditionState::Normal,
            Some(breach) if self.timing.on_delay.is_zero() => {
                out.push(started(breach, r.at, r));
                ConditionState::Active {
                    breach,
                    since: r.at,
                }
            }
            Some(breach) => ConditionState::Pending {
                breach,
                since: r.at,
            },
        }
    }

    /// From Pending with the same breach again: Active once it held long enough.
    fn confirm(
        &self,
        breach: Breach,
        since: Timestamp,
        r: &Reading,
        out: &mut Vec<Transition>,
    ) -> ConditionState {
        if r.at.saturating_since(since) < self.timing.on_delay {
            return ConditionState::Pending { breach, since };
        }
        out.push(started(breach, since, r));
        ConditionState::Active { breach, since }
    }

    /// From Active or Clearing.
    fn hold(
        &self,
        held: Held,
        r: &Reading,
        recovered: impl Fn(Breach) -> bool,
        out: &mut Vec<Transition>,
    ) -> ConditionState {
        let Held {
            breach,
            since,
            recovering_since,
        } = held;
        match r.breach {
            Some(other) if other != breach => {
                out.push(cleared(breach, r));
                self.begin(r, out)
            }
            _ if recovered(breach) => {
                if r.at.saturating_since(recovering_since) < self.timing.off_delay {
                    return ConditionState::Clearing {
                        breach,
                        since,
                        recovering_since,
                    };
                }
                out.push(cleared(breach, r));
                ConditionState::Normal
            }
            _ => ConditionState::Active { breach, since },
        }
    }
}

/// A present condition, and since when it would count as recovering if the
/// current reading is a recovery.
#[derive(Debug, Clone, Copy)]
struct Held {
    breach: Breach,
    since: Timestamp,
    recovering_since: Timestamp,
}

impl Held {
    fn new(breach: Breach, since: Timestamp, recovering_since: Timestamp) -> Self {
        Self {
            breach,
            since,
            recovering_since,
        }
    }
}

fn started(breach: Breach, since: Timestamp, r: &Reading) -> Transition {
    Transition::Started {
        breach,
        since,
        at: r.at,
        value: r.value,
        quality: r.quality,
    }
}

fn cleared(breach: Breach, r: &Reading) -> Transition {
    Transition::Cleared {
        breach,
        at: r.at,
        value: r.value,
    }
}
