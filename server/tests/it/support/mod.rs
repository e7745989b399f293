//! `TestApp`: the real server on a free loopback port with a temporary SQLite database, plus
//! helpers to sign in as any role. With `AF_TEST_SERVER_BACKEND=postgres` (and
//! `AF_TEST_POSTGRES_URL`) each server gets a fresh PostgreSQL database instead, so every suite runs
//! on both backends (`scripts/test.sh` runs the server tests once per backend).

#![allow(dead_code)]

pub mod nats;
pub mod process;
/// The store tests' database helper (a fresh PostgreSQL database per test).
#[path = "../../../../tests/it/support/mod.rs"]
pub(crate) mod store_db;

use anomalyforge::auth;
use anomalyforge::config::{Config, Secret};
use anomalyforge::role::Role;
use anomalyforge::store::Db;
use anomalyforge::user::NewUser;
use std::net::SocketAddr;
use tokio::sync::oneshot;

pub const ADMIN_PASSWORD: &str = "admin password for tests";
pub const PASSWORD: &str = "role password for tests";

pub const ZEEK_TSV: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n\
1447864573.943457\tCxl7TP23vZQ4RolkJf\t10.0.2.112\t49168\t195.113.214.219\t80\ttcp\thttp\t0.055687\t261\t1077\tSF\t-\t-\t0\tShADadfF\t5\t473\t5\t1281\t(empty)\n\
1447864574.267228\tCW9u9wbGOMHboemg7\t10.0.2.112\t49171\t151.97.100.116\t6898\ttcp\t-\t-\t-\t-\tS0\t-\t-\t0\tS\t1\t52\t0\t0\t(empty)\n";

/// A Zeek conn.log line: `src` → `dst:port`/tcp at `ts` with the given state and counts.
pub fn zeek_line(ts: f64, uid: &str, src: &str, dst: &str, port: u16, state: &str, pkts: (u32, u32)) -> String {
    format!("{ts:.6}\t{uid}\t{src}\t50000\t{dst}\t{port}\ttcp\t-\t0.03\t0\t0\t{state}\tT\tF\t0\tSr\t{}\t104\t{}\t80\t(empty)\n", pkts.0, pkts.1)
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    pub config: Config,
    /// The ingest pipeline, when the app runs with ingest on ([`TestApp::spawn_ingest`]).
    pub pipeline: Option<anomalyforge::pipeline::Pipeline>,
    pub replay: Option<anomalyforge::replay::Replay>,
    /// The model registry (versions, the active one, the engine the pipeline scores with).
    pub models: anomalyforge::model_registry::Registry,
    /// File analyses, when ingest is on.
    pub analyses: Option<anomalyforge::analysis::service::Analyses>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
    /// The PostgreSQL database of this server, dropped at `stop`.
    pg: Option<store_db::TestDb>,
}

/// Whether the servers of this run use PostgreSQL (`AF_TEST_SERVER_BACKEND=postgres`).
pub fn on_postgres() -> bool {
    std::env::var("AF_TEST_SERVER_BACKEND").is_ok_and(|b| b == "postgres")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// The workspace's trained models (tests run with `server/` as the working directory, so the
    /// default `models` would not be found). Test helper only: the server itself uses `model_dir`.
    pub fn workspace_models() -> std::path::PathBuf {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
        assert!(
            dir.join("manifest.json").is_file(),
            "no trained models in {}: run scripts/train-model.sh (or `anomalyforge train --data data/cicids2017/improved_train.csv.gz --out models`) first",
            dir.display()
        );
        dir
    }

    /// A server with the ingest pipeline on (models from the workspace), adjusted by `adjust`.
    pub async fn spawn_ingest(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let models = Self::workspace_models();
        Self::spawn_with(move |c| {
            c.ingest = true;
            c.model_dir = models;
            c.geoip_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/geo/ip-country.csv.gz");
            c.replay.file =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/cicids2017/improved_train.csv.gz");
            adjust(c);
        })
        .await
    }

    /// A second instance on `first`'s PostgreSQL database (same accounts and data), with ingest on.
    /// Only on PostgreSQL: SQLite allows one instance.
    pub async fn spawn_joining(first: &TestApp, adjust: impl FnOnce(&mut Config)) -> TestApp {
        assert!(on_postgres(), "a second instance needs PostgreSQL");
        let url = first.config.database_url.clone();
        let models = Self::workspace_models();
        let app = Self::spawn_with(move |c| {
            c.ingest = true;
            c.model_dir = models;
            c.geoip_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/geo/ip-country.csv.gz");
            c.replay.autostart = Some(false);
            adjust(c);
            c.database_url = url;
        })
        .await;
        app
    }

    /// Stops this instance, leaving its database to `survivor` (which drops it when it stops).
    pub async fn stop_leaving_database_to(mut self, survivor: &mut TestApp) {
        std::mem::swap(&mut self.pg, &mut survivor.pg);
        self.stop().await;
    }

    /// Starts a server whose configuration `adjust` may change. Besides `admin` it has one
    /// account per other role, named after the role, with password [`PASSWORD`]. Ingest is off
    /// unless `adjust` turns it on (these tests need no models); see [`TestApp::spawn_ingest`].
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            admin_password: Some(Secret(ADMIN_PASSWORD.into())),
            site_root: dir.path().join("site"),
            ingest: false,
            ..Config::default()
        };
        let pg = if on_postgres() {
            let db =
                store_db::TestDb::postgres().await.expect("AF_TEST_SERVER_BACKEND=postgres needs AF_TEST_POSTGRES_URL");
            config.database_url = Some(db.url.clone());
            Some(db)
        } else {
            None
        };
        adjust(&mut config);
        let state = server::prepare(config.clone()).await.expect("server start-up");
        let db = state.db.clone();
        let pipeline = state.pipeline.clone();
        let replay = state.replay.clone();
        let models = state.models.clone();
        let analyses = state.analyses.clone();
        for role in [Role::Analyst, Role::Responder, Role::Executive, Role::Employee] {
            if db.user_by_username(role.as_str()).await.unwrap().is_none() {
                auth::create_user(
                    &db,
                    NewUser {
                        must_change_password: false,
                        username: role.as_str().into(),
                        display_name: String::new(),
                        role,
                        password: PASSWORD.into(),
                    },
                    None,
                )
                .await
                .unwrap();
            }
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let running = server::start(state, listener, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
        TestApp {
            addr: running.addr,
            db,
            config,
            pipeline,
            replay,
            models,
            analyses,
            shutdown: Some(tx),
            handle: Some(running.handle),
            _dir: dir,
            pg,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A client with its own cookie jar that does not follow redirects. A response that stalls
    /// fails its test after a minute instead of hanging the run.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap()
    }

    pub fn password_of(role: Role) -> &'static str {
        if role == Role::Admin {
            ADMIN_PASSWORD
        } else {
            PASSWORD
        }
    }

    pub fn username_of(role: Role) -> &'static str {
        role.as_str()
    }

    /// Calls a server function (`/api/<endpoint>`) with a form body.
    pub async fn call(&self, client: &reqwest::Client, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        client.post(self.url(&format!("/api/{endpoint}"))).form(form).send().await.unwrap()
    }

    pub async fn login(&self, client: &reqwest::Client, username: &str, password: &str) -> reqwest::Response {
        self.call(client, "auth/login", &[("username", username), ("password", password)]).await
    }

    /// A client signed in as the account of `role`.
    pub async fn signed_in(&self, role: Role) -> reqwest::Client {
        let c = self.client();
        let res = self.login(&c, Self::username_of(role), Self::password_of(role)).await;
        assert_eq!(res.status(), 200, "sign-in as {role}: {}", res.text().await.unwrap_or_default());
        c
    }

    /// Ingests the shipped sample of real CIC-IDS2017 attack rows (DDoS, port scan, SSH brute force
    /// from 172.16.0.1 to 192.168.10.50) through `/api/v1/ingest/csv`, the attacker moved to `src`
    /// if given, and returns the reply.
    pub async fn ingest_attacks(&self, token: &str, src: Option<&str>) -> serde_json::Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../data/cicids2017/fixtures/cicids2017_attacks_sample.csv");
        let csv = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let body = match src {
            Some(src) => csv.replace("172.16.0.1", src),
            None => csv,
        };
        let res = self
            .client()
            .post(self.url("/api/v1/ingest/csv"))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// A fresh API token's bearer value.
    pub async fn api_token(&self, name: &str) -> String {
        auth::create_api_token(
            &self.db,
            anomalyforge::auth::TokenRequest { name, scopes: "ingest,read", expires_in_days: None },
            "test",
        )
        .await
        .unwrap()
        .secret
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
        if let Some(pg) = self.pg.take() {
            self.db.close().await;
            pg.cleanup().await;
        }
    }
}

/// The session cookie set by a response, if any.
pub fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("af_session="))
        .map(str::to_string)
}
