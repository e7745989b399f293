//! `/assets`: the inventory through the server functions, the page and the CSV export, as the
//! roles that may and may not use it.

use crate::support::TestApp;
use anomalyforge::role::Role;
use serde_json::Value;

fn asset<'a>(ip: &'a str, owner: &'a str, criticality: &'a str, tags: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("asset[ip]", ip),
        ("asset[hostname]", ""),
        ("asset[owner]", owner),
        ("asset[purpose]", "<img src=x onerror=alert(1)>"),
        ("asset[criticality]", criticality),
        ("asset[tags]", tags),
    ]
}

#[tokio::test]
async fn analysts_edit_the_inventory_and_other_roles_cannot() {
    let app = TestApp::spawn().await;
    let analyst = app.signed_in(Role::Analyst).await;
    let res = app.call(&analyst, "assets/save", &asset("10.1.0.5", "Payments <team>", "critical", "PCI; prod")).await;
    assert_eq!(res.status(), 200);
    let saved: Value = res.json().await.unwrap();
    assert_eq!((saved["ip"].as_str(), saved["criticality"].as_str()), (Some("10.1.0.5"), Some("critical")));
    assert_eq!(saved["tags"], serde_json::json!(["pci", "prod"]));

    // Bad input names the field and changes nothing.
    let bad = app.call(&analyst, "assets/save", &asset("10.1.0.6", "x", "urgent", "")).await;
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["field"], "criticality");
    assert!(app.db.asset_by_ip("10.1.0.6").await.unwrap().is_none());

    // The page shows user-supplied text as text.
    let page = analyst.get(app.url("/assets")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Payments &lt;team&gt;"), "owner not escaped");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;") && !page.contains("<img src=x"), "purpose not escaped");

    for role in [Role::Employee, Role::Executive, Role::Responder] {
        let c = app.signed_in(role).await;
        assert_eq!(app.call(&c, "assets/save", &asset("10.1.0.7", "x", "low", "")).await.status(), 403, "{role}");
        assert_eq!(app.call(&c, "assets/list", &[("view", "all"), ("page", "1")]).await.status(), 403, "{role}");
        assert_eq!(c.get(app.url("/assets/export.csv")).send().await.unwrap().status(), 403, "{role}");
    }
    assert_eq!(app.client().get(app.url("/assets/export.csv")).send().await.unwrap().status(), 401);
    assert!(app.db.asset_by_ip("10.1.0.7").await.unwrap().is_none());
    let audit: Vec<String> = app.db.recent_audit(10).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(audit.contains(&"asset.save".to_string()), "{audit:?}");
    app.stop().await;
}

#[tokio::test]
async fn csv_import_keeps_good_rows_names_bad_ones_and_export_round_trips() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in(Role::Admin).await;
    let csv = "owner,ip,criticality,tags\nFinance,10.2.0.1,high,erp;prod\nWeb,10.2.0.300,low,\nOps,10.2.0.3,,\n";
    let res = app.call(&admin, "assets/import", &[("csv", csv)]).await;
    assert_eq!(res.status(), 200);
    let summary: Value = res.json().await.unwrap();
    assert_eq!((summary["created"].as_u64(), summary["updated"].as_u64()), (Some(2), Some(0)));
    assert_eq!(summary["rejected"][0]["line"], 3);
    assert!(summary["rejected"][0]["reason"].as_str().unwrap().starts_with("ip:"));

    let no_ip = app.call(&admin, "assets/import", &[("csv", "address,owner\n10.2.0.9,x\n")]).await;
    assert_eq!(no_ip.status(), 422);
    assert!(no_ip.text().await.unwrap().contains("no `ip` column"));

    // Alerts per asset and the discovered count come with the list.
    app.db
        .persist_batch(&anomalyforge::store::alerts::PersistBatch {
            alerts: vec![anomalyforge::store::alerts::NewAlert {
                seen_at: 1_000,
                last_seen: 1_000,
                threat: "portscan".into(),
                risk: 64,
                asset_ip: Some("10.2.0.1".into()),
                ..anomalyforge::store::alerts::NewAlert::blank()
            }],
            assets_seen: vec![("10.2.0.1".into(), 1_000), ("10.2.0.50".into(), 1_000)],
            ..Default::default()
        })
        .await
        .unwrap();
    let list: Value = app.call(&admin, "assets/list", &[("view", "all"), ("page", "1")]).await.json().await.unwrap();
    assert_eq!((list["total"].as_i64(), list["discovered"].as_i64()), (Some(3), Some(1)));
    let erp = list["rows"].as_array().unwrap().iter().find(|r| r["asset"]["ip"] == "10.2.0.1").unwrap();
    assert_eq!(
        (erp["alerts"].as_i64(), erp["open_alerts"].as_i64(), erp["max_risk"].as_f64()),
        (Some(1), Some(1), Some(64.0))
    );
    let discovered: Value =
        app.call(&admin, "assets/list", &[("view", "discovered"), ("page", "1")]).await.json().await.unwrap();
    assert_eq!(discovered["rows"].as_array().unwrap().len(), 1);
    assert_eq!(discovered["rows"][0]["asset"]["ip"], "10.2.0.50");

    let export = admin.get(app.url("/assets/export.csv")).send().await.unwrap();
    assert_eq!(export.status(), 200);
    assert!(export.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"assets-"));
    let text = export.text().await.unwrap();
    assert!(text.starts_with("ip,hostname,owner,purpose,criticality,tags,discovered,first_seen,last_seen\n"), "{text}");
    assert!(text.contains("10.2.0.1,,Finance,,high,erp;prod,false"), "{text}");
    // The export imports back: every row updates, none is new or rejected, the flag is cleared.
    let again: Value = app.call(&admin, "assets/import", &[("csv", &text)]).await.json().await.unwrap();
    assert_eq!(
        (again["created"].as_u64(), again["updated"].as_u64(), again["rejected"].as_array().map(Vec::len)),
        (Some(0), Some(3), Some(0))
    );
    assert!(!app.db.asset_by_ip("10.2.0.50").await.unwrap().unwrap().discovered);
    app.stop().await;
}
