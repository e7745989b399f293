//! NATS servers for the bus tests: one JetStream node, or a 3-node JetStream cluster, on free
//! loopback ports with their stores in a temporary directory. Killed when dropped.
//!
//! `nats-server` must be on the PATH (`scripts/setup.sh test` installs it). Without it a test is
//! skipped, saying so, unless `AF_REQUIRE_NATS=1` (CI), which makes it fail.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Nats {
    nodes: Vec<Option<Child>>,
    pub ports: Vec<u16>,
    cluster_ports: Vec<u16>,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Whether `nats-server` can be run; `false` (with a note) lets a test skip.
pub fn available(test: &str) -> bool {
    let found = Command::new("nats-server").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("AF_REQUIRE_NATS").as_deref() != Ok("1"),
            "AF_REQUIRE_NATS=1 but nats-server is not installed (bash scripts/setup.sh test)"
        );
        eprintln!("SKIPPED {test}: nats-server is not installed (bash scripts/setup.sh test)");
    }
    found
}

impl Nats {
    /// One JetStream node.
    pub fn single() -> Nats {
        Self::start(1)
    }

    /// Three JetStream nodes in one cluster (streams may have 3 replicas).
    pub fn cluster() -> Nats {
        Self::start(3)
    }

    /// Starts `n` nodes on free ports. A port found free may be taken by another test before the
    /// node binds it, and the node then exits: the whole set starts again on new ports (three tries).
    fn start(n: usize) -> Nats {
        for attempt in 1..=3 {
            let dir = tempfile::tempdir().unwrap();
            let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
            let cluster_ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
            let mut nats = Nats { nodes: Vec::new(), ports, cluster_ports, dir };
            for i in 0..n {
                let child = nats.spawn_node(i);
                nats.nodes.push(Some(child));
            }
            if (0..n).all(|i| nats.wait_ready(i)) {
                return nats;
            }
            eprintln!("nats-server did not start on ports {:?} (attempt {attempt}); trying others", nats.ports);
            drop(nats);
        }
        panic!("nats-server did not start on free ports in three attempts");
    }

    fn config_of(&self, i: usize) -> PathBuf {
        let n = self.ports.len();
        let store = self.dir.path().join(format!("n{i}"));
        let mut conf = format!(
            "server_name: n{i}\nlisten: 127.0.0.1:{}\nhttp: 127.0.0.1:0\nmax_payload: 8MB\n\
             jetstream {{ store_dir: \"{}\", max_memory_store: 256MB, max_file_store: 4GB }}\n",
            self.ports[i],
            store.display()
        );
        if n > 1 {
            let routes: Vec<String> =
                self.cluster_ports.iter().map(|p| format!("nats-route://127.0.0.1:{p}")).collect();
            conf += &format!(
                "cluster {{ name: af-test, listen: 127.0.0.1:{}, routes: [{}] }}\n",
                self.cluster_ports[i],
                routes.join(", ")
            );
        }
        let path = self.dir.path().join(format!("n{i}.conf"));
        std::fs::write(&path, conf).unwrap();
        path
    }

    fn spawn_node(&self, i: usize) -> Child {
        Command::new("nats-server")
            .arg("-c")
            .arg(self.config_of(i))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server")
    }

    /// Whether node `i` listens within 20 s (false at once when it has exited).
    fn wait_ready(&mut self, i: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.ports[i])).is_err() {
            let exited = self.nodes[i].as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
            if exited || Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        true
    }

    /// The URL list for `AF_BUS`: every node.
    pub fn url(&self) -> String {
        self.ports.iter().map(|p| format!("nats://127.0.0.1:{p}")).collect::<Vec<_>>().join(",")
    }

    /// Kills node `i` without warning (SIGKILL).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts node `i` again on its ports and store.
    pub fn restart(&mut self, i: usize) {
        assert!(self.nodes[i].is_none(), "node {i} is running");
        self.nodes[i] = Some(self.spawn_node(i));
        assert!(self.wait_ready(i), "nats-server node {i} did not listen on {} again", self.ports[i]);
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        for child in self.nodes.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
