#![cfg(feature = "server")]
//! The storage test suite. Every case runs on SQLite (a temporary file) and on PostgreSQL (a fresh
//! database per case) when `AF_TEST_POSTGRES_URL` points at a server whose role may create
//! databases. With `AF_REQUIRE_POSTGRES=1` (as in CI) a missing PostgreSQL fails instead of skipping.

use crate::support::TestDb;
use anomalyforge::audit::AuditAction;
use anomalyforge::auth::{self, ClientInfo, LoginPolicy};
use anomalyforge::role::Role;
use anomalyforge::store::{now_ms, StoreError};
use anomalyforge::user::NewUser;

on_both_backends!(
    migrations_are_idempotent_and_ping_works,
    users_round_trip_and_names_are_unique,
    last_admin_is_protected,
    disabling_ends_sessions,
    sessions_expire_and_role_changes_apply_at_once,
    login_rate_limit_counts_per_account_and_address,
    parallel_guesses_never_exceed_the_limit,
    the_owner_passes_a_lock_from_their_last_sign_in_address,
    demo_accounts_do_not_outlive_demo_mode,
    demo_mode_refuses_a_database_with_real_accounts,
    a_generated_first_password_must_be_changed_by_its_owner,
    audit_trail_is_newest_first,
    changes_commit_with_their_audit_row,
    api_tokens_are_stored_hashed_and_revocable,
    alert_batches_are_stored_in_one_transaction,
    a_failing_batch_stores_nothing,
    repeated_detections_update_one_open_alert,
    batches_keep_traffic_and_hourly_aggregates,
    assets_are_discovered_and_reviewed,
    reports_become_intel_until_dismissed,
    playbooks_are_seeded_for_every_threat,
    alerts_are_filtered_and_paged_by_cursor,
    alerts_are_triaged_with_history,
    false_positives_keep_their_flow_for_the_next_baseline,
    alerts_with_and_without_coordinates_are_stored_in_any_order,
    suppression_rules_count_what_they_absorb,
    console_queue_filters_groups_and_overview,
    reports_are_queued_by_address_and_decided_together,
    flows_are_stored_searched_and_dropped_by_whole_days,
    threat_intel_is_imported_retro_hunted_checked_and_expired,
    confirmed_reports_are_an_intel_source,
);

fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: String::new(),
        role,
        password: "a long enough password".into(),
        must_change_password: false,
    }
}

fn policy() -> LoginPolicy {
    LoginPolicy {
        max_failures_per_account: 3,
        max_failures_per_address: 5,
        window_ms: 60_000,
        session_ttl_ms: 3_600_000,
    }
}

fn client(ip: &str) -> ClientInfo {
    ClientInfo { ip: ip.into(), user_agent: "test".into() }
}

async fn migrations_are_idempotent_and_ping_works(db: &anomalyforge::store::Db) {
    db.migrate().await.unwrap();
    db.ping().await.unwrap();
    // SQLite syncs every commit to disk unless told otherwise (FULL = 2, NORMAL = 1).
    match db.backend() {
        anomalyforge::store::Backend::Sqlite => {
            assert_eq!(db.sqlite_synchronous().await.unwrap(), Some(2));
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/n.db?mode=rwc", dir.path().display());
            let normal =
                anomalyforge::store::Db::connect_with(&url, 1, anomalyforge::store::SqliteSync::Normal).await.unwrap();
            assert_eq!(normal.sqlite_synchronous().await.unwrap(), Some(1));
        }
        anomalyforge::store::Backend::Postgres => assert_eq!(db.sqlite_synchronous().await.unwrap(), None),
    }
    assert_eq!(db.count_users().await.unwrap(), 0);
}

async fn users_round_trip_and_names_are_unique(db: &anomalyforge::store::Db) {
    let u = auth::create_user(db, new_user("  Alice ", Role::Analyst), None).await.unwrap();
    assert_eq!(u.username, "alice");
    assert_eq!(u.display_name, "alice");
    assert_eq!(u.role, Role::Analyst);
    assert!(!u.disabled);
    let again = auth::create_user(db, new_user("alice", Role::Employee), None).await.unwrap_err();
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
    let a = auth::create_user(db, new_user("root", Role::Admin), None).await.unwrap();
    let err = db.set_role(a.id, Role::Analyst, None).await.unwrap_err();
    assert!(err.to_string().contains("last active administrator"), "{err}");
    assert!(db.set_disabled(a.id, true, None).await.is_err());
    let b = auth::create_user(db, new_user("second", Role::Admin), None).await.unwrap();
    db.set_role(a.id, Role::Analyst, None).await.unwrap();
    assert_eq!(db.user_by_id(a.id).await.unwrap().role, Role::Analyst);
    assert!(db.set_disabled(b.id, true, None).await.is_err(), "b is now the last admin");
}

async fn disabling_ends_sessions(db: &anomalyforge::store::Db) {
    auth::create_user(db, new_user("admin", Role::Admin), None).await.unwrap();
    let u = auth::create_user(db, new_user("bob", Role::Employee), None).await.unwrap();
    let (_, token) = auth::login(db, &policy(), "bob", "a long enough password", &client("10.0.0.1")).await.unwrap();
    assert!(auth::session_user(db, &token.token).await.unwrap().is_some());
    db.set_disabled(u.id, true, None).await.unwrap();
    assert!(auth::session_user(db, &token.token).await.unwrap().is_none());
    let err = auth::login(db, &policy(), "bob", "a long enough password", &client("10.0.0.1")).await.unwrap_err();
    assert_eq!(err.to_string(), "Invalid username or password.");
    db.set_disabled(u.id, false, None).await.unwrap();
    auth::login(db, &policy(), "bob", "a long enough password", &client("10.0.0.1")).await.unwrap();
}

async fn sessions_expire_and_role_changes_apply_at_once(db: &anomalyforge::store::Db) {
    auth::create_user(db, new_user("admin", Role::Admin), None).await.unwrap();
    let u = auth::create_user(db, new_user("carol", Role::Employee), None).await.unwrap();
    let (me, t1) = auth::login(db, &policy(), "carol", "a long enough password", &client("10.0.0.2")).await.unwrap();
    assert_eq!(me.role, Role::Employee);
    let (_, t2) = auth::login(db, &policy(), "carol", "a long enough password", &client("10.0.0.2")).await.unwrap();
    assert_ne!(t1.token, t2.token, "every sign-in issues a new session id");
    db.set_role(u.id, Role::Analyst, None).await.unwrap();
    assert_eq!(auth::session_user(db, &t1.token).await.unwrap().unwrap().role, Role::Analyst);
    db.set_session_expiry(&t1.hash, now_ms() - 1).await.unwrap();
    assert!(auth::session_user(db, &t1.token).await.unwrap().is_none());
    assert_eq!(db.prune_sessions().await.unwrap(), 1);
    auth::logout(db, &t2.token).await.unwrap();
    assert!(auth::session_user(db, &t2.token).await.unwrap().is_none());
    assert!(auth::session_user(db, "forged-token").await.unwrap().is_none());
}

async fn login_rate_limit_counts_per_account_and_address(db: &anomalyforge::store::Db) {
    auth::create_user(db, new_user("dave", Role::Analyst), None).await.unwrap();
    auth::create_user(db, new_user("erin", Role::Analyst), None).await.unwrap();
    let p = policy();
    for _ in 0..3 {
        let e = auth::login(db, &p, "dave", "wrong password!", &client("10.0.0.3")).await.unwrap_err();
        assert!(matches!(e, auth::AuthError::InvalidCredentials));
    }
    // Locked: even the right password is refused, and the message does not reveal anything.
    let e = auth::login(db, &p, "dave", "a long enough password", &client("10.0.0.4")).await.unwrap_err();
    assert!(
        matches!(e, auth::AuthError::TooManyAttempts { retry_after_secs } if retry_after_secs > 0 && retry_after_secs <= 60),
        "{e:?}"
    );
    // An unknown account is limited the same way.
    for _ in 0..3 {
        auth::login(db, &p, "nobody", "whatever pass", &client("10.0.0.5")).await.unwrap_err();
    }
    assert!(matches!(
        auth::login(db, &p, "nobody", "x", &client("10.0.0.6")).await,
        Err(auth::AuthError::TooManyAttempts { .. })
    ));
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

/// 40 wrong passwords for one account at once: at most the limit (3) are checked and answered as
/// wrong; the rest are refused before any password check.
async fn parallel_guesses_never_exceed_the_limit(db: &anomalyforge::store::Db) {
    auth::create_user(db, new_user("frank", Role::Analyst), None).await.unwrap();
    let p = LoginPolicy { max_failures_per_address: 1000, ..policy() };
    let tries = (0..40).map(|i| {
        let (db, p) = (db.clone(), p.clone());
        tokio::spawn(
            async move { auth::login(&db, &p, "frank", "wrong password!", &client(&format!("10.1.0.{i}"))).await },
        )
    });
    let mut wrong = 0;
    for t in tries {
        match t.await.unwrap() {
            Err(auth::AuthError::InvalidCredentials) => wrong += 1,
            Err(auth::AuthError::TooManyAttempts { .. } | auth::AuthError::Busy { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!((1..=3).contains(&wrong), "{wrong} guesses were checked; the limit is 3");
    assert_eq!(
        db.login_failures_for_account("frank", 0).await.unwrap().count,
        wrong,
        "refused attempts take their row back"
    );
}

/// A stranger's guesses lock an account against new addresses, but its owner still signs in from the
/// address of their last successful sign-in.
async fn the_owner_passes_a_lock_from_their_last_sign_in_address(db: &anomalyforge::store::Db) {
    auth::create_user(db, new_user("grace", Role::Admin), None).await.unwrap();
    let p = policy();
    auth::login(db, &p, "grace", "a long enough password", &client("10.2.0.1")).await.unwrap();
    for _ in 0..3 {
        auth::login(db, &p, "grace", "guess guess guess", &client("198.51.100.66")).await.unwrap_err();
    }
    let e = auth::login(db, &p, "grace", "a long enough password", &client("198.51.100.67")).await.unwrap_err();
    assert!(matches!(e, auth::AuthError::TooManyAttempts { .. }), "{e:?}");
    auth::login(db, &p, "grace", "a long enough password", &client("10.2.0.1"))
        .await
        .expect("the owner's usual address passes");
    assert_eq!(db.login_failures_for_account("grace", 0).await.unwrap().count, 0);
}

async fn a_generated_first_password_must_be_changed_by_its_owner(db: &anomalyforge::store::Db) {
    use auth::PasswordChange;
    let boot = auth::bootstrap(db, None, false).await.unwrap();
    let first = boot.generated_admin_password.expect("a generated password, shown once");
    let (me, token) = auth::login(db, &policy(), "admin", &first, &client("10.4.0.1")).await.unwrap();
    assert!(me.must_change_password, "signed in, but must choose a password first");
    assert!(auth::session_user(db, &token.token).await.unwrap().unwrap().must_change_password);
    let (_, other) = auth::login(db, &policy(), "admin", &first, &client("10.4.0.2")).await.unwrap();
    let change = |current: &str, new: &str, confirm: &str| PasswordChange {
        current: current.into(),
        new: new.into(),
        confirm: confirm.into(),
    };
    let field = |e: auth::AuthError| match e {
        auth::AuthError::Invalid(f) => f.field,
        e => panic!("{e:?}"),
    };
    let try_change = |c: PasswordChange| {
        let (me, token) = (me.clone(), token.token.clone());
        async move { auth::change_own_password(db, &policy(), &me, &token, &client("10.4.0.1"), &c).await }
    };
    assert_eq!(
        field(try_change(change("", "my own new password", "my own new password")).await.unwrap_err()),
        "current"
    );
    assert_eq!(field(try_change(change(&first, "short", "short")).await.unwrap_err()), "new");
    assert_eq!(
        field(try_change(change(&first, "my own new password", "my own new passw0rd")).await.unwrap_err()),
        "confirm"
    );
    assert_eq!(field(try_change(change(&first, &first, &first)).await.unwrap_err()), "new");
    assert_eq!(
        field(try_change(change("not the password", "my own new password", "my own new password")).await.unwrap_err()),
        "current"
    );
    assert_eq!(
        db.login_failures_for_account("admin", 0).await.unwrap().count,
        1,
        "a wrong current password counts as a failed sign-in"
    );
    try_change(change(&first, "my own new password", "my own new password")).await.unwrap();
    let now = auth::session_user(db, &token.token).await.unwrap().expect("this session stays");
    assert!(!now.must_change_password);
    assert!(auth::session_user(db, &other.token).await.unwrap().is_none(), "every other session ended");
    assert!(auth::login(db, &policy(), "admin", &first, &client("10.4.0.1")).await.is_err());
    auth::login(db, &policy(), "admin", "my own new password", &client("10.4.0.1")).await.unwrap();
    let audit = db.recent_audit(5).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "user.password_change" && e.actor == "admin"), "{audit:?}");
}

async fn demo_accounts_do_not_outlive_demo_mode(db: &anomalyforge::store::Db) {
    let boot = auth::bootstrap(db, Some("a long enough password"), true).await.unwrap();
    assert_eq!(boot.demo_accounts.len(), Role::ALL.len());
    assert!(
        !db.user_by_username("admin").await.unwrap().unwrap().must_change_password,
        "the operator chose AF_ADMIN_PASSWORD"
    );
    assert!(!db.user_by_username("demo.analyst").await.unwrap().unwrap().must_change_password);
    let (_, token) = auth::login(db, &policy(), "demo.admin", "admin-demo-pass", &client("10.3.0.1")).await.unwrap();
    // The next start without demo mode retires every demo account and ends its sessions.
    let boot = auth::bootstrap(db, None, false).await.unwrap();
    assert_eq!(boot.demo_accounts_retired.len(), Role::ALL.len(), "{:?}", boot.demo_accounts_retired);
    assert!(auth::session_user(db, &token.token).await.unwrap().is_none());
    for role in Role::ALL {
        let e = auth::login(db, &policy(), &format!("demo.{role}"), &format!("{role}-demo-pass"), &client("10.3.0.2"))
            .await
            .unwrap_err();
        assert!(matches!(e, auth::AuthError::InvalidCredentials), "demo.{role}: {e:?}");
    }
    // Even when demo.admin is the last active administrator, its public password stops working.
    let admin = db.user_by_username("admin").await.unwrap().unwrap();
    db.set_disabled(db.user_by_username("demo.admin").await.unwrap().unwrap().id, false, None).await.unwrap();
    db.set_disabled(admin.id, true, None).await.unwrap();
    auth::bootstrap(db, None, false).await.unwrap();
    let e = auth::login(db, &policy(), "demo.admin", "admin-demo-pass", &client("10.3.0.3")).await.unwrap_err();
    assert!(matches!(e, auth::AuthError::InvalidCredentials), "{e:?}");
}

async fn demo_mode_refuses_a_database_with_real_accounts(db: &anomalyforge::store::Db) {
    auth::bootstrap(db, Some("a long enough password"), true).await.unwrap();
    auth::bootstrap(db, None, true).await.expect("a demo database starts in demo mode again");
    auth::create_user(db, new_user("henry", Role::Analyst), None).await.unwrap();
    let e = auth::bootstrap(db, None, true).await.unwrap_err();
    assert!(e.to_string().contains("henry") && e.to_string().contains("AF_DATA_DIR"), "{e}");
}

async fn audit_trail_is_newest_first(db: &anomalyforge::store::Db) {
    db.audit("admin", AuditAction::UserCreate, "x", "role=analyst").await.unwrap();
    db.audit("admin", AuditAction::UserDisable, "x", "").await.unwrap();
    let entries = db.recent_audit(10).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].action, "user.disable");
    assert_eq!(entries[1].detail, "role=analyst");
}

/// A change and its audit row commit together: a refused change leaves no row, and start-up
/// changes (`None`) are not audited.
async fn changes_commit_with_their_audit_row(db: &anomalyforge::store::Db) {
    use anomalyforge::suppression::NewSuppression;
    let actions = |db: &anomalyforge::store::Db| {
        let db = db.clone();
        async move { db.recent_audit(100).await.unwrap().into_iter().map(|e| e.action).collect::<Vec<_>>() }
    };
    let root = auth::create_user(db, new_user("root", Role::Admin), Some("cli")).await.unwrap();
    let bob = auth::create_user(db, new_user("bob", Role::Employee), None).await.unwrap();
    assert_eq!(actions(db).await, ["user.create"], "seeding is not audited");
    db.set_role(bob.id, Role::Analyst, Some("root")).await.unwrap();
    assert!(db.set_disabled(root.id, true, Some("root")).await.is_err(), "the last admin");
    assert!(db.delete_suppression(999, "root").await.is_err());
    let rule = NewSuppression {
        src_ip: Some("203.0.113.9".into()),
        threat: None,
        asset_ip: None,
        reason: "scanner we run".into(),
        expires_in_hours: None,
    };
    let r = db.create_suppression(&rule, "bob").await.unwrap();
    db.delete_suppression(r.id, "bob").await.unwrap();
    assert_eq!(actions(db).await, ["suppression.delete", "suppression.create", "user.set_role", "user.create"]);
    let entries = db.recent_audit(1).await.unwrap();
    assert_eq!((entries[0].actor.as_str(), entries[0].target.as_str()), ("bob", format!("#{}", r.id).as_str()));
    assert!(entries[0].detail.contains("203.0.113.9") && entries[0].detail.contains("scanner we run"));
    for e in db.recent_audit(100).await.unwrap() {
        assert!(AuditAction::parse(&e.action).is_some(), "{} is a typed action", e.action);
    }
}

async fn api_tokens_are_stored_hashed_and_revocable(db: &anomalyforge::store::Db) {
    use sqlx::Row;
    let a = auth::create_api_token(
        db,
        auth::TokenRequest { name: "  zeek-sensor-1 ", scopes: "ingest", expires_in_days: None },
        "admin",
    )
    .await
    .unwrap();
    assert!(a.secret.starts_with(auth::API_TOKEN_PREFIX) && a.secret.len() > 40, "{}", a.secret);
    assert_eq!(a.token.name, "zeek-sensor-1");
    assert!(!format!("{a:?}").contains(&a.secret), "Debug must not print the secret");
    let b = auth::create_api_token(
        db,
        auth::TokenRequest { name: "suricata", scopes: "ingest", expires_in_days: None },
        "cli",
    )
    .await
    .unwrap();
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
    assert!(
        auth::create_api_token(db, auth::TokenRequest { name: "", scopes: "ingest", expires_in_days: None }, "admin")
            .await
            .is_err(),
        "a name is required"
    );

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
    let revoked = db.revoke_api_token(a.token.id, "admin").await.unwrap();
    let at = revoked.revoked_at.expect("revoked_at set");
    assert!(auth::api_token(db, &a.secret).await.unwrap().is_none());
    assert_eq!(db.revoke_api_token(a.token.id, "admin").await.unwrap().revoked_at, Some(at));
    assert!(auth::api_token(db, &b.secret).await.unwrap().is_some(), "other tokens keep working");
    assert!(matches!(db.revoke_api_token(9999, "admin").await, Err(StoreError::NotFound(_))));
}

fn ml_alert(i: i64) -> anomalyforge::store::alerts::NewAlert {
    let risk = 50 + i;
    anomalyforge::store::alerts::NewAlert {
        seen_at: 1_700_000_000_000 + i,
        last_seen: 1_700_000_000_000 + i,
        src_ip: Some(format!("203.0.113.{}", i % 250)),
        src_port: Some(40_000 + i),
        dst_ip: Some("10.0.0.5".into()),
        dst_port: Some(22),
        protocol: Some(6),
        threat: "ssh_patator".into(),
        risk,
        risk_sum: risk,
        base_risk: risk,
        detector: anomalyforge::alert::Detector::Ml,
        reasons: r#"{"models":[]}"#.into(),
        ..anomalyforge::store::alerts::NewAlert::blank()
    }
}

/// A batch of `alerts` with no deduplication, assets or traffic.
fn plain_batch(
    alerts: Vec<anomalyforge::store::alerts::NewAlert>,
    stats: anomalyforge::store::alerts::BatchStats,
) -> anomalyforge::store::alerts::PersistBatch {
    anomalyforge::store::alerts::PersistBatch { alerts, stats, ..Default::default() }
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
    let stats = BatchStats {
        source: "suricata".into(),
        token_id: None,
        accepted: 1300,
        rejected: 2,
        skipped: 7,
        scored: 1300,
        score_ms: 12,
    };
    let stored = db.persist_batch(&plain_batch(alerts, stats)).await.unwrap();
    assert_eq!(stored.len(), 1204);
    assert!(stored.iter().all(|s| s.created));
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
    assert_eq!(
        (ml.detector, ml.threat.as_str(), ml.dst_port, ml.protocol),
        (Detector::Ml, "ssh_patator", Some(22), Some(6))
    );
    assert_eq!(ml.reasons, r#"{"models":[]}"#);
    // An empty batch still records its statistics.
    db.persist_batch(&plain_batch(
        vec![],
        BatchStats { source: "zeek".into(), accepted: 3, scored: 3, ..BatchStats::default() },
    ))
    .await
    .unwrap();
    let totals = db.ingest_totals().await.unwrap();
    assert_eq!(
        (totals.batches, totals.accepted, totals.rejected, totals.skipped, totals.scored, totals.alerts),
        (2, 1303, 2, 7, 1303, 1204)
    );
    // A behaviour detector's alert keeps its detector and count (the schema's CHECK admits it).
    let beacon = NewAlert {
        threat: "c2_beacon".into(),
        detector: Detector::Behaviour,
        count: 719,
        reasons: r#"{"summary":"719 connection attempts"}"#.into(),
        ..ml_alert(6000)
    };
    let stored = db.persist_batch(&plain_batch(vec![beacon], BatchStats::default())).await.unwrap();
    let b = db.alert_by_id(stored[0].alert.id).await.unwrap();
    assert_eq!((b.detector, b.threat.as_str(), b.count), (Detector::Behaviour, "c2_beacon", 719));
}

async fn a_failing_batch_stores_nothing(db: &anomalyforge::store::Db) {
    use anomalyforge::store::alerts::BatchStats;
    // The statistics row is written last in the batch's transaction: make it fail, after two chunks of
    // alerts went in, and nothing of the batch may remain.
    let alerts: Vec<_> = (0..600).map(ml_alert).collect();
    sqlx::query("DROP TABLE ingest_stats").execute(db.pool()).await.unwrap();
    let stats = BatchStats { source: "flows".into(), accepted: 600, scored: 600, ..BatchStats::default() };
    assert!(db.persist_batch(&plain_batch(alerts, stats)).await.is_err());
    assert_eq!(db.count_alerts().await.unwrap(), 0, "the alerts of a failed batch are rolled back");
}

async fn repeated_detections_update_one_open_alert(db: &anomalyforge::store::Db) {
    use anomalyforge::store::alerts::{BatchStats, NewAlert, PersistBatch};
    let window = 60_000;
    let det = |at: i64, risk: i64, reasons: &str| NewAlert {
        seen_at: at,
        last_seen: at,
        src_ip: Some("198.51.100.7".into()),
        dst_ip: Some("10.0.0.5".into()),
        threat: "port_scan".into(),
        risk,
        risk_sum: risk,
        base_risk: risk,
        reasons: reasons.into(),
        ..NewAlert::blank()
    };
    let batch = |alerts: Vec<NewAlert>| PersistBatch {
        alerts,
        dedup_window_ms: window,
        stats: BatchStats { source: "flows".into(), ..Default::default() },
        ..Default::default()
    };
    let first = db.persist_batch(&batch(vec![det(1_000_000, 60, "{\"n\":1}")])).await.unwrap();
    assert!(first[0].created);
    let id = first[0].alert.id;
    // Within the window: the same alert grows; the riskier detection's reasons replace the old ones.
    let second = db
        .persist_batch(&batch(vec![NewAlert { count: 3, risk_sum: 240, ..det(1_030_000, 80, "{\"n\":2}") }]))
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    let a = &second[0].alert;
    assert!(!second[0].created);
    assert_eq!((a.id, a.count, a.first_seen, a.last_seen, a.risk), (id, 4, 1_000_000, 1_030_000, 80));
    assert_eq!(
        (a.severity, a.reasons.as_str(), a.base_risk),
        (anomalyforge::alert::Severity::High, "{\"n\":2}", Some(80))
    );
    // A lower risk later keeps the higher one.
    let third = db.persist_batch(&batch(vec![det(1_050_000, 40, "{\"n\":3}")])).await.unwrap();
    assert_eq!((third[0].alert.count, third[0].alert.risk, third[0].alert.reasons.as_str()), (5, 80, "{\"n\":2}"));
    // Past the window: a new alert.
    let later = db.persist_batch(&batch(vec![det(1_050_000 + window + 1, 50, "{}")])).await.unwrap();
    assert!(later[0].created);
    assert_ne!(later[0].alert.id, id);
    // A resolved alert is not reopened: a new one starts.
    sqlx::query("UPDATE alerts SET status = 'resolved'").execute(db.pool()).await.unwrap();
    let after_resolve = db.persist_batch(&batch(vec![det(1_200_000, 50, "{}")])).await.unwrap();
    assert!(after_resolve[0].created);
    assert_eq!(db.count_alerts().await.unwrap(), 3);
    // Window 0 = no deduplication.
    let off =
        db.persist_batch(&PersistBatch { dedup_window_ms: 0, ..batch(vec![det(1_200_001, 50, "{}")]) }).await.unwrap();
    assert!(off[0].created);
    assert_eq!(db.count_alerts().await.unwrap(), 4);
}

async fn batches_keep_traffic_and_hourly_aggregates(db: &anomalyforge::store::Db) {
    use anomalyforge::asset::Criticality;
    use anomalyforge::store::alerts::{NewAlert, PersistBatch, TrafficCount, TrafficKey};
    let hour = 1_700_000_000_000 / 3_600_000 * 3_600_000;
    let key = |country: &str, verdict: &'static str| TrafficKey {
        minute: hour,
        country: country.into(),
        protocol: 6,
        verdict,
    };
    let det = |src: &str, risk: i64| NewAlert {
        seen_at: hour + 5,
        last_seen: hour + 5,
        src_ip: Some(src.into()),
        threat: "ddos".into(),
        risk,
        risk_sum: risk,
        src_country: Some("DE".into()),
        criticality: Some(Criticality::High),
        ..NewAlert::blank()
    };
    let batch = |traffic: Vec<(TrafficKey, TrafficCount)>, alerts: Vec<NewAlert>| PersistBatch {
        traffic,
        alerts,
        dedup_window_ms: 600_000,
        ..Default::default()
    };
    db.persist_batch(&batch(
        vec![
            (key("DE", "alert"), TrafficCount { flows: 3, bytes: 300 }),
            (key("ZZ", "benign"), TrafficCount { flows: 10, bytes: 5 }),
        ],
        vec![det("198.51.100.1", 70), det("198.51.100.2", 90)],
    ))
    .await
    .unwrap();
    db.persist_batch(&batch(
        vec![(key("DE", "alert"), TrafficCount { flows: 2, bytes: 20 })],
        vec![det("198.51.100.1", 80)],
    ))
    .await
    .unwrap();
    let traffic = db.traffic_between(hour, hour + 60_000).await.unwrap();
    let de = traffic.iter().find(|r| r.country == "DE").unwrap();
    assert_eq!((de.flows, de.bytes, de.verdict.as_str()), (5, 320, "alert"));
    assert_eq!(traffic.len(), 2);
    let hourly = db.hourly_between(hour, hour + 3_600_000).await.unwrap();
    assert_eq!(hourly.len(), 1, "{hourly:?}");
    let h = &hourly[0];
    // Two alerts created, three detections (one deduplicated), risks 70 + 90 + 80.
    assert_eq!((h.threat.as_str(), h.criticality.as_str(), h.country.as_str()), ("ddos", "high", "DE"));
    assert_eq!((h.alerts, h.detections, h.risk_sum, h.max_risk), (2, 3, 240, 90));
    assert!(db.hourly_between(hour + 3_600_000, hour + 7_200_000).await.unwrap().is_empty());
}

async fn assets_are_discovered_and_reviewed(db: &anomalyforge::store::Db) {
    use anomalyforge::asset::Criticality;
    use anomalyforge::store::alerts::{NewAlert, PersistBatch};
    use anomalyforge::store::assets::AssetFields;
    let inventory = db
        .upsert_asset(
            &AssetFields {
                ip: "10.0.0.5".into(),
                owner: Some("Payments team".into()),
                criticality: Some(Criticality::Critical),
                tags: vec!["pci".into(), "web".into()],
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert!(!inventory.discovered);
    let alert = NewAlert {
        seen_at: 5_000,
        last_seen: 5_000,
        threat: "ddos".into(),
        asset_ip: Some("10.0.0.9".into()),
        ..NewAlert::blank()
    };
    let stored = db
        .persist_batch(&PersistBatch {
            alerts: vec![alert],
            assets_seen: vec![("10.0.0.5".into(), 7_000), ("10.0.0.9".into(), 5_000)],
            ..Default::default()
        })
        .await
        .unwrap();
    let found = db.asset_by_ip("10.0.0.9").await.unwrap().expect("discovered");
    assert!(found.discovered && found.is_unassigned());
    assert_eq!((found.criticality, found.first_seen, found.last_seen), (Criticality::Medium, Some(5_000), Some(5_000)));
    assert_eq!(stored[0].alert.asset_id, Some(found.id), "the alert points at the discovered asset");
    let known = db.asset_by_ip("10.0.0.5").await.unwrap().unwrap();
    assert_eq!(
        (known.owner.as_deref(), known.criticality, known.last_seen, known.discovered),
        (Some("Payments team"), Criticality::Critical, Some(7_000), false)
    );
    assert_eq!(known.tags, vec!["pci", "web"]);
    let listed = db.list_assets(false, 10, 0).await.unwrap();
    assert_eq!(
        listed.iter().map(|a| a.ip.as_str()).collect::<Vec<_>>(),
        vec!["10.0.0.5", "10.0.0.9"],
        "most critical first"
    );
    assert_eq!(db.list_assets(true, 10, 0).await.unwrap().len(), 1);
    let index = db.asset_index().await.unwrap();
    assert_eq!(index.len(), 2);
    // Reviewing a discovered asset fills it in and clears the flag.
    let reviewed = db
        .upsert_asset(&AssetFields { ip: "10.0.0.9".into(), owner: Some("IT".into()), ..Default::default() }, None)
        .await
        .unwrap();
    assert_eq!((reviewed.id, reviewed.discovered, reviewed.first_seen), (found.id, false, Some(5_000)));
    // Alerts per asset: the discovered host has the one alert, open, with its risk.
    let stats = db.alert_stats_for_assets(&[found.id, known.id]).await.unwrap();
    assert_eq!(stats.get(&found.id).map(|s| (s.total, s.open)), Some((1, 1)));
    assert!(!stats.contains_key(&known.id));
    // An import creates new addresses and replaces known ones, in one transaction.
    let edit = |ip: &str, owner: &str| anomalyforge::asset::AssetEdit {
        ip: ip.into(),
        hostname: None,
        owner: Some(owner.into()),
        purpose: None,
        criticality: Criticality::High,
        tags: vec!["imported".into()],
    };
    let (created, updated) =
        db.import_assets(&[edit("10.0.0.5", "Payments"), edit("10.0.0.20", "Web")], None, 0).await.unwrap();
    assert_eq!((created, updated), (1, 1));
    let replaced = db.asset_by_ip("10.0.0.5").await.unwrap().unwrap();
    assert_eq!(
        (replaced.owner.as_deref(), replaced.criticality, replaced.tags.clone()),
        (Some("Payments"), Criticality::High, vec!["imported".to_string()])
    );
    assert_eq!(db.count_assets().await.unwrap(), (3, 0));
}

async fn reports_become_intel_until_dismissed(db: &anomalyforge::store::Db) {
    use anomalyforge::report::{IndicatorKind, ReportCategory, ReportStatus};
    use anomalyforge::store::reports::NewReport;
    let u = db.create_user("emp", "Emp", Role::Employee, "hash", false, None).await.unwrap();
    let report = |indicator: &str, kind| NewReport {
        reporter_id: u.id,
        indicator: indicator.into(),
        kind,
        category: ReportCategory::Phishing,
        description: "<img src=x onerror=alert(1)>".into(),
    };
    let a = db.create_report(&report("203.0.113.9", IndicatorKind::Ip)).await.unwrap();
    let b = db.create_report(&report("203.0.113.9", IndicatorKind::Ip)).await.unwrap();
    db.create_report(&report("evil.example", IndicatorKind::Domain)).await.unwrap();
    assert_eq!(
        (a.status, a.reporter.as_str(), a.description.as_str()),
        (ReportStatus::New, "emp", "<img src=x onerror=alert(1)>")
    );
    let intel = db.intel_index().await.unwrap();
    assert_eq!(intel.len(), 1, "domains are not address intel");
    assert_eq!((intel[0].reports, intel[0].report_id), (2, b.id), "the newest open report represents the address");
    db.set_report_status(a.id, ReportStatus::Confirmed, u.id).await.unwrap();
    let intel = db.intel_index().await.unwrap();
    assert_eq!(
        (intel[0].report_id, intel[0].status, intel[0].reports),
        (b.id, ReportStatus::Confirmed, 2),
        "the status is the address's: both reports are confirmed"
    );
    db.set_report_status(a.id, ReportStatus::Dismissed, u.id).await.unwrap();
    assert!(db.intel_index().await.unwrap().is_empty());
    assert!(db
        .reports_by(u.id, 10, 0)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.indicator == "203.0.113.9")
        .all(|r| r.status == ReportStatus::Dismissed));
    assert_eq!(db.reports_by(u.id, 10, 0).await.unwrap().len(), 3);
    assert_eq!(db.count_reports_since(u.id, 0).await.unwrap(), 3);
    assert!(matches!(db.set_report_status(999, ReportStatus::Confirmed, u.id).await, Err(StoreError::NotFound(_))));
}

async fn playbooks_are_seeded_for_every_threat(db: &anomalyforge::store::Db) {
    use anomalyforge::threat::Threat;
    let all = db.list_playbooks().await.unwrap();
    for t in Threat::ALL.iter().filter(|t| t.is_attack()) {
        let p = db.playbook(t.name()).await.unwrap_or_else(|e| panic!("{}: {e}", t.name()));
        assert!(p.steps.len() >= 4, "{}", t.name());
    }
    for key in [
        anomalyforge::alert::SIGNATURE_THREAT,
        anomalyforge::playbook::UNKNOWN_ANOMALY,
        anomalyforge::alert::INTEL_THREAT,
    ] {
        assert!(db.playbook(key).await.is_ok(), "{key}");
    }
    for t in anomalyforge::threat::BehaviourThreat::ALL {
        let p = db.playbook(t.name()).await.unwrap_or_else(|e| panic!("{}: {e}", t.name()));
        assert!(p.steps.len() >= 4, "{}", t.name());
    }
    assert_eq!(all.len(), 17 + anomalyforge::threat::BehaviourThreat::ALL.len());
    let u = db.create_user("resp", "Resp", Role::Responder, "hash", false, None).await.unwrap();
    let steps = vec!["Call the ISP".to_string(), "Block the range".to_string()];
    let p = db.update_playbook("ddos", "DDoS", "Flood", &steps, (u.id, "resp")).await.unwrap();
    assert_eq!((p.steps, p.updated_by.as_deref()), (steps, Some("resp")));
    assert!(matches!(db.update_playbook("nope", "x", "y", &[], (u.id, "resp")).await, Err(StoreError::NotFound(_))));
}

async fn alerts_are_filtered_and_paged_by_cursor(db: &anomalyforge::store::Db) {
    use anomalyforge::alert::{AlertCursor, AlertFilter, AlertStatus};
    use anomalyforge::store::alerts::{BatchStats, NewAlert};
    let alerts: Vec<NewAlert> = (0..25)
        .map(|i| NewAlert {
            seen_at: 1_000 + i / 2, // pairs share a timestamp: the cursor must break ties by id
            last_seen: 1_000 + i / 2,
            src_ip: Some(format!("198.51.100.{i}")),
            threat: if i % 5 == 0 { "ddos".into() } else { "port_scan".into() },
            risk: 20 + i * 3,
            src_country: Some(if i % 2 == 0 { "DE".into() } else { "US".into() }),
            ..NewAlert::blank()
        })
        .collect();
    db.persist_batch(&plain_batch(alerts, BatchStats::default())).await.unwrap();
    let all = AlertFilter::default();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = db.query_alerts(&all, cursor, 7).await.unwrap();
        assert!(page.alerts.len() <= 7);
        seen.extend(page.alerts.iter().map(|a| (a.last_seen, a.id)));
        match page.next {
            Some(c) => cursor = Some(AlertCursor::parse(&c).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25, "every alert exactly once across pages");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, ties by id");
    let ddos =
        db.query_alerts(&AlertFilter { threat: Some("ddos".into()), ..Default::default() }, None, 100).await.unwrap();
    assert_eq!(ddos.alerts.len(), 5);
    let risky_de = AlertFilter { min_risk: Some(80), country: Some("DE".into()), ..Default::default() };
    let page = db.query_alerts(&risky_de, None, 100).await.unwrap();
    assert!(page.alerts.iter().all(|a| a.risk >= 80 && a.src_country.as_deref() == Some("DE")));
    assert_eq!(page.alerts.len(), 3, "i = 20, 22, 24: risks 80, 86, 92");
    let window =
        AlertFilter { from: Some(1_003), to: Some(1_005), status: Some(AlertStatus::New), ..Default::default() };
    assert_eq!(db.query_alerts(&window, None, 100).await.unwrap().alerts.len(), 4);
    let none = AlertFilter { status: Some(AlertStatus::Resolved), ..Default::default() };
    assert!(db.query_alerts(&none, None, 100).await.unwrap().alerts.is_empty());
}

/// One batch of 64 alerts, the first 32 from addresses without a location and the next 32 with one:
/// they are written 32 rows per INSERT, the same statement text twice, and on PostgreSQL a statement
/// cached from the first chunk would have typed the coordinates from a NULL and refused the second's.
async fn alerts_with_and_without_coordinates_are_stored_in_any_order(db: &anomalyforge::store::Db) {
    let alerts: Vec<_> = (0..64)
        .map(|i| {
            let mut a = ml_alert(100 + i);
            a.src_ip = Some(format!("198.51.100.{i}"));
            if i >= 32 {
                (a.src_country, a.src_lat, a.src_lon) = (Some("DE".into()), Some(51.1657), Some(10.4515));
            }
            a
        })
        .collect();
    let stored = db.persist_batch(&plain_batch(alerts, Default::default())).await.unwrap();
    assert_eq!(stored.len(), 64);
    assert_eq!((stored[0].alert.src_lat, stored[63].alert.src_lat), (None, Some(51.1657)));
}

/// An ML alert keeps its flow's features (`reasons.flow`); once an analyst marks it a false positive,
/// the flow is read back for the next baseline and retrain, and only then.
async fn false_positives_keep_their_flow_for_the_next_baseline(db: &anomalyforge::store::Db) {
    use anomalyforge::baseline::sample::flow_of_record;
    use anomalyforge::detection::{FeatureProfile, Verdict};
    use anomalyforge::triage::Triage;
    let schema = anomalyforge::engine::features::Schema::for_profile(FeatureProfile::Conn);
    let mut flow = anomalyforge::flow::Flow::empty();
    for (k, &c) in schema.indices.iter().enumerate() {
        flow.features[c] = Some(k as f32 * 1.5);
    }
    let verdict = Verdict {
        risk: 99.0,
        alert: true,
        class: anomalyforge::threat::Threat::DosHulk,
        class_probability: 0.9,
        profile: FeatureProfile::Conn,
        models: Vec::new(),
        top_features: Vec::new(),
        context: Vec::new(),
    };
    let alert = anomalyforge::pipeline::ml_alert(&flow, &verdict, 1_700_000_000_000);
    let other = ml_alert(7);
    let stored = db.persist_batch(&plain_batch(vec![alert, other], Default::default())).await.unwrap();
    assert!(db.false_positive_reasons(10).await.unwrap().is_empty(), "nothing marked yet");
    let reason = Triage::FalsePositive { reason: "a software update download".into() };
    db.triage(&[stored[0].alert.id], "alice", &reason).await.unwrap();
    let reasons = db.false_positive_reasons(10).await.unwrap();
    assert_eq!(reasons.len(), 1);
    let value: serde_json::Value = serde_json::from_str(&reasons[0]).unwrap();
    let (profile, back) = flow_of_record(&value["flow"]).expect("the flow is kept");
    assert_eq!(profile, FeatureProfile::Conn);
    assert!(schema.indices.iter().all(|&c| back.features[c] == flow.features[c]));
}

async fn alerts_are_triaged_with_history(db: &anomalyforge::store::Db) {
    use anomalyforge::alert::AlertStatus;
    use anomalyforge::triage::Triage;
    let stored = db.persist_batch(&plain_batch(vec![ml_alert(1), ml_alert(2)], Default::default())).await.unwrap();
    let (a, b) = (stored[0].alert.id, stored[1].alert.id);
    let t0 = anomalyforge::store::now_ms();

    let out = db.triage(&[a], "alice", &Triage::Acknowledge).await.unwrap();
    assert_eq!(out[0].status, Some(AlertStatus::Acknowledged));
    let out = db.triage(&[a], "alice", &Triage::Acknowledge).await.unwrap();
    assert_eq!((out[0].status, out[0].skipped.as_deref()), (None, Some("the alert is already acknowledged")));
    db.triage(&[a], "alice", &Triage::Assign { to: "bob".into() }).await.unwrap();
    // A comment leaves a new alert new (and not acknowledged).
    db.triage(&[b], "carol", &Triage::Comment { text: "<b>looks like a scanner</b>".into() }).await.unwrap();
    let alert_b = db.recent_alerts(10).await.unwrap().into_iter().find(|x| x.id == b).unwrap();
    assert_eq!((alert_b.status.as_str(), alert_b.acknowledged_at), ("new", None));

    // Bulk: both close, the missing id is named.
    let out =
        db.triage(&[a, b, 999_999], "bob", &Triage::Resolve { note: "blocked at the edge".into() }).await.unwrap();
    let statuses: Vec<Option<AlertStatus>> = out.iter().map(|o| o.status).collect();
    assert_eq!(statuses, vec![Some(AlertStatus::Resolved), Some(AlertStatus::Resolved), None]);
    assert!(out[2].skipped.as_deref().unwrap().contains("does not exist"));
    let alerts = db.recent_alerts(10).await.unwrap();
    let alert_a = alerts.iter().find(|x| x.id == a).unwrap();
    assert_eq!((alert_a.status.as_str(), alert_a.assignee.as_deref()), ("resolved", Some("bob")));
    let acked = alert_a.acknowledged_at.expect("acknowledged");
    assert!(acked >= t0 && alert_a.resolved_at.unwrap() >= acked);
    let alert_b = alerts.iter().find(|x| x.id == b).unwrap();
    assert!(alert_b.acknowledged_at.is_some(), "closing counts as handling");

    // Reopening keeps the acknowledgement time and clears the resolution.
    db.triage(&[a], "bob", &Triage::Reopen { note: String::new() }).await.unwrap();
    let alert_a = db.recent_alerts(10).await.unwrap().into_iter().find(|x| x.id == a).unwrap();
    assert_eq!(
        (alert_a.status.as_str(), alert_a.acknowledged_at, alert_a.resolved_at),
        ("acknowledged", Some(acked), None)
    );

    let history: Vec<(String, String, String)> =
        db.alert_events(a).await.unwrap().into_iter().map(|e| (e.actor, e.action, e.detail)).collect();
    let expected: Vec<(String, String, String)> = [
        ("alice", "acknowledge", ""),
        ("alice", "assign", "bob"),
        ("bob", "resolve", "blocked at the edge"),
        ("bob", "reopen", ""),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(history, expected);
    assert_eq!(db.alert_events(b).await.unwrap()[0].detail, "<b>looks like a scanner</b>");
}

async fn suppression_rules_count_what_they_absorb(db: &anomalyforge::store::Db) {
    use anomalyforge::suppression::NewSuppression;
    let rule = |src: Option<&str>, hours: Option<u32>| NewSuppression {
        src_ip: src.map(Into::into),
        threat: Some("port_scan".into()),
        asset_ip: None,
        reason: "scanner".into(),
        expires_in_hours: hours,
    };
    let forever = db.create_suppression(&rule(Some("203.0.113.7"), None), "alice").await.unwrap();
    let day = db.create_suppression(&rule(None, Some(24)), "alice").await.unwrap();
    assert_eq!(forever.expires_at, None);
    assert!(day.expires_at.unwrap() > anomalyforge::store::now_ms() + 23 * 3_600_000);
    let now = anomalyforge::store::now_ms();
    assert_eq!(db.active_suppressions(now).await.unwrap().len(), 2);
    assert_eq!(db.active_suppressions(now + 25 * 3_600_000).await.unwrap().len(), 1);

    // A batch's absorbed detections are added in its transaction; the latest time wins.
    let batch = |hits| anomalyforge::store::alerts::PersistBatch { suppressed: hits, ..Default::default() };
    db.persist_batch(&batch(vec![(forever.id, 5, 2_000)])).await.unwrap();
    db.persist_batch(&batch(vec![(forever.id, 3, 1_000)])).await.unwrap();
    let listed = db.list_suppressions().await.unwrap();
    let f = listed.iter().find(|r| r.id == forever.id).unwrap();
    assert_eq!((f.hits, f.last_hit), (8, Some(2_000)));

    let expired = db.expire_suppression(day.id, "alice").await.unwrap();
    assert!(!expired.is_active(anomalyforge::store::now_ms() + 1));
    assert_eq!(db.list_suppressions().await.unwrap().last().unwrap().id, day.id, "expired rules are listed last");
    db.delete_suppression(forever.id, "alice").await.unwrap();
    assert!(matches!(db.delete_suppression(forever.id, "alice").await, Err(StoreError::NotFound(_))));
    assert!(matches!(db.expire_suppression(forever.id, "alice").await, Err(StoreError::NotFound(_))));
}

async fn console_queue_filters_groups_and_overview(db: &anomalyforge::store::Db) {
    use anomalyforge::console::{QueueQuery, TextSearch};
    use anomalyforge::store::alerts::{NewAlert, PersistBatch};
    let now = now_ms();
    let alerts: Vec<NewAlert> = (0..12)
        .map(|i| NewAlert {
            seen_at: now - i * 60_000,
            last_seen: now - i * 60_000,
            src_ip: Some(format!("198.51.100.{}", i % 3)),
            dst_ip: Some("10.0.0.5".into()),
            asset_ip: Some("10.0.0.5".into()),
            threat: if i % 4 == 0 { "ddos".into() } else { "port_scan".into() },
            signature: (i == 7).then(|| "ET SCAN 100%_done".to_string()),
            risk: 30 + i * 5,
            src_country: Some(if i % 2 == 0 { "DE".into() } else { "US".into() }),
            ..NewAlert::blank()
        })
        .collect();
    db.persist_batch(&PersistBatch { alerts, assets_seen: vec![("10.0.0.5".into(), now)], ..Default::default() })
        .await
        .unwrap();
    let q = |pairs: &[(&str, &str)]| {
        QueueQuery::from_params(|k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
            .validate(now_ms())
            .unwrap()
    };
    let (rows, total, groups) = db.console_queue(&q(&[])).await.unwrap();
    assert_eq!((rows.len(), total, groups.len()), (12, 12, 0));
    assert_eq!(
        rows.iter().map(|r| r.alert.risk).collect::<Vec<_>>(),
        (0..12).rev().map(|i| 30 + i * 5).collect::<Vec<_>>()
    );
    assert!(rows.iter().all(|r| r.asset.as_ref().is_some_and(|a| a.ip == "10.0.0.5")));
    let (_, total, groups) = db.console_queue(&q(&[("group", "threat"), ("country", "DE")])).await.unwrap();
    assert_eq!(total, 6);
    let g: Vec<(String, i64, i64)> = groups.iter().map(|g| (g.key.clone(), g.alerts, g.max_risk)).collect();
    assert_eq!(g, vec![("port_scan".to_string(), 3, 80), ("ddos".to_string(), 3, 70)]);
    let (rows, total, _) = db.console_queue(&q(&[("q", "100%_"), ("status", "all")])).await.unwrap();
    assert_eq!((total, rows[0].alert.signature.as_deref()), (1, Some("ET SCAN 100%_done")), "wildcards are literal");
    let mut f = q(&[]);
    f.text = Some(TextSearch::Address("198.51.100.1".into()));
    assert_eq!(db.console_queue(&f).await.unwrap().1, 4);
    let (rows_newest, total, _) =
        db.console_queue(&q(&[("asset", "10.0.0.5"), ("min_risk", "80"), ("sort", "newest")])).await.unwrap();
    assert_eq!(total, 2, "risks 80 and 85");
    assert_eq!(rows_newest.iter().map(|r| r.alert.risk).collect::<Vec<_>>(), vec![80, 85], "newest first");

    let o = db.console_overview(now - 5 * 60_000 - 1, now + 1).await.unwrap();
    let mut origins: Vec<(String, u64, i64)> =
        o.origins.iter().map(|m| (m.iso_a2.clone(), m.count, m.max_risk)).collect();
    origins.sort();
    assert_eq!(origins, vec![("DE".to_string(), 3, 50), ("US".to_string(), 3, 55)]);
    assert_eq!((o.open_alerts, o.new_alerts, o.critical_open), (12, 12, 0), "the riskiest is 85");

    let first = rows[0].alert.id;
    db.record_alert_event(first, "analyst", "step_done", "1. Block the source").await.unwrap();
    assert_eq!(db.alert_events(first).await.unwrap()[0].detail, "1. Block the source");
    assert!(matches!(db.record_alert_event(999_999, "analyst", "step_done", "x").await, Err(StoreError::NotFound(_))));
    let (related, n) = db.alerts_from_source("198.51.100.1", first, 2).await.unwrap();
    assert_eq!((related.len(), n), (2, 3), "alerts 1, 4 and 10 besides alert 7");
    assert!(db.intel_brief(12345).await.unwrap().is_none());
}

async fn reports_are_queued_by_address_and_decided_together(db: &anomalyforge::store::Db) {
    use anomalyforge::report::{
        AlertMatches, IndicatorKind, QueueFilter, ReportCategory, ReportStatus, QUEUE_PER_PAGE,
    };
    use anomalyforge::store::alerts::{NewAlert, PersistBatch};
    use anomalyforge::store::reports::NewReport;
    const IP: &str = "203.0.113.9";
    let alice = db.create_user("alice", "Alice A.", Role::Employee, "hash", false, None).await.unwrap();
    let bob = db.create_user("bob", "", Role::Employee, "hash", false, None).await.unwrap();
    let ana = db.create_user("ana", "Ana Lyst", Role::Analyst, "hash", false, None).await.unwrap();
    let report = |who: i64, indicator: &str, category| NewReport {
        reporter_id: who,
        indicator: indicator.into(),
        kind: if indicator.ends_with(".example") { IndicatorKind::Domain } else { IndicatorKind::Ip },
        category,
        description: format!("<b>{indicator}</b> seen by #{who}"),
    };
    db.create_report(&report(alice.id, IP, ReportCategory::Phishing)).await.unwrap();
    db.create_report(&report(bob.id, IP, ReportCategory::Phishing)).await.unwrap();
    db.create_report(&report(alice.id, IP, ReportCategory::Spam)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    db.create_report(&report(bob.id, "evil.example", ReportCategory::Malware)).await.unwrap();
    // Alerts from the address (one of them to itself, counted once) and to it.
    let alert =
        |i, src: &str, dst: &str| NewAlert { src_ip: Some(src.into()), dst_ip: Some(dst.into()), ..ml_alert(i) };
    let alerts = vec![
        alert(1, IP, "10.0.0.5"),
        alert(2, IP, "10.0.0.6"),
        alert(3, "10.0.0.7", IP),
        alert(4, IP, IP),
        alert(5, "198.51.100.1", "10.0.0.5"),
    ];
    db.persist_batch(&PersistBatch { alerts, ..Default::default() }).await.unwrap();

    // The open queue: one entry per address, the most recently reported first.
    let q = db.report_queue(QueueFilter::Open, 1).await.unwrap();
    assert_eq!((q.total, q.counts.new, q.rows.len(), q.page), (2, 2, 2, 1));
    let (domain, ip) = (&q.rows[0], &q.rows[1]);
    assert_eq!(
        (domain.indicator.as_str(), domain.kind, domain.alerts),
        ("evil.example", IndicatorKind::Domain, None),
        "alerts carry addresses only"
    );
    assert_eq!((ip.indicator.as_str(), ip.status, ip.reports, ip.reporters), (IP, ReportStatus::New, 3, 2));
    assert_eq!(
        ip.reporter_names,
        vec!["Alice A.".to_string(), "bob".to_string()],
        "display names, else usernames, in reporting order"
    );
    assert_eq!(ip.categories, vec![(ReportCategory::Phishing, 2), (ReportCategory::Spam, 1)]);
    assert_eq!((ip.lines.len(), ip.lines[0].category), (3, ReportCategory::Spam), "newest first");
    assert_eq!(ip.lines[0].description, format!("<b>{IP}</b> seen by #{}", alice.id), "kept as typed");
    assert_eq!(ip.alerts, Some(AlertMatches { from: 3, to: 1 }));
    assert_eq!(db.alerts_involving(&["198.51.100.200".to_string()]).await.unwrap().len(), 0);

    // A decision covers every report of the address and carries the note to its reporters.
    let change = db
        .set_indicator_status(
            IP,
            ReportStatus::New,
            ReportStatus::Confirmed,
            Some("Blocked for everyone."),
            (ana.id, "ana"),
        )
        .await
        .unwrap();
    assert_eq!((change.reports, change.status), (3, ReportStatus::Confirmed));
    let bobs = db.reports_by(bob.id, 10, 0).await.unwrap();
    let of = |list: &[anomalyforge::report::EmployeeReport], ind: &str| {
        list.iter().find(|r| r.indicator == ind).map(|r| (r.status, r.note.clone())).unwrap()
    };
    assert_eq!(of(&bobs, IP), (ReportStatus::Confirmed, Some("Blocked for everyone.".into())));
    assert_eq!(of(&bobs, "evil.example"), (ReportStatus::New, None));
    let intel = db.intel_index().await.unwrap();
    assert_eq!(
        (intel.len(), intel[0].status, intel[0].reports),
        (1, ReportStatus::Confirmed, 3),
        "confirmed intel for scoring"
    );
    // A decision taken on a stale view is refused, naming the status it has now.
    let stale = db
        .set_indicator_status(IP, ReportStatus::New, ReportStatus::Dismissed, None, (ana.id, "ana"))
        .await
        .unwrap_err();
    assert!(matches!(&stale, StoreError::Conflict(m) if m.contains("confirmed")), "{stale}");
    assert!(matches!(
        db.set_indicator_status("198.51.100.1", ReportStatus::New, ReportStatus::Confirmed, None, (ana.id, "ana"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    let confirmed = db.report_queue(QueueFilter::Only(ReportStatus::Confirmed), 1).await.unwrap();
    assert_eq!(confirmed.rows.len(), 1);
    assert_eq!(
        (confirmed.rows[0].decided_by.as_deref(), confirmed.rows[0].note.as_deref()),
        (Some("Ana Lyst"), Some("Blocked for everyone."))
    );
    assert_eq!(db.report_queue(QueueFilter::Open, 1).await.unwrap().rows.len(), 1);
    assert_eq!(db.report_queue(QueueFilter::All, 1).await.unwrap().total, 2);

    // A later report of a confirmed address does not tell its reporter what the SOC decided (an insider
    // could otherwise learn whether an address is investigated by reporting it); the address stays
    // confirmed intel, and the next decision reaches the new report too.
    let late = db.create_report(&report(alice.id, IP, ReportCategory::Malware)).await.unwrap();
    assert_eq!((late.status, late.note.as_deref()), (ReportStatus::New, None));
    assert_eq!(
        of(&db.reports_by(alice.id, 10, 0).await.unwrap(), IP),
        (ReportStatus::New, None),
        "newest first: the late one"
    );
    let intel = db.intel_index().await.unwrap();
    assert_eq!((intel[0].status, intel[0].reports, intel[0].report_id), (ReportStatus::Confirmed, 4, late.id));
    assert_eq!(db.report_queue(QueueFilter::Only(ReportStatus::Confirmed), 1).await.unwrap().rows.len(), 1);
    // Reopen, dismiss; then a new report of the dismissed address reopens it, note cleared.
    db.set_indicator_status(IP, ReportStatus::Confirmed, ReportStatus::Investigating, None, (ana.id, "ana"))
        .await
        .unwrap();
    db.set_indicator_status(
        IP,
        ReportStatus::Investigating,
        ReportStatus::Dismissed,
        Some("Our own mail relay."),
        (ana.id, "ana"),
    )
    .await
    .unwrap();
    assert!(db.intel_index().await.unwrap().is_empty(), "dismissed addresses are not intel");
    let again = db.create_report(&report(bob.id, IP, ReportCategory::Scanning)).await.unwrap();
    assert_eq!((again.status, again.note), (ReportStatus::New, None));
    assert!(
        db.reports_by(alice.id, 10, 0).await.unwrap().iter().all(|r| r.status == ReportStatus::New),
        "every report of it is open again"
    );
    let counts = db.report_status_counts().await.unwrap();
    assert_eq!((counts.new, counts.confirmed, counts.dismissed), (2, 0, 0));
    let reopened = db.report_queue(QueueFilter::Open, 1).await.unwrap();
    let row = reopened.rows.iter().find(|r| r.indicator == IP).unwrap();
    assert_eq!(
        (row.reports, row.reporters, row.decided_by.as_deref()),
        (5, 2, Some("Ana Lyst")),
        "the earlier decision stays visible"
    );

    // Paging.
    for i in 0..QUEUE_PER_PAGE {
        db.create_report(&report(bob.id, &format!("site{i}.example"), ReportCategory::Spam)).await.unwrap();
    }
    let (p1, p2) =
        (db.report_queue(QueueFilter::Open, 1).await.unwrap(), db.report_queue(QueueFilter::Open, 2).await.unwrap());
    assert_eq!((p1.total, p1.rows.len(), p2.rows.len()), (i64::from(QUEUE_PER_PAGE) + 2, QUEUE_PER_PAGE as usize, 2));
    assert!(p2.rows.iter().all(|r| !p1.rows.iter().any(|o| o.indicator == r.indicator)), "pages do not overlap");
}

fn stored_flow(at: i64, src: &str, dst: &str, dport: u16, risk: u8) -> anomalyforge::store::flows::NewFlow {
    anomalyforge::store::flows::NewFlow {
        at,
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        sport: 40_000,
        dport,
        proto: 6,
        bytes_out: 1_000,
        bytes_in: 20_000,
        pkts_out: 10,
        pkts_in: 20,
        duration_ms: 2_500,
        risk,
        threat: if risk >= 70 { "port_scan" } else { "benign" },
        alerted: risk >= 70,
        profile: 1,
        cc: (!dst.starts_with("10.")).then_some(*b"RU"),
    }
}

/// The flow history: flows of three storage days, searched by address, CIDR, port, country, risk
/// and time with cursor paging, counted and bucketed; then retention drops the oldest days whole
/// while the rest stays searchable.
async fn flows_are_stored_searched_and_dropped_by_whole_days(db: &anomalyforge::store::Db) {
    use anomalyforge::flow_history::{FlowCursor, FlowSort};
    use anomalyforge::store::flows::{day_of, FlowBatch, FlowFilter, FlowTerm, SearchBudget, Side, DAY_MS};
    let today = day_of(now_ms());
    let t0 = today * DAY_MS;
    for (k, day) in [today - 9, today - 1, today].into_iter().enumerate() {
        let flows = (0..50)
            .map(|i| {
                let at = t0 - (2 - k as i64) * DAY_MS + i * 60_000;
                let dst = if i % 5 == 0 { "203.0.113.9" } else { "10.0.1.20" };
                stored_flow(at, &format!("10.0.0.{}", i % 10), dst, if i % 2 == 0 { 443 } else { 22 }, (i * 2) as u8)
            })
            .collect();
        let flows = FlowBatch { day, source: "zeek".into(), token_id: Some(7), flows };
        db.persist_flows(&[flows]).await.unwrap();
    }
    assert_eq!(db.flow_days().await.unwrap(), vec![(today - 9, 50), (today - 1, 50), (today, 50)]);

    let budget = SearchBudget::default();
    let search = |f: FlowFilter, sort: FlowSort, cursor: Option<FlowCursor>, limit: i64| async move {
        db.hunt_flows(&f, sort, cursor, limit, budget).await.unwrap()
    };
    let count = |f: FlowFilter| async move {
        let r = db.hunt_flows(&f, FlowSort::Newest, None, 1, budget).await.unwrap();
        assert!(r.complete, "a small table is searched whole");
        assert_eq!(r.histogram.iter().map(|b| b.1).sum::<u64>(), r.matched);
        r.matched
    };
    let all = FlowFilter::default();
    assert_eq!(count(all.clone()).await, 150);
    let term = |t: FlowTerm| FlowFilter { terms: vec![(t, false)], ..FlowFilter::default() };
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    // One address, either end; a CIDR; a port; a country; risk; all of them with a time range.
    let one = term(FlowTerm::Addr(Side::Src, vec![(ip("10.0.0.3"), 32)]));
    assert_eq!(count(one.clone()).await, 15);
    assert_eq!(count(term(FlowTerm::Addr(Side::Any, vec![(ip("10.0.0.3"), 32)]))).await, 15);
    assert_eq!(count(term(FlowTerm::Addr(Side::Any, vec![(ip("10.0.1.20"), 32)]))).await, 120);
    let page = search(term(FlowTerm::Addr(Side::Any, vec![(ip("10.0.0.3"), 32)])), FlowSort::Newest, None, 50).await;
    assert!(page.flows.iter().all(|f| f.src == ip("10.0.0.3") || f.dst == ip("10.0.0.3")), "{:?}", page.flows);
    let cidr = term(FlowTerm::Addr(Side::Any, vec![(ip("203.0.113.0"), 24)]));
    assert_eq!(count(cidr.clone()).await, 30);
    assert_eq!(count(term(FlowTerm::Addr(Side::Any, vec![(ip("2001:db8::"), 32)]))).await, 0);
    assert_eq!(count(term(FlowTerm::Port(Side::Dst, vec![(22, 22)]))).await, 75);
    assert_eq!(count(term(FlowTerm::Country(vec!["ru".into()]))).await, 30);
    let not_ru = FlowFilter { terms: vec![(FlowTerm::Country(vec!["RU".into()]), true)], ..all.clone() };
    assert_eq!(count(not_ru).await, 120, "flows without a country are not RU");
    assert_eq!(count(term(FlowTerm::Risk(70, 100))).await, 45);
    let recent = FlowFilter { from: Some(t0 - DAY_MS), ..one.clone() };
    assert_eq!(count(recent).await, 10);

    // Newest first, paged by cursor without gaps or repeats.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = search(one.clone(), FlowSort::Newest, cursor, 4).await;
        seen.extend(page.flows.iter().map(|f| (f.at, f.id)));
        match page.next {
            Some(n) => cursor = FlowCursor::decode(&n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 15);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");
    let first = search(cidr.clone(), FlowSort::Risk, None, 1).await.flows.remove(0);
    assert_eq!((first.dst, first.dport, first.risk, first.threat.as_str()), (ip("203.0.113.9"), 22, 90, "port_scan"));
    assert_eq!((first.cc.as_deref(), first.source.as_str()), (Some("RU"), "zeek"));
    assert_eq!((first.bytes_in, first.pkts_out, first.duration_ms, first.token_id), (20_000, 10, 2_500, Some(7)));
    assert!(first.alerted);

    let r = search(one.clone(), FlowSort::Newest, None, 1).await;
    let day_buckets: Vec<(i64, u64)> = r
        .histogram
        .iter()
        .fold(std::collections::BTreeMap::new(), |mut m, &(at, n)| {
            *m.entry(day_of(at)).or_insert(0) += n;
            m
        })
        .into_iter()
        .collect();
    assert_eq!(day_buckets, vec![(today - 2, 5), (today - 1, 5), (today, 5)]);
    let top = db.top_flow_values(&cidr, r.from, r.until, "src", 3).await.unwrap();
    assert_eq!(top.iter().map(|t| (t.0.as_str(), t.1)).collect::<Vec<_>>(), vec![("10.0.0.0", 15), ("10.0.0.5", 15)]);
    assert!(db.top_flow_values(&all, r.from, r.until, "password", 5).await.is_err(), "only known columns");

    // A budget too small for more than one slice says how far back it searched.
    let tiny = SearchBudget { time: std::time::Duration::ZERO, ..budget };
    let partial = db.hunt_flows(&all, FlowSort::Newest, None, 10, tiny).await.unwrap();
    assert!(!partial.complete && partial.searched_from > partial.from, "{partial:?}");
    assert!(partial.matched < 150);

    // Retention of two days: the day nine days ago goes, whole; the rest stays searchable.
    assert_eq!(db.drop_flow_days(today - 1).await.unwrap(), 50);
    assert_eq!(db.flow_days().await.unwrap(), vec![(today - 1, 50), (today, 50)]);
    assert_eq!(count(all.clone()).await, 100);
    assert_eq!(count(one.clone()).await, 10);
    assert_eq!(db.drop_flow_days(today - 1).await.unwrap(), 0, "nothing more to drop");
    // A later batch of today still lands, and dropping everything leaves nothing.
    let more = vec![stored_flow(t0 + 5, "10.0.0.3", "10.0.0.4", 80, 1)];
    let more = FlowBatch { day: today, source: "csv".into(), token_id: None, flows: more };
    db.persist_flows(&[more]).await.unwrap();
    assert_eq!(count(one.clone()).await, 11);
    assert_eq!(db.drop_flow_days(today + 1).await.unwrap(), 101);
    assert_eq!(count(all).await, 0);
}

/// Threat intel end to end on the storage: a plain list with a bad line imports the rest; its new
/// address indicators are retro-hunted over the flow history (an alert dated when the traffic
/// happened, hits counted); a second import refreshes instead of copying; the IOC check finds
/// everything; expiring and disabling take indicators out of live matching.
async fn threat_intel_is_imported_retro_hunted_checked_and_expired(db: &anomalyforge::store::Db) {
    use anomalyforge::alert::Detector;
    use anomalyforge::intel::catalog::IndicatorState;
    use anomalyforge::intel::import::{import, ImportRequest, IntelContext};
    use anomalyforge::intel::{IntelFormat, Location};
    use anomalyforge::store::flows::{day_of, FlowBatch, DAY_MS};
    use anomalyforge::store::intel::IndicatorQuery;
    let now = now_ms();
    // Two days ago an internal host called 198.51.100.7 six times; another talked to a clean address.
    let past = now - 2 * DAY_MS;
    let mut flows: Vec<_> =
        (0..6).map(|i| stored_flow(past + i * 60_000, "10.0.0.5", "198.51.100.7", 443, 5)).collect();
    flows.push(stored_flow(past, "10.0.0.6", "192.0.2.44", 80, 5));
    db.persist_flows(&[FlowBatch { day: day_of(past), source: "zeek".into(), token_id: None, flows }]).await.unwrap();

    let ctx = IntelContext { dedup_window_ms: 600_000, ..IntelContext::default() };
    let list = "# abuse feed\n198.51.100.7\n203.0.113.0/24\nevil.example\nnot an indicator!\n";
    let req = |text: &str| ImportRequest {
        source: "abuse-feed".into(),
        text: text.into(),
        confidence: Some(80),
        ..ImportRequest::default()
    };
    let r = import(db, &ctx, req(list), "tester").await.unwrap();
    assert_eq!(r.format, IntelFormat::Plain);
    assert_eq!((r.imported, r.updated, r.rejected.len()), (3, 0, 1), "{r:?}");
    assert_eq!(r.rejected[0].at, Location::Line(5), "the bad entry is named by its line");
    assert_eq!((r.retro.indicators, r.retro.not_searchable, r.retro.flows, r.retro.alerts), (2, 1, 6, 1), "{r:?}");

    let alerts = db.recent_alerts(10).await.unwrap();
    let hit = alerts.iter().find(|a| a.detector == Detector::Intel).expect("the retro-hunt raised an alert");
    assert_eq!((hit.threat.as_str(), hit.count), ("intel_match", 6));
    assert_eq!((hit.first_seen, hit.last_seen), (past, past + 5 * 60_000), "dated when the traffic happened");
    assert_eq!((hit.src_ip.as_deref(), hit.dst_ip.as_deref()), (Some("10.0.0.5"), Some("198.51.100.7")));
    let reasons: serde_json::Value = serde_json::from_str(&hit.reasons).unwrap();
    assert_eq!(reasons["intel_match"]["source"], "abuse-feed");
    assert_eq!(reasons["intel_match"]["retro"], true);
    assert_eq!(hit.risk, 72, "confidence 80 → risk 72");

    // The hunt finds the alert by network, detector and time, and not by another network.
    let hunt = |q: &str| {
        let q = anomalyforge::hunt::HuntQuery::parse(q).unwrap();
        async move { anomalyforge::hunt::alerts::search_alerts(db, &q, now_ms(), 10).await.unwrap() }
    };
    let found = hunt("kind:alerts ip:198.51.100.0/24 detector:intel since:7d").await;
    assert_eq!((found.matched, found.complete, found.alerts[0].id), (1, true, hit.id));
    assert_eq!(hunt("kind:alerts ip:192.0.2.0/24").await.matched, 0);
    assert_eq!(hunt("kind:alerts since:1h").await.matched, 0, "the alert's traffic was two days ago");

    // A re-import refreshes: nothing new, nothing hunted again.
    let again = import(db, &ctx, req(list), "tester").await.unwrap();
    assert_eq!((again.imported, again.updated, again.retro.alerts), (0, 3, 0), "{again:?}");
    let sources = db.intel_sources(now_ms()).await.unwrap();
    assert_eq!(sources[0].name, "employee-reports", "the built-in source comes first");
    let feed = sources.iter().find(|s| s.name == "abuse-feed").unwrap();
    assert_eq!((feed.indicators, feed.active, feed.hits, feed.confidence, feed.expiry_days), (3, 3, 6, 80, Some(30)));
    assert_eq!(feed.last_format.as_deref(), Some("plain"));

    // The IOC check of the address: its intel entry and the network's neighbour, its alert, its flows.
    let ioc = anomalyforge::intel::ioc::check(db, None, " 198.51.100.7 ", now_ms()).await.unwrap();
    assert_eq!((ioc.value.as_str(), ioc.intel.len(), ioc.alerts_total), ("198.51.100.7", 1, 1));
    assert_eq!(ioc.intel[0].hits, 6);
    assert_eq!(ioc.flows.as_ref().map(|f| f.matched), Some(6));
    let in_net = anomalyforge::intel::ioc::check(db, None, "203.0.113.77", now_ms()).await.unwrap();
    assert_eq!(in_net.intel.iter().map(|i| i.value.as_str()).collect::<Vec<_>>(), ["203.0.113.0/24"]);
    let net = anomalyforge::intel::ioc::check(db, None, "198.51.100.0/24", now_ms()).await.unwrap();
    assert_eq!((net.intel.len(), net.alerts_total), (1, 1), "a network finds what lies inside it");
    let name = anomalyforge::intel::ioc::check(db, None, "EVIL.example.", now_ms()).await.unwrap();
    assert_eq!((name.value.as_str(), name.intel.len(), name.flows.is_none()), ("evil.example", 1, true));
    assert!(anomalyforge::intel::ioc::check(db, None, "no such thing", now_ms()).await.is_err());

    // Live matching takes the active addresses and networks only; expiry and disabling take them out.
    let active = db.active_intel(now_ms()).await.unwrap();
    assert_eq!(active.len(), 2, "the domain is not matched against flows");
    let page = db
        .intel_indicators(&IndicatorQuery { text: "198.51".into(), page: 1, ..IndicatorQuery::default() }, now_ms())
        .await
        .unwrap();
    assert_eq!((page.total, page.rows[0].state), (1, IndicatorState::Active));
    let expired = db.expire_indicator(page.rows[0].id, now_ms()).await.unwrap();
    assert_eq!(expired.state, IndicatorState::Expired);
    assert_eq!(db.active_intel(now_ms() + 1).await.unwrap().len(), 1);
    let by_state = |state| IndicatorQuery { state: Some(state), page: 1, ..IndicatorQuery::default() };
    assert_eq!(db.intel_indicators(&by_state(IndicatorState::Expired), now_ms() + 1).await.unwrap().total, 1);
    db.set_intel_source_enabled(feed.id, false).await.unwrap();
    assert!(db.active_intel(now_ms() + 1).await.unwrap().is_empty(), "a disabled source matches nothing");
    assert_eq!(db.intel_indicators(&by_state(IndicatorState::Disabled), now_ms() + 1).await.unwrap().total, 3);
    let gone = db.delete_intel_source(feed.id).await.unwrap();
    assert_eq!(gone.name, "abuse-feed");
    assert_eq!(db.intel_indicators(&IndicatorQuery::default(), now_ms()).await.unwrap().total, 0);

    // The built-in source takes no imports and cannot be deleted; names are checked.
    let into_reports = ImportRequest { source: "employee-reports".into(), ..req(list) };
    assert!(import(db, &ctx, into_reports, "tester").await.is_err());
    let bad_name = ImportRequest { source: "Bad Name".into(), ..req(list) };
    assert!(import(db, &ctx, bad_name, "tester").await.is_err());
    let builtin = db.intel_sources(now_ms()).await.unwrap()[0].id;
    assert!(matches!(db.delete_intel_source(builtin).await, Err(StoreError::Conflict(_))));
}

/// Employee reports the SOC confirms are listed by the `employee-reports` source, and taken off it
/// by any other decision.
async fn confirmed_reports_are_an_intel_source(db: &anomalyforge::store::Db) {
    use anomalyforge::report::{IndicatorKind, ReportCategory, ReportStatus};
    use anomalyforge::store::reports::NewReport;
    let u = db.create_user("emp2", "Emp", Role::Employee, "hash", false, None).await.unwrap();
    let report = |indicator: &str, kind| NewReport {
        reporter_id: u.id,
        indicator: indicator.into(),
        kind,
        category: ReportCategory::Phishing,
        description: "odd mail".into(),
    };
    let a = db.create_report(&report("203.0.113.50", IndicatorKind::Ip)).await.unwrap();
    db.create_report(&report("phish.example", IndicatorKind::Domain)).await.unwrap();
    let listed = |db: &anomalyforge::store::Db| {
        let db = db.clone();
        async move {
            let mut v: Vec<String> =
                db.active_intel(now_ms()).await.unwrap().into_iter().map(|(_, r)| r.value).collect();
            v.sort();
            v
        }
    };
    assert!(listed(db).await.is_empty(), "a new report is not intel yet");
    db.set_indicator_status("203.0.113.50", ReportStatus::New, ReportStatus::Confirmed, None, (u.id, "ana"))
        .await
        .unwrap();
    assert_eq!(listed(db).await, ["203.0.113.50"]);
    let src = db.intel_source("employee-reports", now_ms()).await.unwrap().unwrap();
    assert_eq!((src.indicators, src.active), (1, 1));
    db.set_report_status(a.id, ReportStatus::Dismissed, u.id).await.unwrap();
    assert!(listed(db).await.is_empty(), "a dismissed report is taken off");
}
