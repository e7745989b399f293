//! The SOC console through its server functions and its server-rendered page: the queue's filters,
//! sorting, grouping and paging; the overview; an alert's detail and its playbook steps; role checks;
//! attacker-controlled text rendered as text.

use crate::support::TestApp;
use anomalyforge::alert::Detector;
use anomalyforge::asset::Criticality;
use anomalyforge::role::Role;
use anomalyforge::store::alerts::{NewAlert, PersistBatch, TrafficCount, TrafficKey};
use anomalyforge::store::now_ms;
use serde_json::Value;

const XSS: &str = "<img src=x onerror=alert(1)>";

/// Six alerts over the last two hours (and one eight days old), from three countries, one of them
/// on a critical asset, one a signature with markup in its name.
async fn seed(app: &TestApp) -> Vec<i64> {
    let now = now_ms();
    let min = 60_000;
    let a = |src: &str, dst: &str, threat: &str, risk: i64, ago: i64, country: Option<&str>| NewAlert {
        seen_at: now - ago,
        last_seen: now - ago,
        src_ip: Some(src.into()),
        dst_ip: Some(dst.into()),
        dst_port: Some(443),
        protocol: Some(6),
        threat: threat.into(),
        risk,
        risk_sum: risk,
        base_risk: risk,
        src_country: country.map(str::to_string),
        ..NewAlert::blank()
    };
    let alerts = vec![
        NewAlert {
            asset_ip: Some("10.0.0.5".into()),
            criticality: Some(Criticality::Critical),
            reasons: r#"{"class":"ddos","class_probability":0.97,"profile":"cicflowmeter",
                "models":[{"model":"gbdt","score":0.97,"threshold":0.5,"fired":true,"strength":1.94}],"context":[],
                "asset":{"ip":"10.0.0.5","criticality":"critical","risk_before":70,"risk_after":92}}"#
                .into(),
            features: r#"[{"feature":"Flow Bytes/s","source":"gbdt","contribution":0.8,"value":123456.0}]"#.into(),
            base_risk: 70,
            ..a("203.0.113.7", "10.0.0.5", "ddos", 92, 5 * min, Some("DE"))
        },
        a("203.0.113.7", "10.0.0.6", "port_scan", 55, 10 * min, Some("DE")),
        a("198.51.100.9", "10.0.0.6", "port_scan", 40, 50 * min, Some("FR")),
        a("192.0.2.1", "10.0.0.7", "ssh_patator", 75, 100 * min, Some("US")),
        NewAlert {
            detector: Detector::Signature,
            signature: Some(format!("ET EXPLOIT {XSS}")),
            reasons: r#"{"signature_id":2001219,"category":"Attempted Recon","suricata_severity":2}"#.into(),
            ..a("192.0.2.2", "10.0.0.8", "signature", 70, 20 * min, Some("US"))
        },
        a("192.0.2.3", "10.0.0.9", "ddos", 99, 8 * 24 * 60 * min, None),
    ];
    let traffic = vec![
        (
            TrafficKey { minute: (now - 5 * min) / min * min, country: "DE".into(), protocol: 6, verdict: "alert" },
            TrafficCount { flows: 40, bytes: 4000 },
        ),
        (
            TrafficKey { minute: (now - 5 * min) / min * min, country: "ZZ".into(), protocol: 6, verdict: "benign" },
            TrafficCount { flows: 900, bytes: 90_000 },
        ),
        (
            TrafficKey {
                minute: (now - 3 * 60 * min) / min * min,
                country: "FR".into(),
                protocol: 17,
                verdict: "benign",
            },
            TrafficCount { flows: 7, bytes: 700 },
        ),
    ];
    let stored = app
        .db
        .persist_batch(&PersistBatch {
            alerts,
            assets_seen: vec![("10.0.0.5".into(), now)],
            traffic,
            ..Default::default()
        })
        .await
        .unwrap();
    // Without a deduplication window every alert is inserted, in order.
    stored.iter().map(|s| s.alert.id).collect()
}

async fn queue(app: &TestApp, c: &reqwest::Client, params: &[(&str, &str)]) -> (u16, Value) {
    let form: Vec<(String, &str)> = params.iter().map(|(k, v)| (format!("query[{k}]"), *v)).collect();
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let form = if form.is_empty() { vec![("query[range]", "")] } else { form };
    let res = app.call(c, "soc/queue", &form).await;
    (res.status().as_u16(), res.json().await.unwrap())
}

fn threats(page: &Value) -> Vec<(String, i64)> {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["alert"]["threat"].as_str().unwrap().to_string(), r["alert"]["risk"].as_i64().unwrap()))
        .collect()
}

#[tokio::test]
async fn the_queue_filters_sorts_groups_and_names_bad_parameters() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let analyst = app.signed_in(Role::Analyst).await;

    // Default: open alerts of the last 24 h, riskiest first; the 8-day-old one is out of range.
    let (status, page) = queue(&app, &analyst, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 5);
    let risks: Vec<i64> = threats(&page).iter().map(|t| t.1).collect();
    assert_eq!(risks, vec![92, 75, 70, 55, 40]);
    let first = &page["rows"][0];
    assert_eq!(first["asset"]["ip"], "10.0.0.5");
    assert_eq!(first["asset"]["criticality"], "medium", "a discovered host is medium until reviewed");

    let (_, page) = queue(&app, &analyst, &[("range", "7d"), ("sort", "newest")]).await;
    assert_eq!(threats(&page).first().unwrap().0, "ddos");
    assert_eq!(page["total"], 5, "7 days still exclude the 8-day-old alert");
    let (_, page) = queue(&app, &analyst, &[("range", "1h")]).await;
    assert_eq!(page["total"], 4, "{page}");
    let (_, page) = queue(&app, &analyst, &[("range", "15m")]).await;
    assert_eq!(page["total"], 2);

    let (_, page) = queue(&app, &analyst, &[("threat", "port_scan")]).await;
    assert_eq!(threats(&page), vec![("port_scan".into(), 55), ("port_scan".into(), 40)]);
    let (_, page) = queue(&app, &analyst, &[("min_risk", "70")]).await;
    assert_eq!(page["total"], 3);
    let (_, page) = queue(&app, &analyst, &[("country", "de")]).await;
    assert_eq!(page["total"], 2);
    let (_, page) = queue(&app, &analyst, &[("asset", "10.0.0.5")]).await;
    assert_eq!(threats(&page), vec![("ddos".into(), 92)]);
    let (_, page) = queue(&app, &analyst, &[("src_ip", "203.0.113.7")]).await;
    assert_eq!(page["total"], 2);
    // Free text: an address matches either end; words match titles, signatures and addresses.
    let (_, page) = queue(&app, &analyst, &[("q", "10.0.0.6")]).await;
    assert_eq!(page["total"], 2);
    let (_, page) = queue(&app, &analyst, &[("q", "brute force")]).await;
    assert_eq!(threats(&page), vec![("ssh_patator".into(), 75)]);
    let (_, page) = queue(&app, &analyst, &[("q", "exploit")]).await;
    assert_eq!(threats(&page), vec![("signature".into(), 70)]);
    let (_, page) = queue(&app, &analyst, &[("q", "100%_")]).await;
    assert_eq!(page["total"], 0, "LIKE wildcards in the search are literal");

    // Grouped by threat: counts per group, riskiest first.
    let (_, page) = queue(&app, &analyst, &[("group", "threat")]).await;
    let groups: Vec<(String, i64, i64)> = page["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (g["key"].as_str().unwrap().to_string(), g["alerts"].as_i64().unwrap(), g["max_risk"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            ("ddos".into(), 1, 92),
            ("ssh_patator".into(), 1, 75),
            ("signature".into(), 1, 70),
            ("port_scan".into(), 2, 55)
        ]
    );
    let (_, page) = queue(&app, &analyst, &[("group", "source")]).await;
    assert_eq!(page["groups"][0]["key"], "203.0.113.7");
    assert_eq!(page["groups"][0]["alerts"], 2);

    // Status: resolving one takes it out of the open queue.
    let id = page_ids(&queue(&app, &analyst, &[("threat", "ssh_patator")]).await.1)[0];
    let res = app
        .call(
            &analyst,
            "alerts/triage",
            &[("ids", &id.to_string()), ("action", "resolve"), ("note", ""), ("assignee", "")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(queue(&app, &analyst, &[]).await.1["total"], 4);
    assert_eq!(queue(&app, &analyst, &[("status", "resolved")]).await.1["total"], 1);
    assert_eq!(queue(&app, &analyst, &[("status", "all")]).await.1["total"], 5);

    // Custom range.
    let (_, page) =
        queue(&app, &analyst, &[("range", "custom"), ("from", "2000-01-01T00:00"), ("status", "all")]).await;
    assert_eq!(page["total"], 6);

    for (param, value) in [
        ("range", "2w"),
        ("min_risk", "200"),
        ("country", "Germany"),
        ("asset", "10.0.0"),
        ("group", "x"),
        ("page", "0"),
        ("status", "closed"),
    ] {
        let (status, err) = queue(&app, &analyst, &[(param, value)]).await;
        assert_eq!(status, 422, "{param}={value}: {err}");
        assert_eq!(err["field"], param, "{err}");
    }
    let (status, err) = queue(&app, &analyst, &[("range", "custom"), ("from", "yesterday")]).await;
    assert_eq!((status, err["field"].as_str()), (422, Some("from")));
    app.stop().await;
}

fn page_ids(page: &Value) -> Vec<i64> {
    page["rows"].as_array().unwrap().iter().map(|r| r["alert"]["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn the_queue_pages_by_fifty() {
    let app = TestApp::spawn().await;
    let now = now_ms();
    let alerts = (0..120)
        .map(|i| NewAlert {
            seen_at: now - i * 1000,
            last_seen: now - i * 1000,
            src_ip: Some(format!("203.0.113.{}", i % 250)),
            dst_ip: Some("10.0.0.5".into()),
            threat: "ddos".into(),
            risk: i % 100,
            ..NewAlert::blank()
        })
        .collect();
    app.db.persist_batch(&PersistBatch { alerts, ..Default::default() }).await.unwrap();
    let analyst = app.signed_in(Role::Responder).await;
    let mut seen = Vec::new();
    for p in ["1", "2", "3"] {
        let (_, page) = queue(&app, &analyst, &[("page", p)]).await;
        assert_eq!(page["total"], 120);
        seen.extend(page_ids(&page));
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (120, 120), "three pages hold every alert once");
    let (_, page) = queue(&app, &analyst, &[("page", "4")]).await;
    assert!(page["rows"].as_array().unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn the_overview_counts_traffic_origins_and_open_alerts() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let analyst = app.signed_in(Role::Analyst).await;
    let o: Value = app.call(&analyst, "soc/overview", &[("query[range]", "1h")]).await.json().await.unwrap();
    let traffic: Vec<(&str, i64)> = o["traffic"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["country"].as_str().unwrap(), c["flows"].as_i64().unwrap()))
        .collect();
    assert_eq!(traffic, vec![("ZZ", 900), ("DE", 40)], "the FR minute is 3 h old: {o}");
    let mut origins: Vec<(&str, i64, i64)> = o["origins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["iso_a2"].as_str().unwrap(), m["count"].as_i64().unwrap(), m["max_risk"].as_i64().unwrap()))
        .collect();
    origins.sort();
    assert_eq!(origins, vec![("DE", 2, 92), ("FR", 1, 40), ("US", 1, 70)]);
    assert_eq!(
        (o["open_alerts"].as_i64(), o["new_alerts"].as_i64(), o["critical_open"].as_i64()),
        (Some(6), Some(6), Some(2))
    );
    app.stop().await;
}

#[tokio::test]
async fn the_detail_explains_the_alert_and_playbook_steps_are_ticked_off() {
    let app = TestApp::spawn().await;
    let ids = seed(&app).await;
    let ddos = ids[0];
    let responder = app.signed_in(Role::Responder).await;
    let d: Value = app.call(&responder, "soc/alert", &[("id", &ddos.to_string())]).await.json().await.unwrap();
    assert_eq!(d["alert"]["threat"], "ddos", "{d}");
    assert_eq!(d["asset"]["ip"], "10.0.0.5");
    assert_eq!(d["playbook"]["threat"], "ddos");
    let steps = d["playbook"]["steps"].as_array().unwrap().len();
    assert!(steps >= 3);
    assert_eq!(d["steps_done"].as_array().unwrap().len(), steps);
    assert_eq!(d["related_total"], 1, "the port scan from the same source");
    assert_eq!(d["related"][0]["threat"], "port_scan");
    let assignable: Vec<&str> = d["assignable"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    assert_eq!(assignable, vec!["admin", "analyst", "responder"]);

    let tick = |step: &str, done: &str| {
        let (app, responder) = (&app, &responder);
        let (id, step, done) = (ddos.to_string(), step.to_string(), done.to_string());
        async move {
            app.call(
                responder,
                "alerts/step",
                &[("alert_id", id.as_str()), ("step", step.as_str()), ("done", done.as_str())],
            )
            .await
        }
    };
    let done: Value = tick("2", "true").await.json().await.unwrap();
    assert_eq!(done[1], true);
    assert_eq!(done[0], false);
    tick("1", "true").await;
    let done: Value = tick("2", "false").await.json().await.unwrap();
    assert_eq!((done[0].as_bool(), done[1].as_bool()), (Some(true), Some(false)));
    let res = tick("99", "true").await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "step");
    let history = app.db.alert_events(ddos).await.unwrap();
    let actions: Vec<(&str, &str)> = history.iter().map(|e| (e.actor.as_str(), e.action.as_str())).collect();
    assert_eq!(actions, vec![("responder", "step_done"), ("responder", "step_done"), ("responder", "step_undone")]);
    assert!(history[0].detail.starts_with("2. "), "{}", history[0].detail);

    assert_eq!(app.call(&responder, "soc/alert", &[("id", "999999")]).await.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn only_the_soc_roles_reach_the_console() {
    let app = TestApp::spawn().await;
    let ids = seed(&app).await;
    let id = ids[0].to_string();
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("soc/queue", vec![("query[range]", "24h")]),
        ("soc/overview", vec![("query[range]", "24h")]),
        ("soc/traffic", vec![("query[range]", "24h")]),
        ("soc/alert", vec![("id", &id)]),
        ("alerts/step", vec![("alert_id", &id), ("step", "1"), ("done", "true")]),
    ];
    for role in Role::ALL {
        let c = app.signed_in(role).await;
        let expected = if anomalyforge::role::Access::SOC.allows(role) { 200 } else { 403 };
        for (endpoint, form) in &calls {
            assert_eq!(app.call(&c, endpoint, form).await.status(), expected, "{endpoint} as {role}");
        }
        let page = c.get(app.url("/soc")).send().await.unwrap();
        assert_eq!(page.status(), expected, "/soc as {role}");
    }
    for (endpoint, form) in &calls {
        assert_eq!(app.call(&app.client(), endpoint, form).await.status(), 401, "{endpoint} anonymous");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_console_renders_on_the_server_with_attacker_text_as_text() {
    let app = TestApp::spawn().await;
    let ids = seed(&app).await;
    let analyst = app.signed_in(Role::Analyst).await;
    let signature = app.db.recent_alerts(10).await.unwrap().into_iter().find(|a| a.threat == "signature").unwrap();
    let html =
        analyst.get(app.url(&format!("/soc?alert={}", signature.id))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("data-test=\"queue\""), "the queue is server-rendered");
    assert!(html.contains("data-test=\"alert-detail\""));
    assert!(html.contains("Attack origins") && html.contains("Traffic by source country"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "the signature is shown as text");
    assert!(!html.contains(XSS), "no markup from the signature reaches the page");
    assert!(html.contains("IP Geolocation by DB-IP"));
    let html = analyst.get(app.url(&format!("/soc?alert={}", ids[0]))).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("The attack classifier recognises this traffic as DDoS (97 % probability)."),
        "the reasons in words"
    );
    assert!(html.contains("Flow Bytes/s"));
    // Filters are links: the page renders a filtered queue without JavaScript.
    let html = analyst.get(app.url("/soc?threat=port_scan&group=threat")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("data-test=\"groups\"") && html.contains("Port scan"));
    app.stop().await;
}

/// The traffic analytics count what ingest stored: every flow in the rates and the protocol mix, the
/// busiest talkers and services by name, and the rest of a batch as "everything else", so each
/// dimension adds up to the total. Old busiest-key rows are pruned.
#[tokio::test]
async fn traffic_analytics_count_rates_protocols_services_and_talkers() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let token = app.api_token("sensor").await;
    let now = anomalyforge::store::now_ms() as f64 / 1000.0;
    let flow = |src: &str, dst: &str, port: u16, proto: &str| {
        format!(
            r#"{{"src_ip":"{src}","src_port":40000,"dst_ip":"{dst}","dst_port":{port},"protocol":"{proto}","timestamp":{now},"duration_us":2000,"fwd_packets":2,"bwd_packets":2,"fwd_bytes":300,"bwd_bytes":700}}"#
        )
    };
    // One busy host, and more single-flow hosts than a batch keeps by name.
    let mut lines: Vec<String> = (0..100).map(|_| flow("10.1.0.1", "198.51.100.5", 443, "tcp")).collect();
    let singles = anomalyforge::traffic::TOP_PER_BATCH + 6;
    lines.extend((0..singles).map(|i| flow(&format!("10.2.{}.{}", i / 250, i % 250 + 1), "203.0.113.9", 53, "udp")));
    let total = 100 + singles as i64;
    let res = app
        .client()
        .post(app.url("/api/v1/ingest/flows"))
        .bearer_auth(&token)
        .header("content-type", "application/x-ndjson")
        .body(lines.join("\n"))
        .send()
        .await
        .unwrap();
    let reply: Value = res.json().await.unwrap();
    assert_eq!(reply["accepted"], total, "{reply}");

    let analyst = app.signed_in(Role::Analyst).await;
    let t: Value = app.call(&analyst, "soc/traffic", &[("query[range]", "1h")]).await.json().await.unwrap();
    assert_eq!(t["total"]["flows"], total, "{t}");
    assert_eq!(t["total"]["bytes"], total * 1000);
    let series_sum: i64 = t["series"].as_array().unwrap().iter().map(|p| p["flows"].as_i64().unwrap()).sum();
    assert_eq!(series_sum, total);
    assert_eq!(t["bucket_ms"], 60_000);
    assert_eq!(t["series"].as_array().unwrap().len(), 61, "every minute of the hour, the empty ones too");
    let shares = |k: &str| -> Vec<(String, i64)> {
        t[k].as_array()
            .unwrap()
            .iter()
            .map(|s| (s["key"].as_str().unwrap().to_string(), s["volume"]["flows"].as_i64().unwrap()))
            .collect()
    };
    assert_eq!(shares("protocols"), vec![("tcp".to_string(), 100), ("udp".to_string(), singles as i64)]);
    assert_eq!(shares("services"), vec![("tcp/443".to_string(), 100), ("udp/53".to_string(), singles as i64)]);
    let sources = shares("sources");
    assert_eq!(sources.len(), anomalyforge::traffic::TOP_LISTED);
    assert_eq!(sources[0], ("10.1.0.1".to_string(), 100));
    assert!(sources[1..].iter().all(|(ip, n)| ip.starts_with("10.2.") && *n == 1), "{sources:?}");
    assert_eq!(
        shares("destinations"),
        vec![("198.51.100.5".to_string(), 100), ("203.0.113.9".to_string(), singles as i64)]
    );
    assert_eq!(shares("sources_by_bytes")[0], ("10.1.0.1".to_string(), 100));
    // What the batch kept by name and what it summed add up to every flow.
    let stored: i64 =
        sqlx::query_scalar::<_, i64>("SELECT CAST(SUM(flows) AS BIGINT) FROM traffic_top_minute WHERE dim = 'src'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(stored, total);
    let named: i64 =
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM traffic_top_minute WHERE dim = 'src' AND key <> ''")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert!(
        named as usize <= anomalyforge::traffic::TOP_PER_BATCH * 2,
        "at most the busiest per batch and minute: {named}"
    );

    // An empty range has every bucket at zero and empty lists, not an error.
    let empty: Value = app
        .call(
            &analyst,
            "soc/traffic",
            &[("query[range]", "custom"), ("query[from]", "2020-01-01T00:00"), ("query[to]", "2020-01-01T01:00")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(empty["total"]["flows"], 0, "{empty}");
    assert!(empty["sources"].as_array().unwrap().is_empty());

    assert_eq!(app.db.prune_traffic_top(anomalyforge::store::now_ms() - 3_600_000).await.unwrap(), 0);
    assert!(app.db.prune_traffic_top(anomalyforge::store::now_ms() + 120_000).await.unwrap() > 0);
    let after: Value = app.call(&analyst, "soc/traffic", &[("query[range]", "1h")]).await.json().await.unwrap();
    assert!(after["sources"].as_array().unwrap().is_empty());
    assert_eq!(after["total"]["flows"], total, "rates and protocols come from traffic_minute, which stays");
    app.stop().await;
}
