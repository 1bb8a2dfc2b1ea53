//! TOTP enrolment of a signed-in user, and the token upgrade once it is
//! confirmed.

use serde::Serialize;

use super::*;

/// What enrolment returns: shown once.
#[derive(Debug, Serialize)]
pub struct Enrolment {
    /// The secret in base32, for typing into an app.
    pub secret: String,
    /// The `otpauth://` URI for a QR code.
    pub provisioning_uri: String,
}

/// Starts TOTP enrolment: a new secret, not yet active.
///
/// # Errors
///
/// 409 when TOTP is already enabled.
pub async fn totp_enrol(core: &ApiCore, who: &Principal) -> Result<Enrolment, ApiError> {
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let row = tx
        .query_one(
            "SELECT username, totp_enabled FROM users WHERE id = $1 FOR UPDATE",
            &[&who.user_id],
        )
        .await
        .map_err(query("load the user"))?;
    if row.get::<_, bool>(1) {
        return Err(ApiError::conflict("a second factor is already enrolled"));
    }
    let username: String = row.get(0);
    let secret =
        totp::new_secret(&core.rng).map_err(|_| ApiError::internal(&"random source failed"))?;
    let sealed = core
        .seal(&secret, &who.user_id)
        .map_err(|_| ApiError::internal(&"sealing failed"))?;
    tx.execute(
        "UPDATE users SET totp_sealed = $2 WHERE id = $1",
        &[&who.user_id, &sealed],
    )
    .await
    .map_err(query("store the TOTP secret"))?;
    audit::append(&tx, &who.event(Action::U, "auth.totp.enrol", "user")).await?;
    tx.commit().await.map_err(query("commit enrolment"))?;
    let account = format!("{username}@{}", who.tenant);
    Ok(Enrolment {
        secret: totp::base32(&secret),
        provisioning_uri: totp::provisioning_uri(&core.config.totp_issuer, &account, &secret),
    })
}

/// What confirming enrolment returns.
#[derive(Debug, Serialize)]
pub struct Confirmed {
    /// One-time recovery codes; shown once, stored only as digests.
    pub recovery_codes: Vec<String>,
    /// A new token pair for this session, now with the second factor.
    pub tokens: TokenPair,
}

/// Confirms enrolment with a first code: TOTP becomes required for this user,
/// recovery codes are issued, and the session counts as two-factor.
///
/// # Errors
///
/// 409 without a pending enrolment or when already enabled, 400 for a wrong
/// code.
pub async fn totp_confirm(
    core: &ApiCore,
    who: &Principal,
    code: &str,
) -> Result<Confirmed, ApiError> {
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let row = tx
        .query_one(
            "SELECT totp_sealed, totp_enabled, totp_last_step FROM users WHERE id = $1 FOR UPDATE",
            &[&who.user_id],
        )
        .await
        .map_err(query("load the user"))?;
    let sealed: Option<Vec<u8>> = row.get(0);
    let (Some(sealed), false) = (sealed, row.get::<_, bool>(1)) else {
        return Err(ApiError::conflict("no enrolment is pending"));
    };
    let secret = core
        .open(&sealed, &who.user_id)
        .map_err(|_| ApiError::internal(&"a TOTP secret does not open"))?;
    let last = u64::try_from(row.get::<_, i64>(2)).unwrap_or(0);
    let Some(step) = totp::verify(&secret, code, unix_secs(SystemTime::now()), last) else {
        return Err(ApiError::validation(vec![FieldError {
            field: "code".to_owned(),
            message: "is not the current code".to_owned(),
        }]));
    };
    let (codes, digests) =
        totp::new_recovery_codes(&core.rng).map_err(|_| ApiError::internal(&"random failed"))?;
    tx.execute(
        "UPDATE users SET totp_enabled = true, totp_last_step = $2, recovery_hashes = $3
         WHERE id = $1",
        &[
            &who.user_id,
            &i64::try_from(step).unwrap_or(i64::MAX),
            &digests,
        ],
    )
    .await
    .map_err(query("enable TOTP"))?;
    tx.execute(
        "UPDATE session_families SET mfa = true WHERE id = $1",
        &[&who.session_id],
    )
    .await
    .map_err(query("mark the session two-factor"))?;
    let refresh_token = rotate_for_upgrade(core, &tx, who).await?;
    audit::append(&tx, &who.event(Action::U, "auth.totp.confirm", "user")).await?;
    tx.commit()
        .await
        .map_err(query("commit TOTP confirmation"))?;
    let tokens = token_pair(
        core,
        &who.tenant,
        &who.user_id,
        &who.session_id,
        &who.roles,
        true,
        refresh_token,
    );
    Ok(Confirmed {
        recovery_codes: codes,
        tokens,
    })
}

/// Uses up the family's current refresh token and issues the next, so the
/// upgraded session continues with one valid token.
async fn rotate_for_upgrade(
    core: &ApiCore,
    tx: &Transaction<'_>,
    who: &Principal,
) -> Result<String, ApiError> {
    let generation: i32 = tx
        .query_one(
            "SELECT coalesce(max(generation), 0) FROM refresh_tokens WHERE family_id = $1",
            &[&who.session_id],
        )
        .await
        .map_err(query("read the refresh generation"))?
        .get(0);
    tx.execute(
        "UPDATE refresh_tokens SET used_at = now() WHERE family_id = $1 AND used_at IS NULL",
        &[&who.session_id],
    )
    .await
    .map_err(query("use up the refresh token"))?;
    issue_refresh(core, tx, &who.tenant, &who.session_id, generation + 1).await
}
