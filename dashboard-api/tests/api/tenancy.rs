//! Row-level security: a query that forgets its tenant filter still sees and
//! changes only the current tenant's rows.

use axum::http::{Method, StatusCode};
use dashboard_api::db::begin_tenant;
use dashboard_api::roles::Role;

use crate::support::{cheap_config, env, tenant};

async fn seed_vitals(owner: &tokio_postgres::Client) {
    owner
        .batch_execute(
            "INSERT INTO vitals (time, received_at, tenant_id, bed_id, device_id, metric, value)
             VALUES (now(), now(), 'st-mary', 'bed-1', 'mon-1', 'heart_rate', 72),
                    (now(), now(), 'st-john', 'bed-1', 'mon-9', 'heart_rate', 140),
                    (now(), now(), 'st-john', 'bed-9', 'mon-9', 'spo2', 88)",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_forgotten_where_cannot_reach_another_tenant() {
    let Some(env) = env("rls_forgotten_where", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    env.user("st-john", "bob", &[Role::Nurse]).await;
    env.user("st-john", "cy", &[Role::Physician]).await;
    seed_vitals(&env.owner).await;

    let mut conn = env.core.pool.get().await.unwrap();
    let tx = begin_tenant(conn.client(), &tenant("st-mary"))
        .await
        .unwrap();
    let names: Vec<String> = tx
        .query("SELECT username FROM users ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, ["ann"]);
    let vitals: Vec<f64> = tx
        .query("SELECT value FROM vitals", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(vitals, [72.0]);
    let tenants: i64 = tx
        .query_one("SELECT count(*) FROM tenants", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(tenants, 1);
    // Audit entries of the other tenant (their user creations) are invisible.
    let audit: Vec<String> = tx
        .query("SELECT DISTINCT tenant_id FROM audit_log", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(audit, ["st-mary"]);
    // An UPDATE without WHERE changes only this tenant's rows.
    let changed = tx
        .execute("UPDATE users SET display_name = 'renamed'", &[])
        .await
        .unwrap();
    assert_eq!(changed, 1);
    tx.commit().await.unwrap();
    let renamed: i64 = env
        .owner
        .query_one(
            "SELECT count(*) FROM users WHERE display_name = 'renamed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(renamed, 1);

    // Writing a row of another tenant is refused by the policy's check.
    let tx = begin_tenant(conn.client(), &tenant("st-mary"))
        .await
        .unwrap();
    let err = tx
        .execute(
            "UPDATE users SET tenant_id = 'st-john' WHERE username = 'ann'",
            &[],
        )
        .await
        .unwrap_err();
    let message = err.as_db_error().map(|e| e.message().to_owned());
    assert!(
        message
            .as_deref()
            .unwrap_or("")
            .contains("row-level security"),
        "{err:?}"
    );
    drop(tx);

    // The API role may not delete audit entries, nor escape its tenant by
    // changing the setting back to nothing.
    let tx = begin_tenant(conn.client(), &tenant("st-mary"))
        .await
        .unwrap();
    assert!(tx.execute("DELETE FROM audit_log", &[]).await.is_err());
    drop(tx);
    let tx = begin_tenant(conn.client(), &tenant("st-mary"))
        .await
        .unwrap();
    tx.execute("SELECT set_config('app.tenant_id', '', true)", &[])
        .await
        .unwrap();
    let none: i64 = tx
        .query_one("SELECT count(*) FROM vitals", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(none, 0);
    drop(tx);

    // After the transaction the pooled connection carries no role or tenant.
    let row = conn
        .client()
        .query_one(
            "SELECT current_user::text, coalesce(current_setting('app.tenant_id', true), '')",
            &[],
        )
        .await
        .unwrap();
    assert_ne!(row.get::<_, String>(0), "healthsphere_api");
    assert_eq!(row.get::<_, String>(1), "");
    drop(conn);
    env.done().await;
}

#[tokio::test]
async fn routes_never_show_another_tenants_rows() {
    let Some(env) = env("rls_routes", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    env.user("st-mary", "root", &[Role::Administrator]).await;
    env.user("st-john", "bob", &[Role::Nurse]).await;
    seed_vitals(&env.owner).await;
    let ann = env.login("st-mary", "ann").await;
    // bed-9 exists only at St John: St Mary's nurse gets nothing.
    let (status, body) = env
        .call(
            Method::GET,
            "/api/v1/beds/bed-9/vitals/latest",
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!([]));
    // bed-1 exists in both: only St Mary's sample.
    let (_, body) = env
        .call(
            Method::GET,
            "/api/v1/beds/bed-1/vitals/latest",
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(body.as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body[0]["value"], 72.0);
    // Bob's credentials do not work at St Mary's.
    let (status, _) = env.login_full("st-mary", "bob", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The audit log as St Mary's administrator shows only St Mary's entries.
    let root = env.login("st-mary", "root").await;
    let (status, body) = env
        .call(Method::GET, "/api/v1/audit?limit=200", Some(&root), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|e| e["tenant_id"] == "st-mary"), "{body}");
    env.done().await;
}

#[tokio::test]
async fn keys_refuse_a_row_that_names_another_tenants_record() {
    let Some(env) = env("rls_tenant_keys", cheap_config()).await else {
        return;
    };
    env.user("st-john", "bob", &[Role::Nurse]).await;
    let bob = env.login("st-john", "bob").await;
    let (_, p) = env
        .call(
            Method::POST,
            "/api/v1/patients",
            Some(&bob),
            Some(serde_json::json!({"mrn": "J-7", "name": "Jo", "birth_date": "1970-07-07"})),
        )
        .await;
    let john_patient = p["id"].as_str().unwrap().to_owned();
    let john_user: String = env
        .owner
        .query_one("SELECT id FROM users WHERE username = 'bob'", &[])
        .await
        .unwrap()
        .get(0);

    // As the API role of St Mary, past every handler: row-level security
    // lets St Mary write its own rows, and the keys refuse the ones that
    // name St John's patient or user.
    let mut conn = env.core.pool.get().await.unwrap();
    let tx = begin_tenant(conn.client(), &tenant("st-mary"))
        .await
        .unwrap();
    let admitted = tx
        .execute(
            "INSERT INTO admissions (id, tenant_id, patient_id, bed_id, admitted_at)
             VALUES (md5('a'), 'st-mary', $1, 'bed-1', now())",
            &[&john_patient],
        )
        .await;
    let err = admitted.expect_err("an admission of another site's patient");
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION),
        "{err}"
    );
    drop(tx);
    let tx = begin_tenant(conn.client(), &tenant("st-mary"))
        .await
        .unwrap();
    let session = tx
        .execute(
            "INSERT INTO session_families (id, tenant_id, user_id, absolute_expires_at, mfa)
             VALUES (md5('s'), 'st-mary', $1, now() + interval '1 hour', false)",
            &[&john_user],
        )
        .await;
    let err = session.expect_err("a session of another site's user");
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION),
        "{err}"
    );
    drop(tx);
    drop(conn);
    env.done().await;
}
