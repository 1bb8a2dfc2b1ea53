//! Login, refresh rotation, reuse detection, logout, timeouts, throttling,
//! token forgery, TOTP and break-the-glass, through the router.

use axum::http::{Method, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use dashboard_api::auth::totp;
use dashboard_api::config::AuthConfig;
use dashboard_api::roles::Role;
use serde_json::{json, Value};

use crate::support::{cheap_config, code, env};

async fn refresh(env: &crate::support::Env, token: &str) -> (StatusCode, Value) {
    env.call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({ "refresh_token": token })),
    )
    .await
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let Some(env) = env("session_rotation", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    let (status, first) = env.login_full("st-mary", "ann", None).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let rt1 = first["refresh_token"].as_str().unwrap();
    let (status, second) = refresh(&env, rt1).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let rt2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2);
    let at2 = second["access_token"].as_str().unwrap();
    assert_eq!(
        env.call(Method::GET, "/api/v1/me", Some(at2), None).await.0,
        StatusCode::OK
    );

    // The first token again: theft. The family dies, the thief's and the
    // owner's tokens alike.
    let (status, body) = refresh(&env, rt1).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "session_ended")
    );
    assert_eq!(refresh(&env, rt2).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = env.call(Method::GET, "/api/v1/me", Some(at2), None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "session_ended")
    );
    let reason: String = env
        .owner
        .query_one("SELECT revoke_reason FROM session_families", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason, "refresh_token_reuse");
    // Made-up tokens, and tokens naming another tenant, are refused alike.
    for bogus in ["st-mary~AAAA", "nonsense", "st-john~AAAA"] {
        assert_eq!(refresh(&env, bogus).await.0, StatusCode::UNAUTHORIZED);
    }
    env.done().await;
}

#[tokio::test]
async fn logout_idle_timeout_and_absolute_lifetime_end_sessions() {
    let Some(env) = env("session_end", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    let (_, a) = env.login_full("st-mary", "ann", None).await;
    let at = a["access_token"].as_str().unwrap();
    let (status, _) = env
        .call(Method::POST, "/api/v1/auth/logout", Some(at), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        env.call(Method::GET, "/api/v1/me", Some(at), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&env, a["refresh_token"].as_str().unwrap()).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Idle: the last request was longer ago than idle_timeout_secs.
    let (_, b) = env.login_full("st-mary", "ann", None).await;
    let bt = b["access_token"].as_str().unwrap();
    assert_eq!(
        env.call(Method::GET, "/api/v1/me", Some(bt), None).await.0,
        StatusCode::OK
    );
    env.owner
        .execute(
            "UPDATE session_families SET last_used_at = now() - interval '31 minutes'
             WHERE revoked_at IS NULL",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        env.call(Method::GET, "/api/v1/me", Some(bt), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&env, b["refresh_token"].as_str().unwrap()).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Absolute: active, but past its lifetime.
    let (_, c) = env.login_full("st-mary", "ann", None).await;
    let ct = c["access_token"].as_str().unwrap();
    env.owner
        .execute(
            "UPDATE session_families SET absolute_expires_at = now() - interval '1 second'
             WHERE revoked_at IS NULL",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        env.call(Method::GET, "/api/v1/me", Some(ct), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = refresh(&env, c["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let reasons: Vec<String> = env
        .owner
        .query(
            "SELECT revoke_reason FROM session_families ORDER BY created_at",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(reasons, ["logout", "idle_timeout", "absolute_lifetime"]);
    env.done().await;
}

#[tokio::test]
async fn errors_do_not_reveal_accounts_and_throttling_holds() {
    let Some(env) = env("session_throttle", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    let wrong =
        |user: &str| json!({"tenant": "st-mary", "username": user, "password": "wrong password"});
    let (s1, unknown) = env
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(wrong("nobody")),
        )
        .await;
    let (s2, bad_pw) = env
        .call(Method::POST, "/api/v1/auth/login", None, Some(wrong("ann")))
        .await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        unknown, bad_pw,
        "same answer for unknown account and bad password"
    );

    for _ in 0..4 {
        env.call(Method::POST, "/api/v1/auth/login", None, Some(wrong("ann")))
            .await;
    }
    // Five failures: now even the right password is refused without a check.
    let (status, body) = env.login_full("st-mary", "ann", None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "throttled")
    );
    // Other accounts are not locked by ann's failures.
    env.user("st-mary", "bea", &[Role::Nurse]).await;
    assert_eq!(
        env.login_full("st-mary", "bea", None).await.0,
        StatusCode::OK
    );
    let throttled: i64 = env
        .owner
        .query_one(
            "SELECT count(*) FROM audit_log WHERE event = 'auth.login' AND reason = 'throttled'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(throttled, 1);
    env.done().await;
}

#[tokio::test]
async fn forged_tampered_and_malformed_requests_are_refused() {
    let Some(env) = env("session_forgery", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    let at = env.login("st-mary", "ann").await;
    let parts: Vec<&str> = at.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["roles"] = json!(["administrator"]);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    claims["exp"] = json!(1);
    let expired_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    for forged in [
        format!("{}.{body}.{}", parts[0], parts[2]),
        format!("{none_header}.{body}."),
        format!("{}.{expired_body}.{}", parts[0], parts[2]),
        "garbage".to_owned(),
    ] {
        let (status, b) = env
            .call(Method::GET, "/api/v1/audit", Some(&forged), None)
            .await;
        assert_eq!(
            (status, code(&b)),
            (StatusCode::UNAUTHORIZED, "unauthenticated")
        );
    }
    let (status, b) = env.call(Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );

    // Validation names every bad field at once.
    let (status, b) = env
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"tenant": "Bad Tenant", "password": ""})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = b["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["tenant", "username", "password"], "{b}");
    let (status, b) = env
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"extra": 1})),
        )
        .await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::BAD_REQUEST, "validation_failed"),
        "{b}"
    );
    env.done().await;
}

fn base32_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32"),
        };
        buf = (buf << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn roles_requiring_mfa_must_enrol_and_then_use_it() {
    let config = AuthConfig {
        mfa_required_roles: vec![Role::Administrator],
        ..cheap_config()
    };
    let Some(env) = env("session_mfa", config).await else {
        return;
    };
    env.user("st-mary", "root", &[Role::Administrator]).await;
    let (_, first) = env.login_full("st-mary", "root", None).await;
    assert_eq!(first["mfa_enrolment_required"], true);
    let at = first["access_token"].as_str().unwrap();
    let (status, b) = env.call(Method::GET, "/api/v1/audit", Some(at), None).await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::FORBIDDEN, "mfa_enrolment_required")
    );

    let (status, enrol) = env
        .call(Method::POST, "/api/v1/auth/totp/enrol", Some(at), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{enrol}");
    let uri = enrol["provisioning_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/HealthSphere:root%40st-mary?secret="),
        "{uri}"
    );
    let secret = base32_decode(enrol["secret"].as_str().unwrap());
    let stored: Vec<u8> = env
        .owner
        .query_one("SELECT totp_sealed FROM users WHERE username = 'root'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        !stored.windows(secret.len()).any(|w| w == secret),
        "the secret is sealed at rest"
    );
    let (status, b) = env
        .call(
            Method::POST,
            "/api/v1/auth/totp/confirm",
            Some(at),
            Some(json!({"code": "000000"})),
        )
        .await;
    // (A one-in-a-million chance that 000000 is the current code.)
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
    let now_code = format!("{:06}", totp::totp(&secret, now_secs(), 6));
    let (status, confirmed) = env
        .call(
            Method::POST,
            "/api/v1/auth/totp/confirm",
            Some(at),
            Some(json!({"code": now_code})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    let upgraded = confirmed["tokens"]["access_token"].as_str().unwrap();
    assert_eq!(
        env.call(Method::GET, "/api/v1/audit", Some(upgraded), None)
            .await
            .0,
        StatusCode::OK
    );

    // From now on the password alone is not enough, a used code does not
    // work twice, and each recovery code works once.
    let (status, b) = env.login_full("st-mary", "root", None).await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::UNAUTHORIZED, "mfa_required")
    );
    let (status, _) = env.login_full("st-mary", "root", Some(&now_code)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "replayed code");
    let recovery = confirmed["recovery_codes"][0].as_str().unwrap();
    let (status, b) = env.login_full("st-mary", "root", Some(recovery)).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["mfa_enrolment_required"], false);
    assert_eq!(
        env.login_full("st-mary", "root", Some(recovery)).await.0,
        StatusCode::UNAUTHORIZED
    );
    env.done().await;
}

#[tokio::test]
async fn break_the_glass_needs_a_reason_and_is_flagged() {
    let Some(env) = env("session_btg", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "phil", &[Role::Pharmacist]).await;
    let at = env.login("st-mary", "phil").await;
    let url = "/api/v1/beds/bed-1/vitals/latest";
    let (status, b) = env.call(Method::GET, url, Some(&at), None).await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::FORBIDDEN, "break_glass_required")
    );
    let (status, b) = env
        .call(
            Method::POST,
            "/api/v1/auth/break-glass",
            Some(&at),
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["errors"][0]["field"], "reason");
    let (status, b) = env
        .call(
            Method::POST,
            "/api/v1/auth/break-glass",
            Some(&at),
            Some(json!({"reason": "code blue in bed 1, no nurse available", "duration_secs": 999_999})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["expires_in"], 3600, "capped at break_glass_max_secs");
    assert_eq!(
        env.call(Method::GET, url, Some(&at), None).await.0,
        StatusCode::OK
    );
    let flagged: Vec<(String, bool, Option<String>)> = env
        .owner
        .query(
            "SELECT event, break_glass, reason FROM audit_log
             WHERE event IN ('auth.break_glass.start', 'vitals.latest.read') ORDER BY seq",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let reason = Some("code blue in bed 1, no nurse available".to_owned());
    assert_eq!(
        flagged,
        [
            ("auth.break_glass.start".to_owned(), true, reason.clone()),
            ("vitals.latest.read".to_owned(), true, reason),
        ]
    );
    // Time-bounded: once the grant has passed, access is refused again.
    env.owner
        .execute(
            "UPDATE session_families SET break_glass_until = now() - interval '1 second'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        env.call(Method::GET, url, Some(&at), None).await.0,
        StatusCode::FORBIDDEN
    );
    env.done().await;
}
