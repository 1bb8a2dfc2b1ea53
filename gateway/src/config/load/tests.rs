use super::*;

const GOOD: &str = r#"
[site]
tenant_id = "st-marys"
ward_id = "icu-3"

[spool]
dir = "/var/lib/healthsphere/spool"

[database]
url = "postgres://gw:secret@db.local/healthsphere"

[[simulator]]
device_id = "sim-1"
bed_id = "bed-1"
"#;

fn no_env(_: &str) -> Option<String> {
    None
}

fn problems(text: &str) -> Vec<(String, String)> {
    let err = load_str(text, Path::new("gw.toml"), no_env).unwrap_err();
    assert_eq!(err.file, Path::new("gw.toml"));
    err.problems
        .into_iter()
        .map(|p| (p.path, p.message))
        .collect()
}

#[test]
fn good_file_loads_with_defaults() {
    let c = load_str(GOOD, Path::new("gw.toml"), no_env).unwrap();
    assert_eq!(c.site.tenant_id, "st-marys");
    assert_eq!(c.spool.max_bytes, 2 << 30);
    let db = c.database.unwrap();
    assert_eq!(db.batch_max_rows, 10_000);
    assert_eq!(c.simulator[0].interval_ms, 1_000);
    assert_eq!(c.api.listen, "127.0.0.1:8080");
}

#[test]
fn every_problem_is_listed_with_its_key_path() {
    let text = GOOD
        .replace("ward_id = \"icu-3\"", "ward_id = \"icu-3\"\nwardid = 1")
        .replace(
            "[database]",
            "[database]\nbatch_max_rows = \"many\"\nretry_max_sec = 3",
        )
        .replace("bed_id = \"bed-1\"", "bed_id = \"bed 1\"\ninterval_ms = -5")
        + "\n[extras]\n";
    let found = problems(&text);
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "extras",
            "site.wardid",
            "database.batch_max_rows",
            "database.retry_max_sec",
            "simulator[0].interval_ms",
        ],
        "{found:#?}"
    );
    assert!(
        found[1].1.starts_with("unknown key `wardid`"),
        "{}",
        found[1].1
    );
    assert!(found[2].1.contains("expected"), "{}", found[2].1);
}

#[test]
fn semantic_problems_are_all_reported_together() {
    let text = GOOD
        .replace("tenant_id = \"st-marys\"", "tenant_id = \"\"")
        .replace("dir = ", "segment_bytes = 100\ndir = ")
        .replace(
            "[database]",
            "[database]\nretry_initial_ms = 5000\nretry_max_ms = 10\nretention_days = 0",
        )
        .replace("bed_id = \"bed-1\"", "bed_id = \"bed 1\"")
        + "\n[[simulator]]\ndevice_id = \"sim-1\"\nbed_id = \"bed-2\"\n";
    let found = problems(&text);
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "site.tenant_id",
            "spool.segment_bytes",
            "database.retention_days",
            "database.retry_max_ms",
            "simulator[0].bed_id",
            "simulator[1].device_id",
        ],
        "{found:#?}"
    );
}

#[test]
fn missing_required_key_and_section_are_named() {
    let text = GOOD
        .replace("dir = \"/var/lib/healthsphere/spool\"", "")
        .replace("[site]", "[sight]");
    let found = problems(&text);
    assert!(
        found.contains(&("spool.dir".into(), "missing key".into())),
        "{found:#?}"
    );
    assert!(
        found.contains(&("site".into(), "missing section [site]".into())),
        "{found:#?}"
    );
    assert!(found
        .iter()
        .any(|(p, m)| p == "sight" && m.starts_with("unknown key")));
}

#[test]
fn syntax_error_is_reported_once() {
    let found = problems("[site\ntenant_id = 1");
    assert_eq!(found.len(), 1);
    assert!(
        found[0].1.starts_with("not valid TOML at line 1, column "),
        "{found:?}"
    );
}

#[test]
fn environment_overrides_the_database_url() {
    let env = |k: &str| (k == DATABASE_URL_ENV).then(|| "postgres://env@h/db".to_owned());
    let c = load_str(GOOD, Path::new("gw.toml"), env).unwrap();
    assert_eq!(c.database.unwrap().url.expose(), "postgres://env@h/db");

    // The variable alone enables the database.
    let without = GOOD.replace(
        "[database]\nurl = \"postgres://gw:secret@db.local/healthsphere\"",
        "",
    );
    let c = load_str(&without, Path::new("gw.toml"), env).unwrap();
    assert_eq!(c.database.unwrap().batch_max_rows, 10_000);
    assert!(load_str(&without, Path::new("gw.toml"), no_env)
        .unwrap()
        .database
        .is_none());
}

#[test]
fn database_url_never_appears_in_debug_output() {
    let c = load_str(GOOD, Path::new("gw.toml"), no_env).unwrap();
    let debug = format!("{c:?}");
    assert!(!debug.contains("secret"), "{debug}");
    assert!(debug.contains("<redacted>"));
}

#[test]
fn error_display_names_file_and_each_key() {
    let err = load_str(
        "[site]\ntenant_id = \"a\"",
        Path::new("/etc/gw.toml"),
        no_env,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("/etc/gw.toml: 2 problems"), "{text}");
    assert!(text.contains("\n  site.ward_id: missing key"), "{text}");
    assert!(
        text.contains("\n  spool: missing section [spool]"),
        "{text}"
    );
}

#[test]
fn serial_devices_are_checked_against_their_profiles_and_ports() {
    let profiles = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/profiles");
    let device = |i: usize, profile: &str, section: &str| {
        format!("\n[[device]]\ndevice_id = \"d{i}\"\nbed_id = \"bed-{i}\"\nprofile = \"{profile}\"\n{section}")
    };
    let head = format!("{GOOD}\n[profiles]\ndirs = [\"{profiles}\"]\n");
    let unknown = head.clone()
        + &device(
            0,
            "ge-datex-s5",
            "[device.serial]\npath = \"/dev/ttyS0\"\nbaud = 1\n",
        );
    assert_eq!(
        problems(&unknown),
        [(
            "device[0].serial.baud".to_owned(),
            "unknown key `baud`, expected `path`".to_owned()
        )]
    );
    let text =
        head + &device(
            0,
            "nonin-9560",
            "[device.serial]\npath = \"/dev/ttyUSB0\"\n",
        ) + &device(
            1,
            "masimo-radical7",
            "[device.serial]\npath = \"/dev/ttyUSB0\"\n",
        ) + &device(2, "draeger-medibus", "")
            + &device(3, "ge-datex-s5", "[device.modbus.tcp]\nhost = \"h\"\n")
            + &device(
                4,
                "nonin-oem-format7",
                "[device.serial]\npath = \"/dev/ttyUSB1\"\n",
            );
    let found = problems(&text);
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "device[2].serial",
            "device[3]",
            "device[3].serial",
            "device[1].serial"
        ],
        "{found:?}"
    );
    assert!(found[3].1.contains("already used by `d0`"), "{found:?}");
    let good = text
        .replacen("/dev/ttyUSB0", "/dev/ttyUSB2", 1)
        .replace(
            "profile = \"draeger-medibus\"\n",
            "profile = \"draeger-medibus\"\n[device.serial]\npath = \"/dev/ttyS1\"\n",
        )
        .replace(
            "[device.modbus.tcp]\nhost = \"h\"\n",
            "[device.serial]\npath = \"/dev/ttyS2\"\n",
        );
    let c = load_str(&good, Path::new("gw.toml"), no_env).unwrap();
    assert_eq!(c.device.len(), 5);
}

#[test]
fn alerting_section_problems_name_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.toml"),
        "version = 1\n[[limit]]\nid = \"x\"\n",
    )
    .unwrap();
    let text = format!(
        "{GOOD}
[alerting]
rules_file = \"rules.toml\"
tick_ms = 1

[[alerting.webhook]]
name = \"pager\"
url = \"https://pager.example/hook\"
secret_env = \"HS_PAGER_SECRET\"
"
    );
    let file = dir.path().join("gw.toml");
    let err = load_str(&text, &file, no_env).unwrap_err();
    let paths: Vec<&str> = err.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "alerting.rules_file",
            "alerting.webhook[0].secret_env",
            "alerting.tick_ms",
            "alerting.webhook[0].url",
        ]
    );
    assert!(err.problems[1].message.contains("HS_PAGER_SECRET"));
    let unknown = problems(&format!("{GOOD}\n[alerting]\nescalate_form = \"high\"\n"));
    assert_eq!(unknown[0].0, "alerting.escalate_form");
}

#[test]
fn alerting_section_loads_rules_and_secret_from_the_environment() {
    let text = format!(
        "{GOOD}
[alerting]
admitted_beds = [\"bed-1\"]

[[alerting.escalation]]
recipient = \"nurse\"
ttl_ms = 60000

[[alerting.webhook]]
name = \"pager\"
url = \"http://127.0.0.1:9000/hook\"
secret_env = \"HS_PAGER_SECRET\"
"
    );
    let env = |k: &str| (k == "HS_PAGER_SECRET").then(|| "s3cret".to_owned());
    let c = load_str(&text, Path::new("gw.toml"), env).unwrap();
    assert_eq!(c.alerting.webhook[0].secret.expose(), "s3cret");
    assert_eq!(c.alerting.escalation[0].ttl_ms, 60_000);
    assert!(!format!("{:?}", c.alerting).contains("s3cret"));
}
