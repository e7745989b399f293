//! Test databases: a temporary SQLite file, or a fresh PostgreSQL database per test.

#![allow(dead_code)]

use anomalyforge::store::Db;

/// Runs each named `async fn(&Db)` of the calling test file as two tests: `sqlite::NAME` on a
/// temporary SQLite file and `postgres::NAME` on a fresh PostgreSQL database (skipped without
/// `AF_TEST_POSTGRES_URL`). The calling file imports `support::TestDb`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { let db = super::TestDb::sqlite().await; super::$name(&db.db).await; db.cleanup().await; })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(db) = super::TestDb::postgres().await else { return };
                super::$name(&db.db).await;
                db.cleanup().await;
            })*
        }
    };
}

pub struct TestDb {
    pub db: Db,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        let db = Db::connect(&url, 4).await.unwrap();
        db.migrate().await.unwrap();
        TestDb { db, url, _dir: Some(dir), pg: None }
    }

    /// A fresh PostgreSQL database, or `None` (skip) when none is configured. Panics when
    /// `AF_REQUIRE_POSTGRES=1` and PostgreSQL is not available, so CI cannot skip silently.
    pub async fn postgres() -> Option<TestDb> {
        let required = std::env::var("AF_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
        let Ok(admin_url) = std::env::var("AF_TEST_POSTGRES_URL") else {
            assert!(!required, "AF_REQUIRE_POSTGRES=1 but AF_TEST_POSTGRES_URL is not set");
            eprintln!("skipped: set AF_TEST_POSTGRES_URL to run the PostgreSQL half of this test");
            return None;
        };
        let admin =
            Db::connect(&admin_url, 1).await.unwrap_or_else(|e| panic!("PostgreSQL at AF_TEST_POSTGRES_URL: {e}"));
        let name = format!("af_test_{}", anomalyforge::auth::random_password().to_lowercase());
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.unwrap();
        admin.close().await;
        let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap().to_string();
        let url = format!("{base}/{name}");
        let db = Db::connect(&url, 4).await.unwrap();
        db.migrate().await.unwrap();
        Some(TestDb { db, url, _dir: None, pg: Some((admin_url, name)) })
    }

    pub async fn cleanup(self) {
        self.db.close().await;
        if let Some((admin_url, name)) = self.pg {
            if let Ok(admin) = Db::connect(&admin_url, 1).await {
                // FORCE: a server under test may still hold connections while it winds down.
                let _ =
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(admin.pool()).await;
                admin.close().await;
            }
        }
    }
}
