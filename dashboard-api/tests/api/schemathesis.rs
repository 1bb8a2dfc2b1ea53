//! The OpenAPI document exercised by schemathesis (PyPI) against the API
//! served on a loopback socket with the real TimescaleDB: no 5xx, only
//! documented statuses and content types, and bodies that match the
//! documented schemas. Skips without schemathesis unless
//! `HEALTHSPHERE_REQUIRE_PEERS=1`.
//!
//! The same run by hand against a gateway: see the README ("API").

use std::process::Command;

use dashboard_api::roles::Role;

use crate::support::{cheap_config, env};

/// Checks run: the "no 5xx and no schema violations".
pub(crate) const CHECKS: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

fn schemathesis_present() -> bool {
    let ok = Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !std::env::var("HEALTHSPHERE_REQUIRE_PEERS").is_ok_and(|v| v == "1"),
            "schemathesis is required (pip install -r tests/peers/requirements.txt)"
        );
        #[expect(clippy::print_stderr, reason = "a skipped test says why")]
        {
            eprintln!("SKIPPED schemathesis: not installed");
        }
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_holds_under_schemathesis() {
    if !schemathesis_present() {
        return;
    }
    let Some(env) = env("schemathesis", cheap_config()).await else {
        return;
    };
    env.owner
        .batch_execute(
            "INSERT INTO vitals (time, received_at, tenant_id, bed_id, device_id, metric, value)
             SELECT t, t, 'st-mary', 'bed-1', 'mon-1', 'heart_rate', 70
             FROM generate_series(now() - interval '10 minutes', now(), interval '10 seconds') AS t",
        )
        .await
        .unwrap();
    env.user("st-mary", "all", &Role::ALL).await;
    let token = env.login("st-mary", "all").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let svc = env
        .router
        .clone()
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, svc).await });
    let out = tokio::task::spawn_blocking(move || {
        Command::new("schemathesis")
            // Its cache goes into the working directory; keep it out of the tree.
            .current_dir(std::env::temp_dir())
            .args(["run", &format!("http://{addr}/openapi.json")])
            .args(["--checks", CHECKS])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            // Logging out would end the session the rest of the run uses.
            .args(["--exclude-operation-id", "auth.logout"])
            .args(["--max-examples", "15", "--seed", "1", "--no-color"])
            .env("SCHEMATHESIS_HOOKS", "")
            .output()
            .expect("run schemathesis")
    })
    .await
    .unwrap();
    server.abort();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis found problems:\n{text}");
    env.done().await;
}
