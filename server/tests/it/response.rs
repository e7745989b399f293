//! Response actions through the server functions and the enforcement feeds over HTTP: a responder
//! blocks the address an alert names and every feed carries it to a token that may only read feeds;
//! lifting takes it out; the policy decides who acts and what needs a second person; bad input names
//! the field; the page renders people's words as text.

use crate::support::TestApp;
use anomalyforge::response::ActionKind;
use anomalyforge::role::Role;
use anomalyforge::store::alerts::{NewAlert, PersistBatch};
use serde_json::Value;

async fn beacon(app: &TestApp) -> String {
    let now = anomalyforge::store::now_ms();
    let alert = NewAlert {
        seen_at: now,
        last_seen: now,
        src_ip: Some("10.0.0.5".into()),
        dst_ip: Some("203.0.113.7".into()),
        threat: "bot".into(),
        risk: 90,
        ..NewAlert::blank()
    };
    let stored = app.db.persist_batch(&PersistBatch { alerts: vec![alert], ..Default::default() }).await.unwrap();
    stored[0].alert.id.to_string()
}

async fn token(app: &TestApp, scopes: &str) -> String {
    let req = anomalyforge::auth::TokenRequest { name: scopes, scopes, expires_in_days: None };
    anomalyforge::auth::create_api_token(&app.db, req, "test").await.unwrap().secret
}

fn request<'a>(kind: &'a str, target: &'a str, reason: &'a str, alert: &'a str) -> [(&'static str, &'a str); 6] {
    [("kind", kind), ("target", target), ("reason", reason), ("hours", "24"), ("incident", ""), ("alert", alert)]
}

#[tokio::test]
async fn a_block_from_an_alert_reaches_every_feed_until_it_is_lifted() {
    let app = TestApp::spawn().await;
    let alert = beacon(&app).await;
    let responder = app.signed_in(Role::Responder).await;
    let feeds = token(&app, "blocklist").await;
    let reader = token(&app, "read").await;
    let client = reqwest::Client::new();
    let get = |path: &'static str, secret: String| {
        let req = client.get(app.url(path)).bearer_auth(secret);
        async move { req.send().await.unwrap() }
    };

    let reason = "<b>C2</b> of the beacon";
    let res = app.call(&responder, "response/request", &request("block", "203.0.113.7", reason, &alert)).await;
    assert_eq!(res.status(), 200);
    let block: Value = res.json().await.unwrap();
    assert_eq!((block["status"].as_str(), block["kind"].as_str()), (Some("active"), Some("block")));
    let isolate =
        app.call(&responder, "response/request", &request("isolate", "10.0.0.5", "beaconing host", &alert)).await;
    assert_eq!(isolate.status(), 200);

    let res = get("/api/v1/blocklist", feeds.clone()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.text().await.unwrap(), "203.0.113.7\n");
    assert_eq!(get("/api/v1/blocklist?kind=isolate", feeds.clone()).await.text().await.unwrap(), "10.0.0.5\n");
    let nft = get("/api/v1/blocklist.nft", feeds.clone()).await.text().await.unwrap();
    assert!(nft.contains("elements = { 203.0.113.7 }") && nft.contains("elements = { 10.0.0.5 }"), "{nft}");
    let rules = get("/api/v1/blocklist.rules", feeds.clone()).await.text().await.unwrap();
    assert!(rules
        .contains(&format!("sid:{};", anomalyforge::response::feeds::SID_BASE + 2 * block["id"].as_u64().unwrap())));
    assert!(!rules.contains("C2") && !nft.contains("C2"), "people's words never reach a feed");
    // Least privilege: a read token cannot read the feeds; no token, no feed.
    assert_eq!(get("/api/v1/blocklist", reader).await.status(), 403);
    assert_eq!(client.get(app.url("/api/v1/blocklist")).send().await.unwrap().status(), 401);
    assert_eq!(get("/api/v1/blocklist?kind=everything", feeds.clone()).await.status(), 400);

    // The alert's detail lists the action; the analyst reads it but may not act (default policy).
    let analyst = app.signed_in(Role::Analyst).await;
    let detail: Value = app.call(&analyst, "soc/alert", &[("id", &alert)]).await.json().await.unwrap();
    assert_eq!(detail["response"]["actions"].as_array().unwrap().len(), 2);
    assert_eq!(detail["response"]["may_act"], false);
    assert_eq!(
        app.call(&analyst, "response/lift", &[("id", &block["id"].to_string()), ("note", "")]).await.status(),
        403
    );
    let res = app.call(&responder, "response/request", &request("block", "10.0.0.9", "x", "")).await;
    assert_eq!(
        (res.status().as_u16(), res.json::<Value>().await.unwrap()["field"].clone()),
        (422, Value::from("target"))
    );

    // The page shows it in force, the reason as text.
    let html = responder.get(app.url("/soc/response")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("&lt;b&gt;C2&lt;/b&gt; of the beacon") && !html.contains(reason));
    assert!(
        html.contains(&format!("data-action-id=\"{}\" data-state=\"active\"", block["id"])),
        "in force on the page"
    );

    let lifted: Value = app
        .call(&responder, "response/lift", &[("id", &block["id"].to_string()), ("note", "taken down")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lifted["status"], "lifted");
    assert_eq!(get("/api/v1/blocklist", feeds).await.text().await.unwrap(), "", "lifted: gone from the feed");
    app.stop().await;
}

#[tokio::test]
async fn the_policy_decides_who_acts_and_what_needs_a_second_person() {
    let app = TestApp::spawn_with(|c| {
        c.response.roles = vec![Role::Analyst, Role::Responder];
        c.response.approval = vec![ActionKind::Block];
    })
    .await;
    let analyst = app.signed_in(Role::Analyst).await;
    let responder = app.signed_in(Role::Responder).await;
    let admin = app.signed_in(Role::Admin).await;
    let res = app.call(&analyst, "response/request", &request("block", "198.51.100.0/24", "scanner range", "")).await;
    let pending: Value = res.json().await.unwrap();
    assert_eq!(pending["status"], "pending");
    let id = pending["id"].to_string();
    assert!(app.db.feed_entries(anomalyforge::store::now_ms()).await.unwrap().is_empty(), "pending is not enforced");
    assert_eq!(app.call(&analyst, "response/approve", &[("id", &id)]).await.status(), 409, "not one's own");
    assert_eq!(
        app.call(&admin, "response/approve", &[("id", &id)]).await.status(),
        403,
        "admins are outside this policy"
    );
    let approved: Value = app.call(&responder, "response/approve", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!((approved["status"].as_str(), approved["decided_by"].as_str()), (Some("active"), Some("responder")));
    assert_eq!(app.db.feed_entries(anomalyforge::store::now_ms()).await.unwrap().len(), 1);
    // Manual actions need no approval here: recorded and done.
    let manual: Value = app
        .call(
            &analyst,
            "response/request",
            &[
                ("kind", "manual"),
                ("target", "mail gateway"),
                ("reason", "purged the phishing mail"),
                ("hours", ""),
                ("incident", ""),
                ("alert", ""),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(manual["status"], "active");
    let list: Value = app.call(&admin, "response/list", &[]).await.json().await.unwrap();
    assert_eq!((list["active"].as_array().unwrap().len(), list["may_act"].clone()), (2, Value::from(false)));
    app.stop().await;
}
