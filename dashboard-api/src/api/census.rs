//! The alerting runtime learns the bed census from the API's admissions.
//!
//! Alerting needs to know who lies where for two things: an admitted bed
//! that sends no data is a technical alarm (`unmonitored`), and a
//! clinician's limit override for a patient applies to the bed the patient
//! is in. So every admission and discharge made through the API is passed
//! to the runtime of the gateway's site once its transaction has committed,
//! and at start the gateway hands the runtime the site's current admissions
//! ([`restore`]).
//!
//! Limits: the runtime is told after the commit, so a gateway that stops
//! between the two learns the change at its next start. At start, an
//! admission or discharge made while the census is being loaded may be
//! overtaken by the loaded state until the next restart; the window is the
//! one query. Admissions of other sites served by the same database are
//! not the runtime's and are ignored.

use std::time::Duration;

use super::core;
use crate::db::{begin_tenant, query};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::tenant::TenantId;

/// How long [`restore`] waits between attempts while the database is down.
pub const RETRY: Duration = Duration::from_secs(5);

/// A change of the census.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// The patient now lies in the bed.
    Admitted {
        /// The bed.
        bed: String,
        /// The patient.
        patient: String,
    },
    /// The bed's patient left.
    Discharged {
        /// The bed.
        bed: String,
    },
}

/// Passes a committed change of `tenant`'s census to the alerting runtime,
/// when the gateway runs one for that site. Never fails the request: a
/// stopped runtime is logged.
pub(crate) async fn tell(state: &AppState, tenant: &TenantId, change: Change) {
    let Some(alerting) = state.alerting.as_ref() else {
        return;
    };
    if alerting.tenant() != tenant.as_str() {
        return;
    }
    let handle = alerting.handle();
    let told = match &change {
        Change::Admitted { bed, patient } => handle.admit(bed, Some(patient)).await,
        Change::Discharged { bed } => handle.discharge(bed).await,
    };
    if told.is_err() {
        tracing::warn!(?change, "Alerting stopped: census change not passed on");
    }
}

/// The site's current admissions, as (bed, patient).
async fn current(state: &AppState, tenant: &TenantId) -> Result<Vec<(String, String)>, ApiError> {
    let core = core(state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), tenant).await?;
    let rows = tx
        .query(
            "SELECT bed_id, patient_id FROM admissions
             WHERE discharged_at IS NULL AND admitted_at <= now()",
            &[],
        )
        .await
        .map_err(query("load the current admissions"))?;
    tx.commit().await.map_err(query("commit"))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Hands the alerting runtime the site's current admissions, trying again
/// every [`RETRY`] while the database cannot be reached, until it succeeds
/// or the API shuts down. Returns how many beds were admitted. Does nothing
/// without an alerting runtime or an API core.
pub async fn restore(state: &AppState) -> usize {
    let Some(alerting) = state.alerting.as_ref() else {
        return 0;
    };
    let Ok(tenant) = TenantId::parse(alerting.tenant()) else {
        return 0;
    };
    if state.core.is_none() {
        return 0;
    }
    loop {
        match current(state, &tenant).await {
            Ok(beds) => {
                let n = beds.len();
                for (bed, patient) in beds {
                    tell(state, &tenant, Change::Admitted { bed, patient }).await;
                }
                tracing::info!(beds = n, "Alerting census loaded from admissions");
                return n;
            }
            Err(e) if !state.is_shutting_down() => {
                tracing::warn!(code = e.code(), "Census not loaded; trying again");
                tokio::time::sleep(RETRY).await;
            }
            Err(_) => return 0,
        }
    }
}
