//! File analysis: upload (CSV, Zeek, gzip), the report, the downloads, nothing stored as an alert
//! until "import as alerts", the import tagged with the file name, and the limits.

use crate::support::{session_cookie, TestApp, PASSWORD};
use anomalyforge::role::Role;
use serde_json::Value;
use std::io::Write;

fn project_file(rel: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn spawn(adjust: impl FnOnce(&mut anomalyforge::config::Config)) -> TestApp {
    TestApp::spawn_ingest(|c| {
        c.replay.autostart = Some(false);
        adjust(c);
    })
    .await
}

async fn upload(app: &TestApp, client: &reqwest::Client, name: &str, body: Vec<u8>) -> (u16, Value) {
    let res = client
        .post(app.url(&format!("/api/v1/analyses?name={name}")))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Starts "import as alerts" of analysis `id` and waits (at most 10 s) until it is no longer
/// running; its import state.
async fn import(app: &TestApp, client: &reqwest::Client, id: &str) -> Value {
    assert_eq!(app.call(client, "analyze/import", &[("id", id)]).await.status(), 200);
    let mut state = Value::Null;
    for _ in 0..100 {
        let (summary, _): (Value, Value) =
            app.call(client, "analyze/report", &[("id", id)]).await.json().await.unwrap();
        state = summary["import"].clone();
        if state["status"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    state
}

/// A conn.log: an internal host calling one outside endpoint every minute for two hours (a beacon),
/// ordinary web traffic, and one broken line.
fn beacon_log() -> Vec<u8> {
    let mut out = String::from(
        "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n",
    );
    let t0 = 1_733_000_000.0f64;
    for i in 0..120 {
        let ts = t0 + f64::from(i) * 60.0;
        out.push_str(&format!(
            "{ts:.6}\tCb{i}\t10.0.0.5\t{}\t66.63.168.35\t8443\ttcp\t-\t0.35\t310\t1200\tSF\tT\tF\t0\tShADadFf\t6\t630\t5\t1460\t-\n",
            40000 + i
        ));
        out.push_str(&format!(
            "{:.6}\tCw{i}\t10.0.0.{}\t{}\t93.184.216.34\t443\ttcp\tssl\t{}.5\t{}\t{}\tSF\tT\tF\t0\tShADadFf\t{}\t2000\t{}\t90000\t-\n",
            ts + 7.0,
            20 + i % 7,
            50000 + i,
            i % 9,
            800 + i * 13,
            60000 + i * 701,
            10 + i % 5,
            40 + i % 11
        ));
        if i == 17 {
            out.push_str("this is not a conn.log line\n");
        }
    }
    out.into_bytes()
}

#[tokio::test]
async fn a_file_is_analysed_reported_and_downloaded_without_raising_alerts() {
    let app = spawn(|_| {}).await;
    let analyst = app.signed_in(Role::Analyst).await;
    let csv = project_file("data/cicids2017/improved_train.csv.gz");
    let (status, made) = upload(&app, &analyst, "improved%20train.csv.gz", csv.clone()).await;
    assert_eq!(status, 200, "{made}");
    let id = made["id"].as_i64().unwrap();
    assert_eq!(made["file_name"], "improved train.csv.gz");
    assert_eq!(made["format"], "csv");
    assert_eq!(made["bytes"].as_u64().unwrap(), csv.len() as u64);
    assert_eq!(made["records"], 45_022, "{made}");
    assert!(made["alerts"].as_i64().unwrap() > 20_000, "{made}");
    // Nothing became an alert.
    assert!(app.db.recent_alerts(10).await.unwrap().is_empty());

    let res = app.call(&analyst, "analyze/report", &[("id", &id.to_string())]).await;
    assert_eq!(res.status(), 200);
    let (summary, report): (Value, Value) = res.json().await.unwrap();
    assert_eq!(summary["id"], id);
    assert!(report["compressed"].as_bool().unwrap());
    assert_eq!(report["flows"].as_u64().unwrap() + report["rejected"].as_u64().unwrap(), 45_022);
    let threats = report["threats"].as_array().unwrap();
    assert!(threats.iter().any(|t| t["threat"] == "ddos"), "{threats:?}");
    assert_eq!(
        report["risk_histogram"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).sum::<u64>(),
        report["flows"].as_u64().unwrap()
    );
    assert!(!report["timeline"]["points"].as_array().unwrap().is_empty());
    assert!(!report["sources"].as_array().unwrap().is_empty());
    assert!(!report["protocols"].as_array().unwrap().is_empty());
    let riskiest = report["riskiest"].as_array().unwrap();
    assert_eq!(riskiest.len(), 25);
    assert!(riskiest.iter().all(|r| !r["reasons"].as_array().unwrap().is_empty()));
    assert!(!report["playbooks"].as_array().unwrap().is_empty(), "the riskiest threats' playbooks");
    let labelled = &report["model"]["labelled"];
    assert!(labelled["attacks_alerted"].as_u64().unwrap() * 2 > labelled["attacks"].as_u64().unwrap(), "{labelled}");
    assert!(!report["model"]["profiles"].as_array().unwrap().is_empty(), "drift against the training data");
    assert!(report["sample"].as_array().unwrap().len() > 1000);

    // Downloads: every scored row, as CSV and as JSON lines; the report standalone.
    let flows = report["flows"].as_u64().unwrap() as usize;
    let rows = analyst.get(app.url(&format!("/api/v1/analyses/{id}/rows.csv"))).send().await.unwrap();
    assert_eq!(rows.status(), 200);
    assert!(rows.headers()["content-disposition"].to_str().unwrap().contains("improvedtrain-rows.csv"));
    let text = rows.text().await.unwrap();
    assert!(
        text.starts_with("line,timestamp,src_ip,src_port,dst_ip,dst_port,protocol,class,probability,risk,alert,threat")
    );
    assert_eq!(text.lines().count(), flows + 1);
    let jsonl =
        analyst.get(app.url(&format!("/api/v1/analyses/{id}/rows.jsonl"))).send().await.unwrap().text().await.unwrap();
    assert_eq!(jsonl.lines().count(), flows);
    let first: Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!(first["line"], 2);
    let html = analyst.get(app.url(&format!("/api/v1/analyses/{id}/report.html"))).send().await.unwrap();
    assert_eq!(html.status(), 200);
    let html = html.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("<svg") && !html.contains("<script"));

    // Another analyst does not see it; an employee may not analyse; the list is per user.
    let responder = app.signed_in(Role::Responder).await;
    let other = responder.get(app.url(&format!("/api/v1/analyses/{id}/rows.csv"))).send().await.unwrap();
    assert_eq!(other.status(), 404);
    let list: Value = app.call(&responder, "analyze/list", &[]).await.json().await.unwrap();
    assert!(list["analyses"].as_array().unwrap().is_empty());
    let admin_list: Value =
        app.call(&app.signed_in(Role::Admin).await, "analyze/list", &[]).await.json().await.unwrap();
    assert_eq!(admin_list["analyses"].as_array().unwrap().len(), 1);
    let employee = app.signed_in(Role::Employee).await;
    assert_eq!(upload(&app, &employee, "x.csv", b"a,b\n".to_vec()).await.0, 403);
    assert_eq!(upload(&app, &app.client(), "x.csv", b"a,b\n".to_vec()).await.0, 401);

    // Deleting removes the row and the files.
    let dir = app.config.data_dir.join("analyses").join(id.to_string());
    assert!(dir.join("input").is_file() && dir.join("rows.jsonl.gz").is_file());
    assert_eq!(app.call(&analyst, "analyze/delete", &[("id", &id.to_string())]).await.status(), 200);
    assert!(!dir.exists());
    assert_eq!(app.call(&analyst, "analyze/report", &[("id", &id.to_string())]).await.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_zeek_log_shows_its_beacon_and_imports_as_alerts_tagged_with_its_name() {
    let app = spawn(|_| {}).await;
    let analyst = app.signed_in(Role::Analyst).await;
    // gzip, format detected.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&beacon_log()).unwrap();
    let (status, made) = upload(&app, &analyst, "sensor-7.conn.log.gz", gz.finish().unwrap()).await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["format"], "zeek");
    assert_eq!((made["records"].as_i64(), made["rejected"].as_i64()), (Some(241), Some(1)), "{made}");
    let id = made["id"].as_i64().unwrap().to_string();
    let (_, report): (Value, Value) = app.call(&analyst, "analyze/report", &[("id", &id)]).await.json().await.unwrap();
    let rejected = report["rejected_rows"].as_array().unwrap();
    assert_eq!(rejected[0][0], 39, "the bad line is named: {rejected:?}");
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["threat"] == "c2_beacon" && f["src"] == "10.0.0.5" && f["dst"] == "66.63.168.35"),
        "{findings:#?}"
    );
    assert!(app.db.recent_alerts(10).await.unwrap().is_empty(), "an analysis raises nothing");

    // Import as alerts: through the pipeline, tagged with the file's name.
    let state = import(&app, &analyst, &id).await;
    assert_eq!(state["status"], "done", "{state}");
    assert_eq!(state["records"], 240);
    let alerts = app.db.recent_alerts(100).await.unwrap();
    assert!(alerts.iter().any(|a| a.threat == "c2_beacon"), "{alerts:#?}");
    assert!(alerts.iter().all(|a| a.origin.as_deref() == Some("sensor-7.conn.log.gz")));
    assert_eq!(state["alerts_created"].as_u64().unwrap() as usize, alerts.len());
    // Once is enough.
    assert_eq!(app.call(&analyst, "analyze/import", &[("id", &id)]).await.status(), 409);
    app.stop().await;
}

#[tokio::test]
async fn bad_files_and_limits_answer_clearly() {
    let app = spawn(|c| {
        c.analysis.max_upload_bytes = 64 * 1024;
        c.analysis.max_per_user = 2;
        c.analysis.max_running = 1;
    })
    .await;
    let analyst = app.signed_in(Role::Analyst).await;
    let (status, err) = upload(&app, &analyst, "notes.txt", b"hello, world\nmore text\n".to_vec()).await;
    assert_eq!(status, 400, "{err}");
    assert!(err["message"].as_str().unwrap().contains("cannot tell the file's format"), "{err}");
    let (status, err) = upload(&app, &analyst, "empty.csv", Vec::new()).await;
    assert_eq!((status, err["message"].as_str()), (400, Some("the file is empty")));
    let (status, err) = upload(&app, &analyst, "big.log", vec![b'#'; 100 * 1024]).await;
    assert_eq!(status, 413, "{err}");
    assert!(err["message"].as_str().unwrap().contains("larger than the limit of 65536 bytes"), "{err}");
    // A gzip bomb stops at the expansion limit.
    // (The expansion limit is at least the upload limit; 64 KiB of zeros compress to a few hundred bytes.)
    // Rows a format rejects all: nothing read.
    let (status, err) = upload(&app, &analyst, "x.log", b"#fields\tts\n1\n2\n".to_vec()).await;
    assert_eq!(status, 400, "{err}");
    assert!(err["message"].as_str().unwrap().starts_with("nothing in the file could be read"), "{err}");
    assert!(std::fs::read_dir(app.config.data_dir.join("analyses/incoming")).unwrap().next().is_none(), "nothing kept");

    // Concurrency: while one upload is being read, a second is told to come back.
    let cookie = {
        let res = app.login(&app.client(), TestApp::username_of(Role::Analyst), PASSWORD).await;
        session_cookie(&res).unwrap()
    };
    let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    use tokio::io::AsyncWriteExt;
    let head = format!(
        "POST /api/v1/analyses?name=slow.log HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nContent-Type: application/octet-stream\r\nContent-Length: 60000\r\n\r\n#fields\tts\tid.orig_h\n",
        app.addr
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let res = analyst.post(app.url("/api/v1/analyses?name=second.log")).body(beacon_log()).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let err: Value = res.json().await.unwrap();
    assert!(err["message"].as_str().unwrap().contains("the most this server runs at once"), "{err}");
    drop(slow);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    // Per-user quota.
    for name in ["a.log", "b.log"] {
        let (status, made) = upload(&app, &analyst, name, beacon_log()).await;
        assert_eq!(status, 200, "{made}");
    }
    let (status, err) = upload(&app, &analyst, "c.log", beacon_log()).await;
    assert_eq!(status, 409, "{err}");
    assert!(err["message"].as_str().unwrap().contains("delete one"), "{err}");

    // Expiry deletes the row and the files.
    let analyses = anomalyforge::analysis::service::Analyses::start(
        app.db.clone(),
        &app.config.data_dir,
        app.config.analysis.clone(),
        app.pipeline.clone().unwrap(),
        app.config.behaviour.clone(),
        app.config.ingest_limits,
    )
    .await;
    let later = anomalyforge::store::now_ms() + 8 * anomalyforge::time::DAY;
    assert_eq!(analyses.expire(later).await.unwrap(), 2);
    assert!(app.db.analysis_ids().await.unwrap().is_empty());
    assert!(analyses.files().ids().unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn suricata_eve_and_the_2017_csv_layout_are_read_too() {
    use crate::ingest::{EVE_ALERT, EVE_DNS, EVE_FLOW};
    let app = spawn(|_| {}).await;
    let analyst = app.signed_in(Role::Responder).await;
    // EVE: flow records are scored, alert events counted by signature, other events skipped.
    let eve = [EVE_ALERT, EVE_FLOW, EVE_DNS, EVE_ALERT, "{not json"].join("\n");
    let (status, made) = upload(&app, &analyst, "eve.json", eve.into_bytes()).await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["format"], "eve");
    let id = made["id"].as_i64().unwrap().to_string();
    let (_, report): (Value, Value) = app.call(&analyst, "analyze/report", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(
        (
            report["flows"].as_u64(),
            report["signatures"].as_u64(),
            report["skipped"].as_u64(),
            report["rejected"].as_u64()
        ),
        (Some(1), Some(2), Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(report["signature_events"][0]["events"], 2);
    assert_eq!(report["rejected_rows"][0][0], 5);
    // The 2017 "MachineLearningCVE" layout: no addresses or timestamps, so no talkers or timeline,
    // but verdicts, risk and the labels' figures.
    let (status, made) =
        upload(&app, &analyst, "original.csv.gz", project_file("data/cicids2017/original_sample.csv.gz")).await;
    assert_eq!(status, 200, "{made}");
    let id = made["id"].as_i64().unwrap().to_string();
    let (_, report): (Value, Value) = app.call(&analyst, "analyze/report", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(report["records"], 22_985);
    assert!(report["sources"].as_array().unwrap().is_empty());
    assert!(report["timeline"]["points"].as_array().unwrap().is_empty());
    assert_eq!(report["timeline"]["undated"], report["flows"]);
    assert!(!report["services"].as_array().unwrap().is_empty(), "services from the Dst Port and Protocol features");
    let labelled = &report["model"]["labelled"];
    assert!(labelled["benign"].as_u64().unwrap() > 15_000, "{labelled}");
    app.stop().await;
}

/// Behind a load balancer any instance serves an analysis: on PostgreSQL its files are stored with
/// its row, and an instance without a copy fetches them once. PostgreSQL pass only.
#[tokio::test]
async fn an_analysis_made_on_one_instance_is_downloaded_and_imported_on_another() {
    if !crate::support::on_postgres() {
        eprintln!("SKIPPED analyses across instances: runs in the PostgreSQL pass (AF_TEST_SERVER_BACKEND=postgres)");
        return;
    }
    let a = spawn(|_| {}).await;
    let b = TestApp::spawn_joining(&a, |_| {}).await;
    let (on_a, on_b) = (a.signed_in(Role::Analyst).await, b.signed_in(Role::Analyst).await);
    // 2.1 MB: its upload is stored in three chunks.
    let csv = project_file("data/cicids2017/original_sample.csv.gz");
    assert!(csv.len() > 2 << 20);
    let (status, made) = upload(&a, &on_a, "sample.csv.gz", csv).await;
    assert_eq!(status, 200, "{made}");
    let id = made["id"].as_i64().unwrap();
    let copy_on_b = b.config.data_dir.join("analyses").join(id.to_string());
    assert!(!copy_on_b.exists());
    let rows = |app: &TestApp, client: &reqwest::Client| {
        let (url, client) = (app.url(&format!("/api/v1/analyses/{id}/rows.jsonl")), client.clone());
        async move {
            let res = client.get(url).send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.bytes().await.unwrap()
        }
    };
    let from_a = rows(&a, &on_a).await;
    assert!(!from_a.is_empty());
    assert_eq!(rows(&b, &on_b).await, from_a, "B serves the same rows, fetched from the database");
    let input_a = std::fs::read(a.config.data_dir.join("analyses").join(id.to_string()).join("input")).unwrap();
    assert_eq!(std::fs::read(copy_on_b.join("input")).unwrap(), input_a, "the upload, byte for byte");

    // Import on B of a file analysed on A.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&beacon_log()).unwrap();
    let (_, log) = upload(&a, &on_a, "sensor-7.conn.log.gz", gz.finish().unwrap()).await;
    let log_id = log["id"].as_i64().unwrap().to_string();
    let state = import(&b, &on_b, &log_id).await;
    assert_eq!((state["status"].as_str(), state["records"].as_i64()), (Some("done"), Some(240)), "{state}");

    // Deleted on A: the stored files go with the row, and B drops its copy when it prunes.
    assert_eq!(a.call(&on_a, "analyze/delete", &[("id", &id.to_string())]).await.status(), 200);
    let chunks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM analysis_chunks WHERE analysis_id = $1")
        .bind(id)
        .fetch_one(a.db.pool())
        .await
        .unwrap();
    assert_eq!(chunks, 0);
    assert_eq!(b.call(&on_b, "analyze/report", &[("id", &id.to_string())]).await.status(), 404);
    assert_eq!(b.analyses.as_ref().expect("analyses on").prune_copies().await.unwrap(), 1);
    assert!(!copy_on_b.exists());
    b.stop().await;
    a.stop().await;
}
