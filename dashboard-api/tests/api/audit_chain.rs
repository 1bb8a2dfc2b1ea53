//! The audit chain verifies, then names the entry after an edit, a deletion
//! and a swap made directly in the database.

use dashboard_api::audit::{verify_all, Finding};
use dashboard_api::roles::Role;

use crate::support::{cheap_config, env};

async fn findings(client: &tokio_postgres::Client) -> Vec<Finding> {
    verify_all(client)
        .await
        .unwrap()
        .into_iter()
        .flat_map(|r| r.findings)
        .collect()
}

async fn seqs(client: &tokio_postgres::Client) -> Vec<i64> {
    client
        .query(
            "SELECT seq FROM audit_log WHERE tenant_id = 'st-mary' ORDER BY seq",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn verification_finds_edits_deletions_and_swaps() {
    let Some(env) = env("audit_chain", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    env.user("st-john", "bob", &[Role::Nurse]).await;
    for _ in 0..3 {
        env.login("st-mary", "ann").await;
    }
    let reports = verify_all(&env.owner).await.unwrap();
    assert_eq!(reports.len(), 2, "one chain per tenant");
    assert!(reports.iter().all(|r| r.findings.is_empty()), "{reports:?}");
    let s = seqs(&env.owner).await;
    assert_eq!(s.len(), 4);

    // The trigger refuses edits, even for the owner.
    let refused = env
        .owner
        .execute("UPDATE audit_log SET outcome = 4 WHERE seq = $1", &[&s[1]])
        .await;
    assert!(refused.is_err());
    env.owner
        .batch_execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .await
        .unwrap();

    // Edit: someone with the owner's rights rewrites an outcome.
    env.owner
        .execute("UPDATE audit_log SET outcome = 4 WHERE seq = $1", &[&s[1]])
        .await
        .unwrap();
    assert_eq!(findings(&env.owner).await, [Finding::Edited { seq: s[1] }]);
    env.owner
        .execute("UPDATE audit_log SET outcome = 0 WHERE seq = $1", &[&s[1]])
        .await
        .unwrap();
    assert!(findings(&env.owner).await.is_empty(), "restored");

    // Swap: two entries exchange places.
    env.owner
        .batch_execute(&format!(
            "UPDATE audit_log SET seq = -1 WHERE seq = {a};
             UPDATE audit_log SET seq = {a} WHERE seq = {b};
             UPDATE audit_log SET seq = {b} WHERE seq = -1;",
            a = s[1],
            b = s[2]
        ))
        .await
        .unwrap();
    let swapped = findings(&env.owner).await;
    assert_eq!(
        swapped.first(),
        Some(&Finding::OutOfOrder {
            seq: s[1],
            predecessor_seq: s[2]
        }),
        "{swapped:?}"
    );
    env.owner
        .batch_execute(&format!(
            "UPDATE audit_log SET seq = -1 WHERE seq = {a};
             UPDATE audit_log SET seq = {a} WHERE seq = {b};
             UPDATE audit_log SET seq = {b} WHERE seq = -1;",
            a = s[1],
            b = s[2]
        ))
        .await
        .unwrap();
    assert!(findings(&env.owner).await.is_empty(), "swapped back");

    // Deletion: the entry after the gap is named.
    env.owner
        .execute("DELETE FROM audit_log WHERE seq = $1", &[&s[2]])
        .await
        .unwrap();
    assert_eq!(
        findings(&env.owner).await,
        [Finding::PredecessorMissing { seq: s[3] }]
    );
    env.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_of_two_tenants_keep_both_chains_intact() {
    let Some(env) = env("audit_concurrent", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    env.user("st-john", "bob", &[Role::Nurse]).await;
    let ann = env.login("st-mary", "ann").await;
    let bob = env.login("st-john", "bob").await;
    let env = std::sync::Arc::new(env);
    let mut reads = Vec::new();
    for i in 0..40 {
        let env = std::sync::Arc::clone(&env);
        let token = if i % 2 == 0 { ann.clone() } else { bob.clone() };
        reads.push(tokio::spawn(async move {
            let url = format!("/api/v1/beds/bed-{i}/vitals/latest");
            env.call(axum::http::Method::GET, &url, Some(&token), None)
                .await
                .0
        }));
    }
    for r in reads {
        assert_eq!(r.await.unwrap(), axum::http::StatusCode::OK);
    }
    let reports = verify_all(&env.owner).await.unwrap();
    assert!(reports.iter().all(|r| r.findings.is_empty()), "{reports:?}");
    let reads: i64 = env
        .owner
        .query_one(
            "SELECT count(*) FROM audit_log WHERE event = 'vitals.latest.read'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(reads, 40);
    let env = std::sync::Arc::into_inner(env).expect("all requests done");
    env.done().await;
}
