//! The API's migrations, applied after the collector's by
//! `collector::schema::migrate_with`. Versions 2000 to 2999 belong to this crate.

use collector::schema::Migration;

/// The non-owner role every request's queries run as (see [`crate::db`]).
pub const API_ROLE: &str = "healthsphere_api";

/// Every migration of the API, in order.
///
/// 2003 needs the alerting store's `alarm_events`: apply
/// `alerting::store::MIGRATIONS` in the same `migrate_with` call.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 2001,
        name: "tenants, users, sessions, audit log, row-level security",
        sql: include_str!("../migrations/2001_identity_audit.sql"),
    },
    Migration {
        version: 2002,
        name: "patients with sealed identifiers, admissions to beds",
        sql: include_str!("../migrations/2002_patients_admissions.sql"),
    },
    Migration {
        version: 2003,
        name: "alarm log readable by the API, per tenant",
        sql: include_str!("../migrations/2003_alarm_history.sql"),
    },
    Migration {
        version: 2004,
        name: "appointments with FHIR statuses and their status history",
        sql: include_str!("../migrations/2004_appointments.sql"),
    },
    Migration {
        version: 2005,
        name: "ward stock of supplies and medicines, with its movement ledger",
        sql: include_str!("../migrations/2005_inventory.sql"),
    },
    Migration {
        version: 2006,
        name: "staff messages with sealed text, per-reader receipts",
        sql: include_str!("../migrations/2006_staff_messages.sql"),
    },
    Migration {
        version: 2007,
        name: "foreign keys that carry the tenant",
        sql: include_str!("../migrations/2007_tenant_bound_keys.sql"),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_stay_in_the_crate_range_and_increase() {
        assert!(MIGRATIONS.iter().all(|m| (2000..3000).contains(&m.version)));
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version);
        }
    }
}
