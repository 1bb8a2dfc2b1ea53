//! Break-the-glass: time-bounded emergency access, flagged in the audit log.

use serde::Serialize;

use super::*;

/// What break-the-glass returns.
#[derive(Debug, Serialize)]
pub struct BreakGlass {
    /// Seconds the emergency access lasts.
    pub expires_in: u64,
}

/// Starts break-the-glass access for the caller's session: for
/// `duration_secs` (capped at `break_glass_max_secs`), routes whose matrix
/// entry is break-the-glass are allowed, and each such access is flagged in
/// the audit log with `reason`.
///
/// # Errors
///
/// On database failure.
pub async fn break_glass(
    core: &ApiCore,
    who: &Principal,
    reason: &str,
    duration_secs: u64,
) -> Result<BreakGlass, ApiError> {
    let secs = duration_secs.min(core.config.break_glass_max_secs);
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    tx.execute(
        "UPDATE session_families
         SET break_glass_until = now() + make_interval(secs => $2), break_glass_reason = $3
         WHERE id = $1",
        &[&who.session_id, &(secs as f64), &reason],
    )
    .await
    .map_err(query("start break-the-glass"))?;
    let mut e = who.event(Action::E, "auth.break_glass.start", "session");
    e.entity_id = Some(who.session_id.clone());
    e.break_glass = true;
    e.reason = Some(reason.to_owned());
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit break-the-glass"))?;
    tracing::warn!(tenant = %who.tenant, user_id = %who.user_id, seconds = secs,
        "Break-the-glass access started");
    Ok(BreakGlass { expires_in: secs })
}
