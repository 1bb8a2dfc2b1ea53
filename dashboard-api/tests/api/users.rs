//! User administration: ETag and If-Match, 412 on a stale write, soft
//! delete with 410 afterwards, audited role changes, tenant isolation.

use axum::http::{Method, StatusCode};
use dashboard_api::roles::Role;
use serde_json::json;

use crate::support::{cheap_config, code, env, send};

#[tokio::test]
async fn etags_guard_changes_and_deleted_users_are_gone() {
    let Some(env) = env("users_admin", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "root", &[Role::Administrator]).await;
    env.user("st-john", "john-root", &[Role::Administrator])
        .await;
    let root = env.login("st-mary", "root").await;

    let (status, tag, created) = send(
        &env,
        Method::POST,
        "/api/v1/users",
        &root,
        None,
        Some(json!({"username": "ann", "display_name": "Ann", "password": crate::support::PASSWORD, "roles": ["nurse"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let v1 = tag.unwrap();
    assert_eq!(v1, "\"v1\"");
    assert!(created.get("password_hash").is_none());
    let url = format!("/api/v1/users/{id}");
    let ann = env.login("st-mary", "ann").await;

    // Bad fields are all named; unknown roles are refused.
    let (status, _, b) = send(
        &env,
        Method::POST,
        "/api/v1/users",
        &root,
        None,
        Some(json!({"username": "", "password": "short", "roles": ["root"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = b["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["username", "display_name", "password", "roles"]);

    let change = json!({"roles": ["nurse", "charge_nurse"]});
    let (status, _, b) = send(&env, Method::PATCH, &url, &root, None, Some(change.clone())).await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::PRECONDITION_REQUIRED, "precondition_required")
    );
    let (status, tag, b) = send(
        &env,
        Method::PATCH,
        &url,
        &root,
        Some(&v1),
        Some(change.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    let v2 = tag.unwrap();
    assert_eq!(v2, "\"v2\"");
    // A second administrator still holding v1 loses, visibly.
    let (status, _, b) = send(
        &env,
        Method::PATCH,
        &url,
        &root,
        Some(&v1),
        Some(json!({"display_name": "Overwritten"})),
    )
    .await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::PRECONDITION_FAILED, "precondition_failed")
    );
    let (_, tag, b) = send(&env, Method::GET, &url, &root, None, None).await;
    assert_eq!(
        (tag.as_deref(), &b["display_name"]),
        (Some("\"v2\""), &json!("Ann"))
    );
    let reason: String = env
        .owner
        .query_one(
            "SELECT reason FROM audit_log WHERE event = 'user.update' AND entity_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason, "roles: nurse -> nurse,charge_nurse");

    // Another site's administrator cannot see or change the user.
    let john = env.login("st-john", "john-root").await;
    let (status, _, _) = send(&env, Method::GET, &url, &john, None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = send(&env, Method::DELETE, &url, &john, Some(&v2), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Soft delete: 204, then 410 everywhere, and the user's session ends.
    let (status, _, _) = send(&env, Method::DELETE, &url, &root, Some(&v2), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for method in [Method::GET, Method::DELETE] {
        let (status, _, b) = send(&env, method, &url, &root, Some(&v2), None).await;
        assert_eq!((status, code(&b)), (StatusCode::GONE, "gone"));
    }
    let (status, _, _) = send(
        &env,
        Method::PATCH,
        &url,
        &root,
        Some("\"v3\""),
        Some(change),
    )
    .await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(
        env.call(Method::GET, "/api/v1/me", Some(&ann), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        env.login_full("st-mary", "ann", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, _, list) = send(&env, Method::GET, "/api/v1/users", &root, None, None).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["root"]);
    env.done().await;
}
