//! One server process per SQLite database: a second `anomalyforge-server` on the same file stops at
//! start-up with a message naming the first and pointing to PostgreSQL, and the first keeps serving.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::process::{self, free_port};
use std::time::Duration;

fn server(db_url: &str, port: u16, dir: &Path) -> Command {
    let mut c = process::server(db_url, port, dir);
    // The second server's refusal is read from its standard error.
    c.env("AF_INGEST", "false").stderr(Stdio::piped());
    c
}

/// Whether the server on `port` answers `/healthz` within 30 s.
async fn becomes_healthy(client: &reqwest::Client, port: u16) -> bool {
    process::becomes_healthy(client, port, Duration::from_secs(30)).await
}

#[tokio::test]
async fn a_second_server_on_one_sqlite_file_is_refused_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/af.db?mode=rwc", dir.path().display());
    let port = free_port();
    let mut first = server(&url, port, dir.path()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let client = reqwest::Client::new();
    assert!(becomes_healthy(&client, port).await, "the first server starts");

    let second = server(&url, free_port(), dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "the second server must not start: {stderr}");
    assert!(stderr.contains(&format!("(pid {})", first.id())), "{stderr}");
    assert!(stderr.contains("PostgreSQL"), "{stderr}");
    assert!(client.get(format!("http://127.0.0.1:{port}/healthz")).send().await.unwrap().status().is_success());

    // Once the first is gone (killed: the kernel drops its lock), a server starts on the file again.
    first.kill().unwrap();
    first.wait().unwrap();
    let port = free_port();
    let mut again = server(&url, port, dir.path()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let healthy = becomes_healthy(&client, port).await;
    again.kill().unwrap();
    again.wait().unwrap();
    assert!(healthy, "a killed server leaves no lock behind");
}
