//! The operator CLI `anomalyforge token …` against a temporary SQLite database.
#![cfg(feature = "server")]

use std::process::{Command, Output};

fn run(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_anomalyforge"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("AF_DATA_DIR", dir)
        .output()
        .expect("run the anomalyforge binary")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn operators_create_list_and_revoke_api_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // stdout is not a terminal here: the token alone on stdout, the message on stderr.
    let out = run(d, &["token", "create", "--name", "zeek-sensor-1"]);
    assert!(out.status.success(), "{}", text(&out));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.starts_with("af_") && token.len() > 40, "{token:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("created API token #1 `zeek-sensor-1`"));

    let out = run(d, &["token", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = text(&out);
    assert!(listing.contains("zeek-sensor-1") && listing.contains("active"), "{listing}");
    assert!(
        listing.lines().any(|l| l.contains("zeek-sensor-1") && l.contains(" ingest ")),
        "least privilege by default: {listing}"
    );
    assert!(!listing.contains(&token), "the list never shows token values");

    let out = run(d, &["token", "revoke", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&run(d, &["token", "list"])).contains("revoked"));

    let out = run(d, &["token", "revoke", "7"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("API token #7 not found"), "{}", text(&out));
    let out = run(d, &["token", "create", "--name", "dashboard", "--scope", "read,ingest", "--expires-in-days", "30"]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = text(&run(d, &["token", "list"]));
    assert!(listing.lines().any(|l| l.contains("dashboard") && l.contains("ingest,read")), "{listing}");
    let out = run(d, &["token", "create", "--name", "x", "--scope", "write"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("Unknown token scope `write`"), "{}", text(&out));
    let out = run(d, &["token", "create", "--name", "x", "--expires-in-days", "0"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("from 1 to 3650 days"), "{}", text(&out));
    let out = run(d, &["token", "create", "--name", " "]);
    assert!(!out.status.success());
    assert!(text(&out).contains("Enter a name"), "{}", text(&out));
}
