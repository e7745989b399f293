//! The operator CLI `anomalyforge user …` against a temporary SQLite database.
#![cfg(feature = "server")]

use std::process::{Command, Output};

fn run(dir: &std::path::Path, args: &[&str], password: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anomalyforge"));
    cmd.args(args).env_remove("DATABASE_URL").env("AF_DATA_DIR", dir).env_remove("AF_NEW_PASSWORD");
    if let Some(p) = password {
        cmd.env("AF_NEW_PASSWORD", p);
    }
    cmd.output().expect("run the anomalyforge binary")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn operators_manage_accounts_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let out = run(
        d,
        &["user", "add", "Alice", "--role", "analyst", "--display-name", "Alice A."],
        Some("alice's password 1"),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("created user `alice` (analyst)"));

    // A generated password is printed once (stdout is not a terminal here: the bare password).
    let out = run(d, &["user", "add", "bob", "--role", "employee"], None);
    assert!(out.status.success(), "{}", text(&out));
    let generated = String::from_utf8_lossy(&out.stdout).lines().last().unwrap().to_string();
    assert_eq!(generated.len(), 20, "{generated:?}");

    let out = run(d, &["user", "add", "alice", "--role", "admin"], Some("another password 1"));
    assert!(!out.status.success());
    assert!(text(&out).contains("already exists"), "{}", text(&out));

    let out = run(d, &["user", "add", "carol", "--role", "root"], Some("a long password 1"));
    assert!(!out.status.success());
    assert!(text(&out).contains("unknown role `root`"), "{}", text(&out));

    let out = run(d, &["user", "add", "dave", "--role", "analyst"], Some("short"));
    assert!(!out.status.success());
    assert!(text(&out).contains("at least 12 characters"), "{}", text(&out));

    let out = run(d, &["user", "set-role", "alice", "responder"], None);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(d, &["user", "disable", "bob"], None);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(d, &["user", "list"], None);
    let listing = text(&out);
    assert!(
        listing.lines().any(|l| l.starts_with("alice") && l.contains("responder") && l.contains("active")),
        "{listing}"
    );
    assert!(listing.lines().any(|l| l.starts_with("bob") && l.contains("disabled")), "{listing}");

    let out = run(d, &["user", "reset-password", "nobody"], Some("a new long password"));
    assert!(!out.status.success());
    assert!(text(&out).contains("user `nobody`"), "{}", text(&out));
    let out = run(d, &["user", "reset-password", "alice"], Some("a new long password"));
    assert!(out.status.success(), "{}", text(&out));

    // The new password works, the old one does not.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}?mode=rwc", d.join("anomalyforge.db").display());
        let db = anomalyforge::store::Db::connect(&url, 1).await.unwrap();
        let policy = anomalyforge::auth::LoginPolicy {
            max_failures_per_account: 10,
            max_failures_per_address: 10,
            window_ms: 60_000,
            session_ttl_ms: 60_000,
        };
        let client = anomalyforge::auth::ClientInfo::default();
        assert!(anomalyforge::auth::login(&db, &policy, "alice", "alice's password 1", &client).await.is_err());
        let (me, _) = anomalyforge::auth::login(&db, &policy, "alice", "a new long password", &client).await.unwrap();
        assert_eq!(me.role, anomalyforge::role::Role::Responder);
        let audit = db.recent_audit(10).await.unwrap();
        assert!(audit.iter().all(|e| e.actor == "cli"));
        assert_eq!(audit.len(), 5, "one entry per successful change: {audit:?}");
    });
}
