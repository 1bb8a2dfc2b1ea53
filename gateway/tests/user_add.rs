//! `gateway user add`, how the first administrator of a site comes to be,
//! and `gateway secret rotate`, how the site moves to a new API secret.

mod support;

use std::io::Write as _;
use std::process::{Command, Stdio};

use healthsphere_tests::TestDb;
use support::BIN;

const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0NQ==";

fn config(dir: &std::path::Path, url: &str) -> std::path::PathBuf {
    let path = dir.join("gateway.toml");
    let text = format!(
        "[site]\ntenant_id = \"st-anne\"\nward_id = \"ward-2\"\n\n\
         [spool]\ndir = \"{}\"\n\n[database]\nurl = \"{url}\"\n",
        dir.join("spool").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `gateway user add` with the password on standard input.
fn add(config: &std::path::Path, username: &str, roles: &[&str]) -> std::process::Output {
    let mut args = vec!["user", "add", "--config", config.to_str().unwrap()];
    args.extend(["--username", username]);
    for r in roles {
        args.extend(["--role", r]);
    }
    let mut child = Command::new(BIN)
        .args(&args)
        .env("HEALTHSPHERE_API_SECRET", SECRET)
        .env_remove("HEALTHSPHERE_NEW_USER_PASSWORD")
        .env_remove(gateway::config::DATABASE_URL_ENV)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"correct horse battery staple\n").unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_administrator_is_created_once_with_a_hashed_password() {
    let Some(db) = TestDb::create("user_add").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &db.url);

    let out = add(&config, "root", &["administrator"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("created user root"), "{stdout}");
    assert!(!stderr.contains("correct horse"), "the password was logged");

    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT tenant_id, roles, password_hash FROM users WHERE username = 'root'",
            &[],
        )
        .await
        .unwrap();
    let (tenant, roles, hash): (String, Vec<String>, String) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        (tenant.as_str(), roles),
        ("st-anne", vec!["administrator".to_owned()])
    );
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let audited: i64 = client
        .query_one(
            "SELECT count(*) FROM audit_log WHERE event = 'user.create'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 1);

    // The same name again, and an unknown role: refused, nothing added.
    let again = add(&config, "root", &["administrator"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("taken"));
    let bad_role = add(&config, "sam", &["janitor"]);
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("`janitor` is not a role"));
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 1);
    db.drop_db().await;
}

const NEW_SECRET: &str = "bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldy1zZWNyZXQtbmV3LTEyMzQ1Ng==";

fn rotate(config: &std::path::Path, old: &str, new: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["secret", "rotate", "--config", config.to_str().unwrap()])
        .env("HEALTHSPHERE_API_SECRET", old)
        .env_remove("HEALTHSPHERE_API_SECRET_NEW")
        .env_remove(gateway::config::DATABASE_URL_ENV);
    if let Some(n) = new {
        cmd.env("HEALTHSPHERE_API_SECRET_NEW", n);
    }
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_rotates_once_and_the_old_one_is_then_refused() {
    let Some(db) = TestDb::create("secret_rotate").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &db.url);
    assert!(add(&config, "root", &["administrator"]).status.success());

    let missing = rotate(&config, SECRET, None);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("HEALTHSPHERE_API_SECRET_NEW"));

    let out = rotate(&config, SECRET, Some(NEW_SECRET));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("site st-anne moved to the new secret"),
        "{stdout}"
    );
    for secret in [SECRET, NEW_SECRET] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a secret was printed"
        );
    }
    // A rotation from a secret to itself is refused.
    let same = rotate(&config, NEW_SECRET, Some(NEW_SECRET));
    assert!(!same.status.success());
    assert!(String::from_utf8_lossy(&same.stderr).contains("the new secret is the old one"));
    let rotations: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM audit_log WHERE event = 'secret.rotate'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rotations, 1);
    db.drop_db().await;
}
