#![cfg(feature = "server")]
//! The storage test suite. Every case runs on SQLite (a temporary file) and on PostgreSQL (a fresh
//! database per case) when `AF_TEST_POSTGRES_URL` points at a server whose role may create
//! databases. With `AF_REQUIRE_POSTGRES=1` (as in CI) a missing PostgreSQL fails instead of skipping.

mod support;

use anomalyforge::auth::{self, ClientInfo, LoginPolicy};
use anomalyforge::role::Role;
use anomalyforge::store::{now_ms, StoreError};
use anomalyforge::user::NewUser;
use support::TestDb;

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

on_both_backends!(
    migrations_are_idempotent_and_ping_works,
    users_round_trip_and_names_are_unique,
    last_admin_is_protected,
    disabling_ends_sessions,
    sessions_expire_and_role_changes_apply_at_once,
    login_rate_limit_counts_per_account_and_address,
    audit_trail_is_newest_first,
    api_tokens_are_stored_hashed_and_revocable,
    alert_batches_are_stored_in_one_transaction,
    a_failing_batch_stores_nothing,
);

fn new_user(name: &str, role: Role) -> NewUser {
    NewUser { username: name.into(), display_name: String::new(), role, password: "a long enough password".into() }
}

fn policy() -> LoginPolicy {
    LoginPolicy { max_failures_per_account: 3, max_failures_per_address: 5, window_ms: 60_000, session_ttl_ms: 3_600_000 }
}

fn client(ip: &str) -> ClientInfo {
    ClientInfo { ip: ip.into(), user_agent: "test".into() }
}

async fn migrations_are_idempotent_and_ping_works(db: &anomalyforge::store::Db) {
    db.migrate().await.unwrap();
    db.ping().await.unwrap();
    assert_eq!(db.count_users().await.unwrap(), 0);
}

async fn users_round_trip_and_names_are_unique(db: &anomalyforge::store::Db) {
    let u = auth::create_user(db, new_user("  Alice ", Role::Analyst)).await.unwrap();
    assert_eq!(u.username, "alice");
    assert_eq!(u.display_name, "alice");
    assert_eq!(u.role, Role::Analyst);
    assert!(!u.disabled);
    let again = auth::create_user(db, new_user("alice", Role::Employee)).await.unwrap_err();
    assert!(again.to_string().contains("already exists"), "{again}");
    let listed = db.list_users().await.unwrap();
    assert_eq!(listed, vec![u.clone()]);
    assert_eq!(db.user_by_id(u.id).await.unwrap(), u);
    assert!(matches!(db.user_by_id(9999).await, Err(StoreError::NotFound(_))));
    let creds = db.credentials("alice").await.unwrap().unwrap();
    assert!(creds.password_hash.starts_with("$argon2id$"));
    assert!(!format!("{creds:?}").contains("argon2"), "Debug must not print the hash");
}

async fn last_admin_is_protected(db: &anomalyforge::store::Db) {
    let a = auth::create_user(db, new_user("root", Role::Admin)).await.unwrap();
    let err = db.set_role(a.id, Role::Analyst).await.unwrap_err();
    assert!(err.to_string().contains("last active administrator"), "{err}");
    assert!(db.set_disabled(a.id, true).await.is_err());
    let b = auth::create_user(db, new_user("second", Role::Admin)).await.unwrap();
    db.set_role(a.id, Role::Analyst).await.unwrap();
    assert_eq!(db.user_by_id(a.id).await.unwrap().role, Role::Analyst);
    assert!(db.set_disabled(b.id, true).await.is_err(), "b is now the last admin");
}

async fn disabling_ends_sessions(db: &anomalyforge::store::Db) {
    auth::create_user(db, new_user("admin", Role::Admin)).await.unwrap();
    let u = auth::create_user(db, new_user("bob", Role::Employee)).await.unwrap();
    let (_, token) = auth::login(db, &policy(), "bob", "a long enough password", &client("10.0.0.1")).await.unwrap();
    assert!(auth::session_user(db, &token.token).await.unwrap().is_some());
    db.set_disabled(u.id, true).await.unwrap();
    assert!(auth::session_user(db, &token.token).await.unwrap().is_none());
    let err = auth::login(db, &policy(), "bob", "a long enough password", &client("10.0.0.1")).await.unwrap_err();
    assert_eq!(err.to_string(), "Invalid username or password.");
    db.set_disabled(u.id, false).await.unwrap();
    auth::login(db, &policy(), "bob", "a long enough password", &client("10.0.0.1")).await.unwrap();
}

async fn sessions_expire_and_role_changes_apply_at_once(db: &anomalyforge::store::Db) {
    auth::create_user(db, new_user("admin", Role::Admin)).await.unwrap();
    let u = auth::create_user(db, new_user("carol", Role::Employee)).await.unwrap();
    let (me, t1) = auth::login(db, &policy(), "carol", "a long enough password", &client("10.0.0.2")).await.unwrap();
    assert_eq!(me.role, Role::Employee);
    let (_, t2) = auth::login(db, &policy(), "carol", "a long enough password", &client("10.0.0.2")).await.unwrap();
    assert_ne!(t1.token, t2.token, "every sign-in issues a new session id");
    db.set_role(u.id, Role::Analyst).await.unwrap();
    assert_eq!(auth::session_user(db, &t1.token).await.unwrap().unwrap().role, Role::Analyst);
    db.set_session_expiry(&t1.hash, now_ms() - 1).await.unwrap();
    assert!(auth::session_user(db, &t1.token).await.unwrap().is_none());
    assert_eq!(db.prune_sessions().await.unwrap(), 1);
    auth::logout(db, &t2.token).await.unwrap();
    assert!(auth::session_user(db, &t2.token).await.unwrap().is_none());
    assert!(auth::session_user(db, "forged-token").await.unwrap().is_none());
}

async fn login_rate_limit_counts_per_account_and_address(db: &anomalyforge::store::Db) {
    auth::create_user(db, new_user("dave", Role::Analyst)).await.unwrap();
    auth::create_user(db, new_user("erin", Role::Analyst)).await.unwrap();
    let p = policy();
    for _ in 0..3 {
        let e = auth::login(db, &p, "dave", "wrong password!", &client("10.0.0.3")).await.unwrap_err();
        assert!(matches!(e, auth::AuthError::InvalidCredentials));
    }
    // Locked: even the right password is refused, and the message does not reveal anything.
    let e = auth::login(db, &p, "dave", "a long enough password", &client("10.0.0.4")).await.unwrap_err();
    assert!(matches!(e, auth::AuthError::TooManyAttempts { retry_after_secs } if retry_after_secs > 0 && retry_after_secs <= 60), "{e:?}");
    // An unknown account is limited the same way.
    for _ in 0..3 {
        auth::login(db, &p, "nobody", "whatever pass", &client("10.0.0.5")).await.unwrap_err();
    }
    assert!(matches!(auth::login(db, &p, "nobody", "x", &client("10.0.0.6")).await, Err(auth::AuthError::TooManyAttempts { .. })));
    // Per address: 10.0.0.5 has 3 failures; 2 more on another account reach the limit of 5.
    for _ in 0..2 {
        auth::login(db, &p, "erin", "wrong password!", &client("10.0.0.5")).await.unwrap_err();
    }
    assert!(matches!(
        auth::login(db, &p, "erin", "a long enough password", &client("10.0.0.5")).await,
        Err(auth::AuthError::TooManyAttempts { .. })
    ));
    // erin from another address is fine, and success clears her failures.
    auth::login(db, &p, "erin", "a long enough password", &client("10.0.0.7")).await.unwrap();
    assert_eq!(db.login_failures_for_account("erin", 0).await.unwrap().count, 0);
}

async fn audit_trail_is_newest_first(db: &anomalyforge::store::Db) {
    db.audit("admin", "user.create", "x", "role=analyst").await.unwrap();
    db.audit("admin", "user.disable", "x", "").await.unwrap();
    let entries = db.recent_audit(10).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].action, "user.disable");
    assert_eq!(entries[1].detail, "role=analyst");
}

async fn api_tokens_are_stored_hashed_and_revocable(db: &anomalyforge::store::Db) {
    use sqlx::Row;
    let a = auth::create_api_token(db, "  zeek-sensor-1 ", "admin").await.unwrap();
    assert!(a.secret.starts_with(auth::API_TOKEN_PREFIX) && a.secret.len() > 40, "{}", a.secret);
    assert_eq!(a.token.name, "zeek-sensor-1");
    assert!(!format!("{a:?}").contains(&a.secret), "Debug must not print the secret");
    let b = auth::create_api_token(db, "suricata", "cli").await.unwrap();
    assert_ne!(a.secret, b.secret);
    // Only the hash is stored.
    let stored: Vec<String> = sqlx::query("SELECT token_hash FROM api_tokens ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("token_hash").unwrap())
        .collect();
    assert_eq!(stored, vec![auth::hash_token(&a.secret), auth::hash_token(&b.secret)]);
    assert!(auth::create_api_token(db, "", "admin").await.is_err(), "a name is required");

    // Lookup by the bearer value records the use; unknown values find nothing.
    assert_eq!(a.token.last_used_at, None);
    let found = auth::api_token(db, &a.secret).await.unwrap().unwrap();
    assert_eq!(found.id, a.token.id);
    assert!(found.last_used_at.is_some());
    assert!(auth::api_token(db, "af_forged").await.unwrap().is_none());
    assert!(auth::api_token(db, "").await.unwrap().is_none());

    let listed = db.list_api_tokens().await.unwrap();
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), vec![b.token.id, a.token.id], "newest first");

    // Revoked tokens authenticate nothing; revoking is idempotent.
    let revoked = db.revoke_api_token(a.token.id).await.unwrap();
    let at = revoked.revoked_at.expect("revoked_at set");
    assert!(auth::api_token(db, &a.secret).await.unwrap().is_none());
    assert_eq!(db.revoke_api_token(a.token.id).await.unwrap().revoked_at, Some(at));
    assert!(auth::api_token(db, &b.secret).await.unwrap().is_some(), "other tokens keep working");
    assert!(matches!(db.revoke_api_token(9999).await, Err(StoreError::NotFound(_))));
}

fn ml_alert(i: i64) -> anomalyforge::store::alerts::NewAlert {
    anomalyforge::store::alerts::NewAlert {
        seen_at: 1_700_000_000_000 + i,
        src_ip: Some(format!("203.0.113.{}", i % 250)),
        src_port: Some(40_000 + i),
        dst_ip: Some("10.0.0.5".into()),
        dst_port: Some(22),
        protocol: Some(6),
        threat: "ssh_patator".into(),
        risk: 50 + i,
        detector: anomalyforge::alert::Detector::Ml,
        signature: None,
        reasons: r#"{"models":[]}"#.into(),
        features: "[]".into(),
    }
}

async fn alert_batches_are_stored_in_one_transaction(db: &anomalyforge::store::Db) {
    use anomalyforge::alert::{Detector, Severity};
    use anomalyforge::store::alerts::{BatchStats, NewAlert};
    // More rows than one INSERT statement holds, to cover the chunking.
    let mut alerts: Vec<NewAlert> = (0..1203).map(ml_alert).collect();
    alerts.push(NewAlert {
        src_ip: Some("2001:db8::1".into()),
        threat: anomalyforge::alert::SIGNATURE_THREAT.into(),
        risk: 170,
        detector: Detector::Signature,
        signature: Some("ET SCAN <Nmap> \"probe\"".into()),
        ..ml_alert(5000)
    });
    let stats = BatchStats { source: "suricata".into(), token_id: None, accepted: 1300, rejected: 2, skipped: 7, scored: 1300, score_ms: 12 };
    assert_eq!(db.persist_batch(&alerts, &stats).await.unwrap(), 1204);
    assert_eq!(db.count_alerts().await.unwrap(), 1204);
    let recent = db.recent_alerts(3).await.unwrap();
    assert_eq!(recent.len(), 3);
    let sig = &recent[0];
    assert_eq!(sig.detector, Detector::Signature);
    assert_eq!(sig.risk, 100, "risk is clamped to 0-100");
    assert_eq!(sig.severity, Severity::Critical);
    assert_eq!(sig.signature.as_deref(), Some("ET SCAN <Nmap> \"probe\""));
    assert_eq!(sig.src_ip.as_deref(), Some("2001:db8::1"));
    assert_eq!((sig.status.as_str(), sig.count), ("new", 1));
    assert_eq!(sig.first_seen, sig.last_seen);
    let ml = &recent[1];
    assert_eq!((ml.detector, ml.threat.as_str(), ml.dst_port, ml.protocol), (Detector::Ml, "ssh_patator", Some(22), Some(6)));
    assert_eq!(ml.reasons, r#"{"models":[]}"#);
    // An empty batch still records its statistics.
    db.persist_batch(&[], &BatchStats { source: "zeek".into(), accepted: 3, scored: 3, ..BatchStats::default() }).await.unwrap();
    let totals = db.ingest_totals().await.unwrap();
    assert_eq!((totals.batches, totals.accepted, totals.rejected, totals.skipped, totals.scored, totals.alerts), (2, 1303, 2, 7, 1303, 1204));
}

async fn a_failing_batch_stores_nothing(db: &anomalyforge::store::Db) {
    use anomalyforge::store::alerts::BatchStats;
    // The statistics row is written last in the batch's transaction: make it fail, after two chunks of
    // alerts went in, and nothing of the batch may remain.
    let alerts: Vec<_> = (0..600).map(ml_alert).collect();
    sqlx::query("DROP TABLE ingest_stats").execute(db.pool()).await.unwrap();
    let stats = BatchStats { source: "flows".into(), accepted: 600, scored: 600, ..BatchStats::default() };
    assert!(db.persist_batch(&alerts, &stats).await.is_err());
    assert_eq!(db.count_alerts().await.unwrap(), 0, "the alerts of a failed batch are rolled back");
}
