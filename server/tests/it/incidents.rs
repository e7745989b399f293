//! Incidents through the server functions and the page as the server renders it (what a browser
//! shows before, or without, the WASM): an analyst opens one from alerts, a responder contains and
//! resolves it, the timeline and the alerts follow; titles from people are text; bad input names
//! the field; other roles are refused.

use crate::support::TestApp;
use anomalyforge::role::Role;
use anomalyforge::store::alerts::{NewAlert, PersistBatch};
use serde_json::Value;

async fn alerts(app: &TestApp) -> Vec<String> {
    let now = anomalyforge::store::now_ms();
    let alert = |src: &str, threat: &str, risk: i64| NewAlert {
        seen_at: now,
        last_seen: now,
        src_ip: Some(src.into()),
        dst_ip: Some("10.0.0.5".into()),
        threat: threat.into(),
        risk,
        ..NewAlert::blank()
    };
    let batch = vec![
        alert("203.0.113.1", "port_scan", 60),
        alert("203.0.113.2", "ssh_patator", 92),
        alert("203.0.113.3", "ddos", 50),
    ];
    let stored = app.db.persist_batch(&PersistBatch { alerts: batch, ..Default::default() }).await.unwrap();
    stored.iter().map(|s| s.alert.id.to_string()).collect()
}

#[tokio::test]
async fn an_incident_is_opened_from_alerts_contained_and_resolved_with_its_timeline() {
    let app = TestApp::spawn().await;
    let ids = alerts(&app).await;
    let analyst = app.signed_in(Role::Analyst).await;
    let responder = app.signed_in(Role::Responder).await;

    // Suggested first: the three alerts share the host 10.0.0.5.
    let s: Value = app.call(&analyst, "incidents/suggestions", &[]).await.json().await.unwrap();
    assert_eq!(s[0]["key"], "host:10.0.0.5");
    assert_eq!(s[0]["alert_ids"].as_array().unwrap().len(), 3);

    let title = "<script>alert(1)</script> intrusion";
    let res = app
        .call(
            &analyst,
            "incidents/create",
            &[("ids", &format!("{},{}", ids[0], ids[1])), ("title", title), ("severity", "")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let out: Value = res.json().await.unwrap();
    let id = out["incident_id"].to_string();
    assert_eq!(out["added"].as_array().unwrap().len(), 2);
    let res = app.call(&analyst, "incidents/add", &[("incident", &id), ("ids", &ids[2])]).await;
    assert_eq!(res.json::<Value>().await.unwrap()["added"][0].to_string(), ids[2]);

    // Bad input names the field; a command that does not apply says why.
    let res = app.call(&analyst, "incidents/create", &[("ids", "3,x"), ("title", ""), ("severity", "")]).await;
    assert_eq!((res.status().as_u16(), res.json::<Value>().await.unwrap()["field"].clone()), (422, Value::from("ids")));
    let res = app
        .call(&responder, "incidents/act", &[("id", &id), ("action", "resolve"), ("note", " "), ("value", "")])
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "note");
    let res = app
        .call(&responder, "incidents/act", &[("id", &id), ("action", "assign"), ("note", ""), ("value", "employee")])
        .await;
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["field"], "value", "{err}");
    let act = |action: &'static str, note: &'static str| {
        let id = id.clone();
        let responder = responder.clone();
        let app = &app;
        async move {
            app.call(
                &responder,
                "incidents/act",
                &[("id", id.as_str()), ("action", action), ("note", note), ("value", "")],
            )
            .await
        }
    };
    assert_eq!(
        act("contain", "Blocked 203.0.113.0/24 at the edge").await.json::<Value>().await.unwrap()["status"],
        "contained"
    );
    assert_eq!(act("contain", "").await.status(), 409);
    assert_eq!(act("resolve", "Rebuilt the host").await.json::<Value>().await.unwrap()["status"], "resolved");

    // Every alert closed with the incident.
    let detail: Value = app.call(&analyst, "incidents/detail", &[("id", &id)]).await.json().await.unwrap();
    assert!(detail["alerts"].as_array().unwrap().iter().all(|a| a["status"] == "resolved"), "{detail}");
    assert_eq!(detail["alerts"][0]["incident_id"].to_string(), id);

    // The page, rendered on the server: the detail with the timeline, the title as text.
    let res = analyst.get(app.url(&format!("/soc/incidents?status=all&incident={id}"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; intrusion") && !html.contains(title),
        "the title is text"
    );
    for kind in ["created", "alerts_added", "contain", "resolve"] {
        assert!(html.contains(&format!("data-kind=\"{kind}\"")), "{kind} in the timeline");
    }
    assert!(html.contains("Blocked 203.0.113.0/24 at the edge") && html.contains("data-status=\"resolved\""));
    // The console's queue links each alert to its incident.
    let html = analyst.get(app.url("/soc?status=all")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("/soc/incidents?incident={id}")), "queue rows link to the incident");

    // Integrators read incidents with a `read` token; an `ingest` token may not.
    let token = |scopes: &'static str| {
        let db = app.db.clone();
        async move {
            let req = anomalyforge::auth::TokenRequest { name: scopes, scopes, expires_in_days: None };
            anomalyforge::auth::create_api_token(&db, req, "test").await.unwrap().secret
        }
    };
    let (reader, sensor) = (token("read").await, token("ingest").await);
    let api = reqwest::Client::new();
    let list: Value = api
        .get(app.url("/api/v1/incidents?status=all"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((list["total"].as_i64(), list["incidents"][0]["id"].to_string()), (Some(1), id.clone()));
    assert_eq!(list["incidents"][0]["status"], "resolved");
    let one: Value = api
        .get(app.url(&format!("/api/v1/incidents/{id}")))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["alerts"].as_array().unwrap().len(), 3);
    assert!(one["timeline"].as_array().unwrap().iter().any(|e| e["kind"] == "resolve"), "{one}");
    let res = api.get(app.url("/api/v1/incidents?status=closed")).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["param"], "status");
    let res = api.get(app.url("/api/v1/incidents")).bearer_auth(&sensor).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(api.get(app.url("/api/v1/incidents/999999")).bearer_auth(&reader).send().await.unwrap().status(), 404);

    for role in [Role::Employee, Role::Executive] {
        let c = app.signed_in(role).await;
        assert_eq!(c.get(app.url("/soc/incidents")).send().await.unwrap().status(), 403, "{role:?}");
        assert_eq!(
            app.call(&c, "incidents/act", &[("id", &id), ("action", "reopen"), ("note", ""), ("value", "")])
                .await
                .status(),
            403
        );
    }
    assert_eq!(app.client().get(app.url("/soc/incidents")).send().await.unwrap().status(), 401);
    let kpi: Value =
        app.call(&app.signed_in(Role::Executive).await, "kpi/report", &[("range", "24h")]).await.json().await.unwrap();
    assert_eq!(kpi["incidents"]["current"]["opened"], 1, "{}", kpi["incidents"]);
    app.stop().await;
}
