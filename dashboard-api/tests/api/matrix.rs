//! Every route for every role, compared with the permission matrix.

use axum::http::{Method, StatusCode};
use dashboard_api::config::AuthConfig;
use dashboard_api::roles::{access, Access, Permission, Role};
use dashboard_api::routes::ROUTES;
use serde_json::json;

use crate::support::{cheap_config, code, env};

/// `path` with each parameter replaced by a well-formed identifier that
/// names nothing: the walk checks access, not the records.
fn example_uri(path: &str) -> String {
    let none = "0".repeat(32);
    [
        ("{bed_id}", "bed-1"),
        ("{observation_id}", "heart-rate.1.0123456789abcdef"),
        ("{rule_id}", "spo2_desat"),
    ]
    .into_iter()
    .fold(path.to_owned(), |uri, (k, v)| uri.replace(k, v))
    .split('/')
    .map(|seg| {
        if seg.starts_with('{') && seg.ends_with("_id}") {
            none.as_str()
        } else {
            seg
        }
    })
    .collect::<Vec<_>>()
    .join("/")
}

#[tokio::test]
async fn every_route_for_every_role_follows_the_matrix() {
    // The walk sends more requests than the default burst, all from one
    // (absent) address; the rate limit is tested elsewhere.
    let config = AuthConfig {
        request_burst_per_address: 10_000,
        ..cheap_config()
    };
    let Some(env) = env("matrix_walk", config).await else {
        return;
    };
    // Logout last: it ends the session the other requests use.
    let mut routes: Vec<_> = ROUTES.iter().collect();
    routes.sort_by_key(|r| r.path == "/api/v1/auth/logout");
    let mut checked = 0;
    for role in Role::ALL {
        let name = format!("user-{}", role.as_str().replace('_', "-"));
        env.user("st-mary", &name, &[role]).await;
        let token = env.login("st-mary", &name).await;
        for route in &routes {
            let uri = example_uri(route.path);
            let body = (route.method == Method::POST).then(|| json!({}));
            let (status, b) = env
                .call(route.method.clone(), &uri, Some(&token), body)
                .await;
            let what = format!(
                "{} {} as {}: {status} {b}",
                route.method,
                route.path,
                role.as_str()
            );
            assert!(
                code(&b) != "no_such_route" && status != StatusCode::METHOD_NOT_ALLOWED,
                "the table names a route the router lacks: {what}"
            );
            assert!(!status.is_server_error(), "{what}");
            match access(role, route.permission) {
                Access::Deny => assert_eq!(
                    (status, code(&b)),
                    (StatusCode::FORBIDDEN, "forbidden"),
                    "{what}"
                ),
                Access::BreakGlass => assert_eq!(
                    (status, code(&b)),
                    (StatusCode::FORBIDDEN, "break_glass_required"),
                    "{what}"
                ),
                Access::Allow => assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{what}"
                ),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * Role::ALL.len());

    // Without a token, only public routes answer.
    for route in ROUTES {
        let uri = example_uri(route.path);
        let body = (route.method == Method::POST).then(|| json!({}));
        let (status, b) = env.call(route.method.clone(), &uri, None, body).await;
        if route.permission == Permission::Public {
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{}", route.path);
        } else {
            assert_eq!(
                (status, code(&b)),
                (StatusCode::UNAUTHORIZED, "unauthenticated"),
                "{}",
                route.path
            );
        }
    }
    env.done().await;
}
