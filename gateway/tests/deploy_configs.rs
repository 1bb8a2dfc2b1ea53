//! Every sample configuration shipped in `deploy/` loads, so the samples cannot
//! drift from the structs.

use std::path::Path;

use gateway::config::{self, DATABASE_URL_ENV};

#[test]
fn every_sample_config_in_deploy_loads() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let env = |k: &str| (k == DATABASE_URL_ENV).then(|| "postgres://u@127.0.0.1/db".to_owned());
    let mut checked = 0;
    for entry in std::fs::read_dir(&deploy).expect("deploy directory") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = config::load(&path, env) {
                panic!("{e}");
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "expected the demo and the production sample, found {checked}"
    );
}
