//! Roles, permissions and the one matrix that decides every route.
//!
//! Every route of the API is listed in [`crate::routes::ROUTES`] with the
//! [`Permission`] it needs; [`access`] says what each role may do with each
//! permission. The authorisation middleware consults only these two, and a
//! router test walks every route for every role against them.

use serde::{Deserialize, Serialize};

/// A staff role. A user has one or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Users, configuration, the audit log. Not clinical data.
    Administrator,
    /// Clinical data of patients.
    Physician,
    /// Clinical data of patients.
    Nurse,
    /// A nurse who also runs the ward: devices on it.
    ChargeNurse,
    /// Devices, profiles and adapter health; no patient data.
    BiomedicalEngineer,
    /// Medication; patient vitals only in an emergency (break-the-glass).
    Pharmacist,
    /// Billing; no clinical data.
    BillingClerk,
    /// Registration and scheduling; no clinical data.
    FrontDesk,
}

impl Role {
    /// Every role, for tests and documentation.
    pub const ALL: [Self; 8] = [
        Self::Administrator,
        Self::Physician,
        Self::Nurse,
        Self::ChargeNurse,
        Self::BiomedicalEngineer,
        Self::Pharmacist,
        Self::BillingClerk,
        Self::FrontDesk,
    ];

    /// The name used in tokens, the database and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Administrator => "administrator",
            Self::Physician => "physician",
            Self::Nurse => "nurse",
            Self::ChargeNurse => "charge_nurse",
            Self::BiomedicalEngineer => "biomedical_engineer",
            Self::Pharmacist => "pharmacist",
            Self::BillingClerk => "billing_clerk",
            Self::FrontDesk => "front_desk",
        }
    }

    /// The role named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// No authentication: liveness, readiness, metrics, login, refresh.
    Public,
    /// Any signed-in user, for their own session (logout, TOTP enrolment).
    /// Allowed before the second factor is set up.
    OwnSession,
    /// Any signed-in user.
    Authenticated,
    /// Start break-the-glass access.
    BreakGlass,
    /// Read patients' vital signs.
    VitalsRead,
    /// Read devices and adapter health.
    DevicesRead,
    /// Validate and upload device profiles; reload the device set.
    DevicesManage,
    /// Read and export the audit log.
    AuditRead,
    /// Create, change and delete users.
    UsersManage,
    /// Read patients' identity and demographics (MRN, name, date of birth)
    /// and their admissions (bed and times); no clinical data.
    PatientsRead,
    /// Register a patient.
    PatientsRegister,
    /// Admit a patient to a bed and discharge them.
    AdmissionsManage,
    /// See open alarms (technical ones only, without [`Self::AlarmsAct`]).
    AlarmsRead,
    /// Acknowledge, silence and answer alarms.
    AlarmsAct,
    /// Send staff messages and read those the caller may see (see
    /// [`crate::api::messages`] for which ones).
    MessagesUse,
    /// See ward stock: items, their levels and movements.
    InventoryRead,
    /// Create, change and delete stock items; record receipts, adjustments
    /// and disposals. Receives `inventory:stock:low`.
    InventoryManage,
    /// Record issues (stock taken for use) and returns.
    InventoryIssue,
    /// See appointments: who is booked with which service, when, and their
    /// status. Receives `appointment:status:change`.
    AppointmentsRead,
    /// Book appointments and change their status.
    AppointmentsManage,
}

/// What a role may do with a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Allowed.
    Allow,
    /// Allowed only during break-the-glass access, and flagged in the audit
    /// log.
    BreakGlass,
    /// Refused.
    Deny,
}

/// The permission matrix.
pub fn access(role: Role, permission: Permission) -> Access {
    use Access::{Allow, BreakGlass as Btg, Deny};
    use Role::*;
    match permission {
        Permission::Public | Permission::OwnSession | Permission::Authenticated => Allow,
        Permission::BreakGlass => match role {
            Physician | Nurse | ChargeNurse | Pharmacist => Allow,
            _ => Deny,
        },
        Permission::VitalsRead => match role {
            Physician | Nurse | ChargeNurse => Allow,
            Pharmacist => Btg,
            Administrator | BiomedicalEngineer | BillingClerk | FrontDesk => Deny,
        },
        Permission::DevicesRead => match role {
            BiomedicalEngineer | ChargeNurse | Administrator => Allow,
            _ => Deny,
        },
        // Changing what the gateway polls is the engineers' job alone.
        Permission::DevicesManage => match role {
            BiomedicalEngineer => Allow,
            _ => Deny,
        },
        // Identity and where the patient lies. Clinicians and pharmacists
        // need it to treat and dispense to the right person; front desk
        // registers and admits; billing clerks need the name, MRN and the
        // admission dates to bill the stay (HIPAA "payment", minimum
        // necessary: they still get no vitals). Administrators and
        // biomedical engineers run users and devices, not patients.
        Permission::PatientsRead => match role {
            Physician | Nurse | ChargeNurse | Pharmacist | BillingClerk | FrontDesk => Allow,
            Administrator | BiomedicalEngineer => Deny,
        },
        // Registration is front-desk work; nurses register too when a
        // patient arrives on the ward outside desk hours.
        Permission::PatientsRegister => match role {
            FrontDesk | Nurse | ChargeNurse => Allow,
            _ => Deny,
        },
        // Admission and discharge move a patient in and out of a bed, which
        // decides whose vitals the bed's samples are: front desk and the
        // nurses who receive the patient. Physicians decide a discharge but
        // the ward records it.
        Permission::AdmissionsManage => match role {
            FrontDesk | Nurse | ChargeNurse => Allow,
            _ => Deny,
        },
        // The bedside and escalation staff act on alarms. Biomedical
        // engineers see the open technical alarms (equipment, network,
        // spool), which name beds but carry no patient values; the list
        // hides the others from them. Administrators, pharmacists, billing
        // and front desk have no part in answering alarms.
        Permission::AlarmsRead => match role {
            Physician | Nurse | ChargeNurse | BiomedicalEngineer => Allow,
            Administrator | Pharmacist | BillingClerk | FrontDesk => Deny,
        },
        // Acknowledging or silencing is a clinical decision about a patient:
        // no break-the-glass path, a pharmacist in an emergency calls staff.
        Permission::AlarmsAct => match role {
            Physician | Nurse | ChargeNurse => Allow,
            Administrator | BiomedicalEngineer | Pharmacist | BillingClerk | FrontDesk => Deny,
        },
        // Every member of staff takes part in messaging: a nurse asks a
        // physician or the pharmacy, the front desk tells a ward of an
        // arrival. The route permission only opens the mailbox; which
        // messages a caller sees is decided per message (sender, recipient
        // user, holders of the recipient role, anyone for a ward message),
        // and the others answer 404.
        Permission::MessagesUse => Allow,
        // Ward stock holds no patient data. Pharmacists and nurses use it
        // daily; biomedical engineers look up consumables of the devices
        // they maintain; administrators see it to plan and oversee. Billing
        // and front desk have no part in ward supplies; physicians order
        // through prescriptions, not from the shelf.
        Permission::InventoryRead => match role {
            Pharmacist | Nurse | ChargeNurse | BiomedicalEngineer | Administrator => Allow,
            Physician | BillingClerk | FrontDesk => Deny,
        },
        // What the ward keeps, at what level, and corrections of the books
        // (receipts, counts, disposals of expired or damaged stock) are the
        // pharmacy's and the ward manager's responsibility, so they alone
        // are told when stock runs low.
        Permission::InventoryManage => match role {
            Pharmacist | ChargeNurse => Allow,
            _ => Deny,
        },
        // Taking stock for use and putting unused stock back is bedside
        // work: nurses and charge nurses, and pharmacists who dispense.
        Permission::InventoryIssue => match role {
            Nurse | ChargeNurse | Pharmacist => Allow,
            _ => Deny,
        },
        // Scheduling is front-desk work; clinicians see their clinic lists
        // and the ward's planned procedures; billing clerks link claims to
        // the visits that took place (HIPAA "payment"). Administrators,
        // biomedical engineers and pharmacists have no part in it.
        Permission::AppointmentsRead => match role {
            FrontDesk | Physician | Nurse | ChargeNurse | BillingClerk => Allow,
            Administrator | BiomedicalEngineer | Pharmacist => Deny,
        },
        // Booking, check-in and marking a visit done happen at the desk
        // and in the clinic room; billing only reads.
        Permission::AppointmentsManage => match role {
            FrontDesk | Physician | Nurse | ChargeNurse => Allow,
            Administrator | BiomedicalEngineer | Pharmacist | BillingClerk => Deny,
        },
        Permission::AuditRead | Permission::UsersManage => match role {
            Administrator => Allow,
            _ => Deny,
        },
    }
}

/// The best access any of `roles` has.
pub fn best_access(roles: &[Role], permission: Permission) -> Access {
    let all: Vec<Access> = roles.iter().map(|&r| access(r, permission)).collect();
    if all.contains(&Access::Allow) {
        Access::Allow
    } else if all.contains(&Access::BreakGlass) {
        Access::BreakGlass
    } else {
        Access::Deny
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip_and_match_serde() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn the_best_role_wins() {
        assert_eq!(best_access(&[], Permission::VitalsRead), Access::Deny);
        assert_eq!(
            best_access(
                &[Role::BillingClerk, Role::Pharmacist],
                Permission::VitalsRead
            ),
            Access::BreakGlass
        );
        assert_eq!(
            best_access(&[Role::Pharmacist, Role::Nurse], Permission::VitalsRead),
            Access::Allow
        );
    }
}
