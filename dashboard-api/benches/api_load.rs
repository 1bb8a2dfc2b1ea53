//! Load run of the vitals endpoints with wrk on loopback.
//!
//! Makes a throwaway database on the local TimescaleDB, stores one hour of
//! once-a-second samples for 12 beds and 10 metrics (432,000 rows), serves
//! the API in this process on 127.0.0.1, signs a nurse in, and runs wrk
//! (Debian package `wrk`) against:
//!
//! - `GET /healthz`: the baseline, no authentication or database;
//! - `GET /api/v1/beds/{bed}/vitals/latest`: newest value of each metric;
//! - `GET /api/v1/beds/{bed}/vitals/aggregate`: one hour in 1-minute buckets.
//!
//! Each authenticated request verifies the token, checks and touches the
//! session, runs the query as the API role with the tenant set, and appends
//! an audit entry; the ratio to the baseline shows what that costs.
//!
//! Run: `cargo bench -p dashboard-api --bench api_load` (needs
//! `deploy/timescaledb.sh start` and wrk). `WRK_SECS` sets the duration of
//! each run (default 10).

use std::process::Command;
use std::sync::Arc;

use collector::CollectorMetrics;
use dashboard_api::auth::users::{create_tenant, create_user};
use dashboard_api::config::{ApiSecret, AuthConfig};
use dashboard_api::core::ApiCore;
use dashboard_api::db::Pool;
use dashboard_api::roles::Role;
use dashboard_api::tenant::TenantId;
use dashboard_api::{app, AppState};
use healthsphere_tests::TestDb;

#[derive(Debug)]
struct Run {
    name: &'static str,
    requests_per_sec: f64,
    p99_ms: f64,
}

fn wrk(name: &'static str, url: &str, token: Option<&str>, secs: u64) -> Run {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c16", &format!("-d{secs}s"), "--latency"]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    let out = cmd
        .arg(url)
        .output()
        .expect("run wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !text.contains("Non-2xx"),
        "{name}: some responses were errors:\n{text}"
    );
    let field = |prefix: &str| -> Option<&str> {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
    };
    let rps = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name}: no rate in wrk output:\n{text}"));
    let p99 = field("99%")
        .and_then(millis)
        .unwrap_or_else(|| panic!("{name}: no p99 in wrk output:\n{text}"));
    Run {
        name,
        requests_per_sec: rps,
        p99_ms: p99,
    }
}

/// wrk prints latencies as `812.00us`, `3.20ms` or `1.01s`.
fn millis(v: &str) -> Option<f64> {
    let (num, factor) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|n| n * factor)
}

#[expect(clippy::print_stdout, reason = "a benchmark's result is its output")]
fn report(runs: &[Run]) {
    let base = runs[0].requests_per_sec;
    for r in runs {
        println!(
            "{:<10} {:>9.0} requests/s  p99 {:>7.2} ms  ratio to healthz {:.3}",
            r.name,
            r.requests_per_sec,
            r.p99_ms,
            r.requests_per_sec / base
        );
    }
}

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::var("WRK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let db = TestDb::create("api_load")
        .await
        .expect("the load run needs deploy/timescaledb.sh running");
    let mut owner = db.client().await;
    collector::schema::migrate_with(
        &mut owner,
        &[
            alerting::store::MIGRATIONS,
            dashboard_api::schema::MIGRATIONS,
        ],
    )
    .await
    .expect("migrate");
    let tenant = TenantId::parse("st-mary").unwrap();
    create_tenant(&owner, &tenant, "St Mary").await.unwrap();
    owner
        .batch_execute(
            "INSERT INTO vitals (time, received_at, tenant_id, bed_id, device_id, metric, value)
             SELECT t, t, 'st-mary', 'bed-' || b, 'mon-' || b, m, 60 + random() * 40
             FROM generate_series(now() - interval '1 hour', now(), interval '1 second') AS t,
                  generate_series(1, 12) AS b,
                  unnest(ARRAY['heart_rate', 'pulse_rate', 'spo2', 'perfusion_index',
                               'nibp_systolic', 'nibp_diastolic', 'nibp_mean',
                               'respiratory_rate', 'body_temperature', 'etco2']) AS m;
             ANALYZE vitals;",
        )
        .await
        .expect("seed vitals");
    let config = AuthConfig {
        requests_per_sec_per_address: 1_000_000,
        request_burst_per_address: 1_000_000,
        max_connections: 16,
        ..AuthConfig::default()
    };
    let secret = ApiSecret::from_bytes(vec![7; 32]).unwrap();
    let core = ApiCore::new(config, Pool::new(&db.url, 16), &secret)
        .unwrap()
        .shared();
    create_user(
        &core,
        &tenant,
        "ann",
        "Ann",
        "a long password",
        &[Role::Nurse],
    )
    .await
    .unwrap();
    let registry = prometheus::Registry::new();
    let metrics = CollectorMetrics::register(&registry).unwrap();
    let state = AppState::new(registry, metrics, true).with_core(Arc::clone(&core));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let svc = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, svc).await
    });
    let base = format!("http://{addr}");
    let login = tokio::task::spawn_blocking({
        let base = base.clone();
        move || {
            Command::new("curl")
                .args(["-s", "-H", "content-type: application/json", "-d"])
                .arg(r#"{"tenant":"st-mary","username":"ann","password":"a long password"}"#)
                .arg(format!("{base}/api/v1/auth/login"))
                .output()
                .expect("curl")
        }
    })
    .await
    .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&login.stdout).expect("login answer");
    let token = body["access_token"].as_str().expect("token").to_owned();

    let runs = tokio::task::spawn_blocking(move || {
        vec![
            wrk("healthz", &format!("{base}/healthz"), None, secs),
            wrk(
                "latest",
                &format!("{base}/api/v1/beds/bed-3/vitals/latest"),
                Some(&token),
                secs,
            ),
            wrk(
                "aggregate",
                &format!(
                    "{base}/api/v1/beds/bed-3/vitals/aggregate?from={}&to={}&bucket_secs=60",
                    dashboard_api::time::rfc3339(
                        std::time::SystemTime::now() - std::time::Duration::from_secs(3600)
                    ),
                    dashboard_api::time::rfc3339(std::time::SystemTime::now())
                ),
                Some(&token),
                secs,
            ),
        ]
    })
    .await
    .unwrap();
    report(&runs);
    let entries: i64 = owner
        .query_one("SELECT count(*) FROM audit_log", &[])
        .await
        .unwrap()
        .get(0);
    #[expect(clippy::print_stdout, reason = "a benchmark's result is its output")]
    {
        println!("audit entries written during the run: {entries}");
    }
    server.abort();
    drop(owner);
    db.drop_db().await;
}
