//! The real server binary as a child process, for the tests that kill it or run several: a
//! command with the workspace's models and data, and the waits around it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A path in the workspace (tests run with `server/` as the working directory).
pub fn workspace(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `anomalyforge-server` on `db_url`, listening on `port`, with its state in `dir`: ingest on with
/// the workspace's models and geolocation, no replay, warnings only, output discarded.
pub fn server(db_url: &str, port: u16, dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_anomalyforge-server"));
    c.env("DATABASE_URL", db_url)
        .env("AF_BIND", format!("127.0.0.1:{port}"))
        .env("AF_DATA_DIR", dir)
        .env("AF_ADMIN_PASSWORD", "process test admin password")
        .env("AF_MODEL_DIR", workspace("models"))
        .env("AF_GEOIP_PATH", workspace("data/geo/ip-country.csv.gz"))
        .env("AF_SITE_ROOT", dir.join("site"))
        .env("AF_REPLAY__AUTOSTART", "false")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// Whether the server on `port` answers `/healthz` within `within`.
pub async fn becomes_healthy(client: &reqwest::Client, port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if client.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// A child process killed (SIGKILL) when dropped, so a failing test leaves no server behind.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
