//! Notifications end to end against receivers started by the test: a webhook that fails once and
//! then answers (the retry delivers it, signed with the channel's key), a Slack-compatible webhook,
//! and an SMTP sink that takes the email; a channel's limit holds a storm back and sends one digest.

use crate::support::TestApp;
use anomalyforge::notify::send::{signature, SmtpConfig, SmtpTls};
use anomalyforge::role::Role;
use anomalyforge::store::alerts::{NewAlert, PersistBatch};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// What the HTTP receiver got: (path, headers, body).
type Received = Arc<Mutex<Vec<(String, HeaderMap, String)>>>;

/// An HTTP receiver on a free port: `/flaky` answers 500 the first time, then 200; the rest 200.
async fn http_receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let app = axum::Router::new()
        .route(
            "/{*path}",
            axum::routing::post(
                |State(got): State<Received>, uri: axum::http::Uri, headers: HeaderMap, body: String| async move {
                    let mut g = got.lock().unwrap();
                    let first_flaky = uri.path() == "/flaky" && !g.iter().any(|(p, _, _)| p == "/flaky");
                    g.push((uri.path().to_string(), headers, body));
                    if first_flaky {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                },
            ),
        )
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, got)
}

/// A minimal SMTP server on a free port that accepts every message and keeps its DATA.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let mails: Arc<Mutex<Vec<String>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let store = mails.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else { return };
            let store = store.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(d) = data.as_mut() {
                        if line == "." {
                            store.lock().unwrap().push(std::mem::take(d));
                            data = None;
                            w.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            d.push_str(&line);
                            d.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 end with .\r\n"
                        }
                        "QUIT" => {
                            w.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        }
                        _ => b"250 OK\r\n",
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, mails)
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..150 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

fn critical(src: &str) -> NewAlert {
    let now = anomalyforge::store::now_ms();
    NewAlert {
        seen_at: now,
        last_seen: now,
        src_ip: Some(src.into()),
        dst_ip: Some("10.0.0.5".into()),
        dst_port: Some(443),
        threat: "bot".into(),
        risk: 96,
        ..NewAlert::blank()
    }
}

#[tokio::test]
async fn alerts_reach_a_signed_webhook_after_a_retry_slack_and_email_and_a_storm_becomes_a_digest() {
    let (base, got) = http_receiver().await;
    let (smtp_port, mails) = smtp_sink().await;
    let app = TestApp::spawn_with(|c| {
        c.notify.poll_ms = 100;
        c.notify.retry_base_secs = 1;
        c.notify.hold_secs = 1;
        c.notify.public_url = Some("https://soc.example".into());
        c.notify.smtp = Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port: smtp_port,
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "AnomalyForge <af@example.com>".into(),
        });
    })
    .await;
    let admin = app.signed_in(Role::Admin).await;
    let channel = |name: &'static str, kind: &'static str, target: String, limit: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let res = app
                .call(
                    &admin,
                    "notify/channel_create",
                    &[("name", name), ("kind", kind), ("target", &target), ("max_per_minute", limit)],
                )
                .await;
            assert_eq!(res.status(), 200, "{name}");
            res.json::<Value>().await.unwrap()
        }
    };
    let hook = channel("soc-hook", "webhook", format!("{base}/flaky"), "").await;
    let secret = hook["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    let slack = channel("slack", "slack", format!("{base}/slack"), "1").await;
    let mail = channel("mail", "email", "soc@example.com, ciso@example.com".into(), "").await;
    assert!(mail["secret"].is_null(), "only webhooks are signed");
    for ch in [&hook, &slack, &mail] {
        let res = app
            .call(
                &admin,
                "notify/rule_create",
                &[
                    ("channel", &ch["id"].to_string()),
                    ("event", "alert"),
                    ("severity", "high"),
                    ("threats", ""),
                    ("criticality", ""),
                ],
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    // Bad input names the field.
    let res = app
        .call(
            &admin,
            "notify/channel_create",
            &[("name", "x"), ("kind", "webhook"), ("target", "ftp://x"), ("max_per_minute", "")],
        )
        .await;
    assert_eq!(
        (res.status().as_u16(), res.json::<Value>().await.unwrap()["field"].clone()),
        (422, Value::from("target"))
    );

    let stored = app
        .db
        .persist_batch(&PersistBatch { alerts: vec![critical("203.0.113.9")], ..Default::default() })
        .await
        .unwrap();
    let id = stored[0].alert.id;

    // The webhook failed once (500) and got it on the retry, signed.
    wait_for("the webhook's retry", || got.lock().unwrap().iter().filter(|(p, _, _)| p == "/flaky").count() >= 2).await;
    let (_, headers, body) = got.lock().unwrap().iter().rfind(|(p, _, _)| p == "/flaky").cloned().unwrap();
    let ts: i64 = headers["x-anomalyforge-timestamp"].to_str().unwrap().parse().unwrap();
    assert_eq!(headers["x-anomalyforge-signature"].to_str().unwrap(), signature(&secret, ts, &body));
    assert_eq!(headers["x-anomalyforge-event"], "alert");
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["alert"]["id"], id);
    assert_eq!(payload["url"], format!("https://soc.example/soc?alert={id}"));

    wait_for("the Slack message", || got.lock().unwrap().iter().any(|(p, _, _)| p == "/slack")).await;
    let slack_body = got.lock().unwrap().iter().find(|(p, _, _)| p == "/slack").unwrap().2.clone();
    let text = serde_json::from_str::<Value>(&slack_body).unwrap()["text"].as_str().unwrap().to_string();
    assert!(
        text.starts_with("*[critical]")
            && text.contains(&format!("<https://soc.example/soc?alert={id}|Open in AnomalyForge>")),
        "{text}"
    );

    wait_for("the email", || !mails.lock().unwrap().is_empty()).await;
    // The body is quoted-printable: undo its soft line breaks and `=3D`.
    let email = mails.lock().unwrap()[0].replace("=\n", "").replace("=3D", "=");
    assert!(email.contains("To: soc@example.com, ciso@example.com"), "{email}");
    assert!(
        email.contains("Subject: [critical]")
            && email.contains(&format!("Open it: https://soc.example/soc?alert={id}")),
        "{email}"
    );

    // The admin page's data: the webhook's delivery was sent on its second attempt.
    let o: Value = app.call(&admin, "notify/overview", &[]).await.json().await.unwrap();
    let webhook_delivery =
        o["deliveries"].as_array().unwrap().iter().find(|d| d["channel_id"] == hook["id"]).unwrap().clone();
    assert_eq!((webhook_delivery["status"].as_str(), webhook_delivery["attempts"].as_i64()), (Some("sent"), Some(2)));

    // A storm: the Slack channel takes 1 a minute (it had its one), so three more alerts are held and
    // summed up in one digest a second later.
    let before = got.lock().unwrap().iter().filter(|(p, _, _)| p == "/slack").count();
    app.db
        .persist_batch(&PersistBatch {
            alerts: vec![critical("198.51.100.1"), critical("198.51.100.2"), critical("198.51.100.3")],
            ..Default::default()
        })
        .await
        .unwrap();
    wait_for("the digest", || got.lock().unwrap().iter().filter(|(p, _, _)| p == "/slack").count() > before).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let slack_now: Vec<String> =
        got.lock().unwrap().iter().filter(|(p, _, _)| p == "/slack").map(|(_, _, b)| b.clone()).collect();
    assert_eq!(slack_now.len(), before + 1, "one digest, not three messages");
    assert!(slack_now.last().unwrap().contains("3 more notifications held back"), "{}", slack_now.last().unwrap());

    // Other roles may not see or change notifications.
    for role in [Role::Analyst, Role::Responder, Role::Executive, Role::Employee] {
        assert_eq!(app.call(&app.signed_in(role).await, "notify/overview", &[]).await.status(), 403, "{role:?}");
    }
    let html = admin.get(app.url("/admin/notifications")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("data-test=\"deliveries\"") && html.contains("soc-hook"));
    app.stop().await;
}
