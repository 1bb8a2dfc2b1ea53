//! Rotating the API secret: a site's sealed rows move to the new keys, its
//! sessions end, another site is untouched, and a wrong old secret changes
//! nothing.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use dashboard_api::config::ApiSecret;
use dashboard_api::core::ApiCore;
use dashboard_api::db::Pool;
use dashboard_api::rekey::{rekey, RekeyError};
use dashboard_api::roles::Role;
use serde_json::json;

use crate::support::{call, cheap_config, env, tenant, Env};

async fn sealed(env: &Env, site: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for q in [
        "SELECT name_sealed FROM patients WHERE tenant_id = $1 ORDER BY id",
        "SELECT body_sealed FROM staff_messages WHERE tenant_id = $1 ORDER BY id",
        "SELECT totp_sealed FROM users WHERE tenant_id = $1 AND totp_sealed IS NOT NULL",
    ] {
        for r in env.owner.query(q, &[&site]).await.unwrap() {
            out.push(r.get(0));
        }
    }
    out
}

#[tokio::test]
async fn a_rotation_reseals_one_site_and_ends_its_sessions() {
    let Some(mut env) = env("rekey", cheap_config()).await else {
        return;
    };
    let ann_id = env.user("st-mary", "ann", &[Role::Nurse]).await;
    env.user("st-john", "jo", &[Role::Nurse]).await;
    let ann = env.login("st-mary", "ann").await;
    let jo = env.login("st-john", "jo").await;
    let (status, p) = env
        .call(
            Method::POST,
            "/api/v1/patients",
            Some(&ann),
            Some(json!({"mrn": "R-1", "name": "Rosa", "birth_date": "1944-04-04"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let pid = p["id"].as_str().unwrap().to_owned();
    let (status, m) = env
        .call(
            Method::POST,
            "/api/v1/messages",
            Some(&ann),
            Some(
                json!({"to": {"user": ann_id}, "subject": "Rosa", "body": "turn at 4",
                        "priority": "routine", "patient_id": pid}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    let (status, _) = env
        .call(Method::POST, "/api/v1/auth/totp/enrol", Some(&ann), None)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    env.call(
        Method::POST,
        "/api/v1/patients",
        Some(&jo),
        Some(json!({"mrn": "J-1", "name": "Jon", "birth_date": "1950-01-01"})),
    )
    .await;
    let (mary_before, john_before) = (sealed(&env, "st-mary").await, sealed(&env, "st-john").await);
    assert_eq!(mary_before.len(), 3);

    let new_secret = ApiSecret::from_bytes(vec![6; 32]).unwrap();
    let new =
        Arc::new(ApiCore::new(cheap_config(), Pool::new(&env.db.url, 4), &new_secret).unwrap());
    let mary = tenant("st-mary");
    let core = Arc::clone(&env.core);
    assert!(matches!(
        rekey(&mut env.owner, &mary, &core, &core).await,
        Err(RekeyError::SameSecret)
    ));
    let report = rekey(&mut env.owner, &mary, &core, &new).await.unwrap();
    assert_eq!(
        (report.patients, report.messages, report.totp_secrets),
        (1, 1, 1)
    );
    assert!(report.sessions_revoked >= 1);
    let mary_after = sealed(&env, "st-mary").await;
    assert!(mary_before.iter().zip(&mary_after).all(|(a, b)| a != b));
    assert_eq!(sealed(&env, "st-john").await, john_before, "another site");

    // The old secret no longer opens St Mary's rows: a second rotation from
    // it stops at the first row and changes nothing.
    let again = rekey(&mut env.owner, &mary, &core, &new).await;
    assert!(
        matches!(again, Err(RekeyError::DoesNotOpen { .. })),
        "{again:?}"
    );
    assert_eq!(sealed(&env, "st-mary").await, mary_after);

    // Signed in again under the new secret, everything reads as before,
    // MRN lookups included; the old session is over.
    assert_eq!(
        env.call(Method::GET, "/api/v1/me", Some(&ann), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let router = dashboard_api::app(env.state.clone().with_core(Arc::clone(&new)));
    let (status, tokens) = call(
        &router,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"tenant": "st-mary", "username": "ann",
                    "password": crate::support::PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let ann = tokens["access_token"].as_str().unwrap();
    let (_, found) = call(
        &router,
        Method::GET,
        "/api/v1/patients?mrn=R-1",
        Some(ann),
        None,
    )
    .await;
    assert_eq!(found["items"][0]["name"], "Rosa", "{found}");
    let uri = format!("/api/v1/messages/{}", m["id"].as_str().unwrap());
    let (status, msg) = call(&router, Method::GET, &uri, Some(ann), None).await;
    assert_eq!(
        (status, &msg["body"]),
        (StatusCode::OK, &json!("turn at 4")),
        "{msg}"
    );
    let rotations: i64 = env
        .owner
        .query_one(
            "SELECT count(*) FROM audit_log WHERE event = 'secret.rotate' AND tenant_id = 'st-mary'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rotations, 1);
    env.done().await;
}
