//! Login sessions: login, refresh-token rotation, logout, the per-request
//! session check; TOTP enrolment (`mfa`) and break-the-glass
//! (`break_glass`) in their own files.
//!
//! A session is a refresh-token family. Every refresh uses up the presented
//! token and issues the next; a used token presented again means a copy is in
//! someone else's hands, so the whole family is revoked and both holders must
//! sign in again. A session ends after `idle_timeout_secs` without requests
//! (judged by the database clock at every request and refresh) and
//! `absolute_lifetime_secs` after login, whatever its activity.

use std::time::SystemTime;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::digest;
use serde::Serialize;
use tokio_postgres::Transaction;

use crate::audit::{self, Action, AuditEvent, Outcome};
use crate::auth::jwt::Claims;
use crate::auth::totp;
use crate::core::ApiCore;
use crate::db::{begin_tenant, query};
use crate::http::{Principal, RequestCtx};
use crate::problem::{ApiError, FieldError};
use crate::roles::Role;
use crate::tenant::TenantId;
use crate::time::unix_secs;

mod break_glass;
mod mfa;

pub use break_glass::{break_glass, BreakGlass};
pub use mfa::{totp_confirm, totp_enrol, Confirmed, Enrolment};

/// Separates the tenant from the secret in a refresh token.
const TOKEN_SEP: char = '~';

/// What a successful login or refresh returns.
#[derive(Debug, Serialize)]
pub struct TokenPair {
    /// The bearer token for API requests.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Exchange at `/api/v1/auth/refresh` for the next pair; usable once.
    pub refresh_token: String,
    /// Whether the user's roles require a second factor that is not yet
    /// enrolled: until it is, only enrolment and logout are allowed.
    pub mfa_enrolment_required: bool,
}

/// A login request, after validation.
#[derive(Debug)]
pub struct Login {
    /// The site.
    pub tenant: TenantId,
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
    /// A TOTP code or a recovery code, for users who enrolled.
    pub second_factor: Option<String>,
}

fn event(tenant: &TenantId, ctx: &RequestCtx, action: Action, name: &str) -> AuditEvent {
    let mut e = AuditEvent::new(tenant, action, name, "session");
    e.source_addr = ctx.addr.clone();
    e.request_id = Some(ctx.request_id.clone());
    e
}

fn sha256(b: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, b).as_ref().to_vec()
}

fn random_id(core: &ApiCore) -> Result<String, ApiError> {
    core.random(16)
        .map(|b| audit::hex(&b))
        .map_err(|_| ApiError::internal(&"random source failed"))
}

/// Records `e` in its own tenant transaction: for failures, whose request
/// transaction is rolled back.
async fn record(core: &ApiCore, tenant: &TenantId, e: &AuditEvent) -> Result<(), ApiError> {
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), tenant).await?;
    audit::append(&tx, e).await?;
    tx.commit().await.map_err(query("commit audit"))?;
    Ok(())
}

struct UserRow {
    id: String,
    display_name: String,
    password_hash: String,
    roles: Vec<Role>,
    totp_sealed: Option<Vec<u8>>,
    totp_enabled: bool,
    totp_last_step: i64,
    recovery_hashes: Vec<Vec<u8>>,
    disabled: bool,
}

fn parse_roles(names: &[String]) -> Vec<Role> {
    names.iter().filter_map(|n| Role::parse(n)).collect()
}

async fn load_user(tx: &Transaction<'_>, username: &str) -> Result<Option<UserRow>, ApiError> {
    let row = tx
        .query_opt(
            "SELECT id, display_name, password_hash, roles, totp_sealed, totp_enabled,
                    totp_last_step, recovery_hashes, disabled OR deleted_at IS NOT NULL
             FROM users WHERE username = $1 FOR UPDATE",
            &[&username],
        )
        .await
        .map_err(query("load a user"))?;
    Ok(row.map(|r| UserRow {
        id: r.get(0),
        display_name: r.get(1),
        password_hash: r.get(2),
        roles: parse_roles(&r.get::<_, Vec<String>>(3)),
        totp_sealed: r.get(4),
        totp_enabled: r.get(5),
        totp_last_step: r.get(6),
        recovery_hashes: r.get(7),
        disabled: r.get(8),
    }))
}

/// Signs a user in.
///
/// # Errors
///
/// 429 when the account or address is throttled, 401 `invalid_credentials`
/// for a wrong password, unknown or disabled account alike, 401
/// `mfa_required` when the second factor is missing or wrong.
pub async fn login(core: &ApiCore, req: Login, ctx: &RequestCtx) -> Result<TokenPair, ApiError> {
    let account = format!("{}/{}", req.tenant, req.username);
    let address = ctx.addr.clone().unwrap_or_default();
    let mut fail_event = event(&req.tenant, ctx, Action::E, "auth.login");
    fail_event.actor_name.clone_from(&req.username);
    fail_event.outcome = Outcome::MinorFailure;
    if let Some(wait) = core.throttled(&account, &address) {
        fail_event.reason = Some("throttled".to_owned());
        record(core, &req.tenant, &fail_event).await?;
        return Err(ApiError::throttled(wait.as_secs()));
    }

    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &req.tenant).await?;
    let user = load_user(&tx, &req.username).await?;
    let passwords = core.passwords.clone();
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let password = req.password.clone();
    let ok = tokio::task::spawn_blocking(move || passwords.verify(&password, stored.as_deref()))
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        _ => {
            drop(tx);
            core.login_failed(&account, &address);
            fail_event.reason = Some("invalid credentials".to_owned());
            record(core, &req.tenant, &fail_event).await?;
            return Err(ApiError::invalid_credentials());
        }
    };
    fail_event.actor_id = Some(user.id.clone());
    fail_event.actor_roles = user.roles.iter().map(|r| r.as_str().to_owned()).collect();

    let mfa = if user.totp_enabled {
        if !second_factor_ok(core, &tx, &user, req.second_factor.as_deref()).await? {
            drop(tx);
            core.login_failed(&account, &address);
            fail_event.reason = Some("second factor missing or wrong".to_owned());
            record(core, &req.tenant, &fail_event).await?;
            return Err(ApiError::mfa_required());
        }
        true
    } else {
        false
    };

    let family = random_id(core)?;
    tx.execute(
        "INSERT INTO session_families (id, tenant_id, user_id, absolute_expires_at, mfa)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5)",
        &[
            &family,
            &req.tenant.as_str(),
            &user.id,
            &(core.config.absolute_lifetime_secs as f64),
            &mfa,
        ],
    )
    .await
    .map_err(query("create a session"))?;
    let refresh_token = issue_refresh(core, &tx, &req.tenant, &family, 0).await?;
    let mut ok_event = fail_event.clone();
    ok_event.outcome = Outcome::Success;
    ok_event.reason = None;
    ok_event.entity_id = Some(family.clone());
    audit::append(&tx, &ok_event).await?;
    tx.commit().await.map_err(query("commit login"))?;
    core.login_succeeded(&account);
    tracing::info!(tenant = %req.tenant, user_id = %user.id, request_id = %ctx.request_id, "Login");
    let _ = user.display_name;
    Ok(token_pair(
        core,
        &req.tenant,
        &user.id,
        &family,
        &user.roles,
        mfa,
        refresh_token,
    ))
}

async fn second_factor_ok(
    core: &ApiCore,
    tx: &Transaction<'_>,
    user: &UserRow,
    presented: Option<&str>,
) -> Result<bool, ApiError> {
    let Some(code) = presented.map(str::trim) else {
        return Ok(false);
    };
    if code.len() == totp::DIGITS as usize {
        let Some(sealed) = &user.totp_sealed else {
            return Ok(false);
        };
        let secret = core
            .open(sealed, &user.id)
            .map_err(|_| ApiError::internal(&"a TOTP secret does not open"))?;
        let last = u64::try_from(user.totp_last_step).unwrap_or(0);
        let Some(step) = totp::verify(&secret, code, unix_secs(SystemTime::now()), last) else {
            return Ok(false);
        };
        tx.execute(
            "UPDATE users SET totp_last_step = $2 WHERE id = $1",
            &[&user.id, &i64::try_from(step).unwrap_or(i64::MAX)],
        )
        .await
        .map_err(query("record the TOTP step"))?;
        return Ok(true);
    }
    let digest = totp::recovery_digest(code);
    if !user.recovery_hashes.contains(&digest) {
        return Ok(false);
    }
    // A recovery code works once.
    tx.execute(
        "UPDATE users SET recovery_hashes = array_remove(recovery_hashes, $2) WHERE id = $1",
        &[&user.id, &digest],
    )
    .await
    .map_err(query("use up a recovery code"))?;
    Ok(true)
}

async fn issue_refresh(
    core: &ApiCore,
    tx: &Transaction<'_>,
    tenant: &TenantId,
    family: &str,
    generation: i32,
) -> Result<String, ApiError> {
    let secret = core
        .random(32)
        .map_err(|_| ApiError::internal(&"random source failed"))?;
    let token = format!("{tenant}{TOKEN_SEP}{}", URL_SAFE_NO_PAD.encode(&secret));
    tx.execute(
        "INSERT INTO refresh_tokens (token_hash, tenant_id, family_id, generation)
         VALUES ($1, $2, $3, $4)",
        &[
            &sha256(token.as_bytes()),
            &tenant.as_str(),
            &family,
            &generation,
        ],
    )
    .await
    .map_err(query("store a refresh token"))?;
    Ok(token)
}

fn token_pair(
    core: &ApiCore,
    tenant: &TenantId,
    user_id: &str,
    family: &str,
    roles: &[Role],
    mfa: bool,
    refresh_token: String,
) -> TokenPair {
    let now = unix_secs(SystemTime::now());
    let ttl = core.config.access_token_ttl_secs;
    let claims = Claims {
        sub: user_id.to_owned(),
        tid: tenant.as_str().to_owned(),
        sid: family.to_owned(),
        roles: roles.to_vec(),
        iat: now,
        exp: now + ttl,
        mfa,
    };
    TokenPair {
        access_token: core.jwt.sign(&claims),
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token,
        mfa_enrolment_required: !mfa && needs_mfa(core, roles),
    }
}

/// Whether any of `roles` must use a second factor.
pub fn needs_mfa(core: &ApiCore, roles: &[Role]) -> bool {
    roles
        .iter()
        .any(|r| core.config.mfa_required_roles.contains(r))
}

/// Exchanges a refresh token for the next pair.
///
/// # Errors
///
/// 401 `session_ended` for an unknown, used (the family is then revoked),
/// revoked or expired token.
pub async fn refresh(core: &ApiCore, token: &str, ctx: &RequestCtx) -> Result<TokenPair, ApiError> {
    let tenant = token
        .split_once(TOKEN_SEP)
        .and_then(|(t, _)| TenantId::parse(t).ok())
        .ok_or_else(ApiError::session_ended)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &tenant).await?;
    let row = tx
        .query_opt(
            "SELECT t.family_id, t.generation, t.used_at IS NOT NULL, f.user_id,
                    f.revoked_at IS NOT NULL,
                    f.last_used_at <= now() - make_interval(secs => $2),
                    f.absolute_expires_at <= now(), f.mfa, u.roles,
                    u.disabled OR u.deleted_at IS NOT NULL
             FROM refresh_tokens t
             JOIN session_families f ON f.id = t.family_id
             JOIN users u ON u.id = f.user_id
             WHERE t.token_hash = $1
             FOR UPDATE OF t, f",
            &[
                &sha256(token.as_bytes()),
                &(core.config.idle_timeout_secs as f64),
            ],
        )
        .await
        .map_err(query("look up a refresh token"))?;
    let Some(row) = row else {
        return Err(ApiError::session_ended());
    };
    let family: String = row.get(0);
    let generation: i32 = row.get(1);
    let user_id: String = row.get(3);
    let roles = parse_roles(&row.get::<_, Vec<String>>(8));
    let mut e = event(&tenant, ctx, Action::E, "auth.refresh");
    e.actor_id = Some(user_id.clone());
    e.actor_roles = roles.iter().map(|r| r.as_str().to_owned()).collect();
    e.entity_id = Some(family.clone());
    let ended = if row.get::<_, bool>(2) {
        Some("refresh_token_reuse")
    } else if row.get::<_, bool>(4) {
        Some("revoked")
    } else if row.get::<_, bool>(5) {
        Some("idle_timeout")
    } else if row.get::<_, bool>(6) {
        Some("absolute_lifetime")
    } else if row.get::<_, bool>(9) {
        Some("user_disabled")
    } else {
        None
    };
    if let Some(reason) = ended {
        revoke(&tx, &family, reason).await?;
        e.outcome = Outcome::MinorFailure;
        e.reason = Some(reason.to_owned());
        audit::append(&tx, &e).await?;
        tx.commit()
            .await
            .map_err(query("commit a refused refresh"))?;
        if reason == "refresh_token_reuse" {
            tracing::warn!(tenant = %tenant, session = %family, request_id = %ctx.request_id,
                "Refresh token reused; session revoked");
        }
        return Err(ApiError::session_ended());
    }
    tx.execute(
        "UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1",
        &[&sha256(token.as_bytes())],
    )
    .await
    .map_err(query("use up a refresh token"))?;
    tx.execute(
        "UPDATE session_families SET last_used_at = now() WHERE id = $1",
        &[&family],
    )
    .await
    .map_err(query("touch a session"))?;
    let next = issue_refresh(core, &tx, &tenant, &family, generation + 1).await?;
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit a refresh"))?;
    let mfa: bool = row.get(7);
    Ok(token_pair(
        core, &tenant, &user_id, &family, &roles, mfa, next,
    ))
}

async fn revoke(tx: &Transaction<'_>, family: &str, reason: &str) -> Result<(), ApiError> {
    tx.execute(
        "UPDATE session_families SET revoked_at = now(), revoke_reason = $2
         WHERE id = $1 AND revoked_at IS NULL",
        &[&family, &reason],
    )
    .await
    .map_err(query("revoke a session"))?;
    Ok(())
}

/// Revokes every live session of `user_id` (disabled or deleted user).
///
/// # Errors
///
/// On database failure.
pub async fn revoke_user(
    tx: &Transaction<'_>,
    user_id: &str,
    reason: &str,
) -> Result<u64, ApiError> {
    tx.execute(
        "UPDATE session_families SET revoked_at = now(), revoke_reason = $2
         WHERE user_id = $1 AND revoked_at IS NULL",
        &[&user_id, &reason],
    )
    .await
    .map_err(|e| query("revoke a user's sessions")(e).into())
}

/// Ends the caller's session.
///
/// # Errors
///
/// On database failure.
pub async fn logout(core: &ApiCore, who: &Principal) -> Result<(), ApiError> {
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    revoke(&tx, &who.session_id, "logout").await?;
    let mut e = who.event(Action::E, "auth.logout", "session");
    e.entity_id = Some(who.session_id.clone());
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit logout"))?;
    Ok(())
}

/// Activity is recorded at most this often per session, so the idle
/// timeout is exact to within this many seconds.
pub const ACTIVITY_GRANULARITY_SECS: f64 = 15.0;

/// A live session's break-the-glass state, from [`touch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    /// The reason given, while break-the-glass access is active.
    pub break_glass: Option<String>,
}

/// Checks that the session of `claims` is live (not revoked, not idle too
/// long, within its absolute lifetime) and records the activity.
///
/// # Errors
///
/// 401 `session_ended` otherwise.
pub async fn touch(
    core: &ApiCore,
    tenant: &TenantId,
    claims: &Claims,
) -> Result<SessionState, ApiError> {
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), tenant).await?;
    let row = tx
        .query_opt(
            // Reads the session, and writes last_used_at only when it is
            // older than ACTIVITY_GRANULARITY_SECS: most requests then run a
            // read-only transaction that needs no disk flush.
            "WITH s AS (
                 SELECT id, last_used_at,
                        CASE WHEN break_glass_until > now() THEN break_glass_reason END AS btg
                 FROM session_families
                 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL
                   AND last_used_at > now() - make_interval(secs => $3)
                   AND absolute_expires_at > now()),
             touched AS (
                 UPDATE session_families f SET last_used_at = now() FROM s
                 WHERE f.id = s.id
                   AND s.last_used_at < now() - make_interval(secs => $4))
             SELECT btg FROM s",
            &[
                &claims.sid,
                &claims.sub,
                &(core.config.idle_timeout_secs as f64),
                &ACTIVITY_GRANULARITY_SECS,
            ],
        )
        .await
        .map_err(query("check a session"))?;
    tx.commit().await.map_err(query("commit a session check"))?;
    match row {
        Some(r) => Ok(SessionState {
            break_glass: r.get(0),
        }),
        None => Err(ApiError::session_ended()),
    }
}
