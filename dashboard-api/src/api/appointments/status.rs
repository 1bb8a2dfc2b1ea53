//! The appointment status machine, without I/O.
//!
//! Statuses are the ten codes of FHIR R4 `Appointment.status`. FHIR does not
//! fix the transitions between them; these follow the flow a clinic runs
//! (and that Bahmni's appointment module enforces with its own names):
//! a request is proposed or pending, may wait on a waitlist, is booked, the
//! patient arrives and checks in, and the visit is fulfilled; or it is
//! cancelled, or the patient does not come (`noshow`). `fulfilled`,
//! `cancelled` and `noshow` are final: a new visit is a new appointment.
//! `entered-in-error` marks a record that should not have existed; it is
//! reachable from every other status and final.
//!
//! Simplifications: `arrived` and `checked-in` may come in either order or
//! alone (some clinics check in at a kiosk before anyone sees the patient,
//! others record arrival only); there is no undo of a status change, which a
//! clinic corrects by marking the appointment `entered-in-error` and booking
//! again.

use std::fmt;
use std::str::FromStr;

/// An appointment's status (FHIR R4 value set `appointmentstatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Requested, not yet confirmed by anyone.
    Proposed,
    /// Some participants have not yet accepted.
    Pending,
    /// Confirmed.
    Booked,
    /// The patient is here.
    Arrived,
    /// The visit took place.
    Fulfilled,
    /// Called off; the reason is recorded.
    Cancelled,
    /// The patient did not come.
    Noshow,
    /// The record should not have existed.
    EnteredInError,
    /// The patient has checked in.
    CheckedIn,
    /// Waiting for a free slot.
    Waitlist,
}

impl Status {
    /// Every status, in FHIR's order.
    pub const ALL: [Self; 10] = [
        Self::Proposed,
        Self::Pending,
        Self::Booked,
        Self::Arrived,
        Self::Fulfilled,
        Self::Cancelled,
        Self::Noshow,
        Self::EnteredInError,
        Self::CheckedIn,
        Self::Waitlist,
    ];

    /// Statuses a new appointment may start in.
    pub const INITIAL: [Self; 4] = [Self::Proposed, Self::Pending, Self::Booked, Self::Waitlist];

    /// The FHIR code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Pending => "pending",
            Self::Booked => "booked",
            Self::Arrived => "arrived",
            Self::Fulfilled => "fulfilled",
            Self::Cancelled => "cancelled",
            Self::Noshow => "noshow",
            Self::EnteredInError => "entered-in-error",
            Self::CheckedIn => "checked-in",
            Self::Waitlist => "waitlist",
        }
    }

    /// Whether no further change is allowed.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Fulfilled | Self::Cancelled | Self::Noshow | Self::EnteredInError
        )
    }

    /// Whether an appointment in `self` may move to `to`.
    pub fn may_become(self, to: Self) -> bool {
        use Status::*;
        if self.is_final() {
            return false;
        }
        if to == EnteredInError || to == Cancelled {
            return true;
        }
        match self {
            Proposed => matches!(to, Pending | Booked | Waitlist),
            Pending => matches!(to, Booked | Waitlist),
            Waitlist => to == Booked,
            Booked => matches!(to, Arrived | CheckedIn | Noshow),
            Arrived => matches!(to, CheckedIn | Fulfilled),
            CheckedIn => matches!(to, Arrived | Fulfilled),
            Fulfilled | Cancelled | Noshow | EnteredInError => false,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|x| x.as_str() == s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
        }
        assert!("Booked".parse::<Status>().is_err());
    }

    #[test]
    fn a_visit_runs_from_booking_to_fulfilment() {
        let path = [
            Proposed, Pending, Waitlist, Booked, Arrived, CheckedIn, Fulfilled,
        ];
        for pair in path.windows(2) {
            assert!(pair[0].may_become(pair[1]), "{} -> {}", pair[0], pair[1]);
        }
        assert!(Booked.may_become(CheckedIn) && CheckedIn.may_become(Arrived));
    }

    #[test]
    fn final_statuses_stay_and_steps_are_not_skipped() {
        for from in [Fulfilled, Cancelled, Noshow, EnteredInError] {
            for to in Status::ALL {
                assert!(!from.may_become(to), "{from} -> {to}");
            }
        }
        assert!(!Booked.may_become(Fulfilled), "the patient never came in");
        assert!(!Proposed.may_become(Arrived));
        assert!(!Arrived.may_become(Noshow));
        assert!(!Waitlist.may_become(Pending));
        assert!(!Booked.may_become(Booked));
    }

    #[test]
    fn every_open_status_can_be_cancelled_or_marked_in_error() {
        for from in Status::ALL.into_iter().filter(|s| !s.is_final()) {
            assert!(from.may_become(Cancelled) && from.may_become(EnteredInError));
        }
    }
}
