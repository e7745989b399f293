//! `/playbooks`: seeded for every threat, read by analysts, responders and admins, changed only by
//! responders and admins (audited), and rendered as text with an anchor per threat.

use crate::support::TestApp;
use anomalyforge::role::Role;
use serde_json::Value;

#[tokio::test]
async fn roles_read_and_edit_as_the_table_says() {
    let app = TestApp::spawn().await;
    let form = [
        ("threat", "ddos"),
        ("title", "DDoS"),
        ("summary", "Flood"),
        ("steps", "1. Call the ISP\n2. Block <script>x</script> ranges"),
    ];
    assert_eq!(app.call(&app.client(), "playbooks/list", &[]).await.status(), 401);
    for (role, read, edit) in [
        (Role::Admin, 200, 200),
        (Role::Responder, 200, 200),
        (Role::Analyst, 200, 403),
        (Role::Executive, 403, 403),
        (Role::Employee, 403, 403),
    ] {
        let c = app.signed_in(role).await;
        assert_eq!(app.call(&c, "playbooks/list", &[]).await.status(), read, "{role:?} list");
        assert_eq!(app.call(&c, "playbooks/update", &form).await.status(), edit, "{role:?} update");
    }
    let p = app.db.playbook("ddos").await.unwrap();
    assert_eq!(p.steps, vec!["Call the ISP", "Block <script>x</script> ranges"]);
    assert_eq!(p.updated_by.as_deref(), Some("responder"), "the last allowed edit wins");
    let audit = app.db.recent_audit(20).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "playbook.update").count(), 2);

    // Bad edits name the field; unknown threats are 404.
    let admin = app.signed_in(Role::Admin).await;
    let res = app
        .call(&admin, "playbooks/update", &[("threat", "ddos"), ("title", "DDoS"), ("summary", ""), ("steps", "  ")])
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "steps");
    let res = app
        .call(&admin, "playbooks/update", &[("threat", "nope"), ("title", "x"), ("summary", ""), ("steps", "a")])
        .await;
    assert_eq!(res.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn the_page_lists_every_playbook_with_an_anchor_and_text_only() {
    let app = TestApp::spawn().await;
    let responder = app.signed_in(Role::Responder).await;
    app.call(
        &responder,
        "playbooks/update",
        &[
            ("threat", "port_scan"),
            ("title", "Port scan"),
            ("summary", "</textarea><b>bold</b>"),
            ("steps", "<img src=x onerror=alert(1)>"),
        ],
    )
    .await;
    let html = responder.get(app.url("/playbooks")).send().await.unwrap().text().await.unwrap();
    for threat in
        ["ddos", "port_scan", "ssh_patator", "web_sql_injection", "heartbleed", "signature", "unknown_anomaly"]
    {
        assert!(html.contains(&format!("id=\"{threat}\"")), "anchor for {threat}");
    }
    assert!(!html.contains("<img src=x"), "steps are text");
    assert!(!html.contains("</textarea><b>"), "a summary cannot break out of the editor's textarea");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("Edit this playbook"), "responders get the editor");
    let analyst = app.signed_in(Role::Analyst).await;
    let html = analyst.get(app.url("/playbooks")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("id=\"ddos\"") && !html.contains("Edit this playbook"), "analysts read only");
    app.stop().await;
}
