//! `/api/docs`: the OpenAPI document as a plain HTML page, rendered here from the document itself
//! (grouped by tag: each operation's method, path, summary, parameters, request body and answers,
//! then the schemas). No script and nothing loaded from elsewhere: the site's own stylesheet only.

use anomalyforge::html_text::escape as esc;
use serde_json::Value;
use utoipa::openapi::OpenApi;

/// Escaped text with the descriptions' one piece of Markdown, `code`, as `<code>`.
fn md(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return esc(s); // an unpaired backtick: plain text
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| if i % 2 == 1 { format!("<code>{}</code>", esc(p)) } else { esc(p) })
        .collect()
}

/// `#/components/schemas/Alert` → a link to its section; an inline schema → its type in words.
fn schema_words(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\"><code>{0}</code></a>", esc(name));
    }
    if let Some(items) = schema.get("items") {
        return format!("array of {}", schema_words(items));
    }
    match schema.get("type") {
        Some(Value::String(t)) => format!("<code>{}</code>", esc(t)),
        Some(Value::Array(ts)) => {
            let names: Vec<String> =
                ts.iter().filter_map(Value::as_str).map(|t| format!("<code>{}</code>", esc(t))).collect();
            names.join(" or ")
        }
        _ if schema.as_object().is_some_and(|o| o.is_empty()) => "any JSON".to_string(),
        _ => "<code>object</code>".to_string(),
    }
}

fn content_words(content: Option<&Value>) -> String {
    let Some(Value::Object(types)) = content else { return String::new() };
    types
        .iter()
        .map(|(ty, media)| {
            let schema = media.get("schema").map(schema_words).unwrap_or_default();
            format!("<code>{}</code>{}", esc(ty), if schema.is_empty() { String::new() } else { format!(": {schema}") })
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn operation(method: &str, path: &str, op: &Value) -> String {
    let text = |k: &str| op.get(k).and_then(Value::as_str).unwrap_or_default();
    let mut s = format!(
        "<section class=\"panel api-op\" id=\"{}\" data-test=\"operation\" data-method=\"{}\" data-path=\"{}\">\
         <h3><span class=\"badge\">{}</span> <code>{}</code></h3>",
        esc(op.get("operationId").and_then(Value::as_str).unwrap_or(path)),
        esc(method),
        esc(path),
        esc(&method.to_uppercase()),
        esc(path)
    );
    let summary = text("summary");
    let description = text("description");
    if !summary.is_empty() {
        s.push_str(&format!("<p><strong>{}</strong></p>", md(summary)));
    }
    if !description.is_empty() && description != summary {
        s.push_str(&format!("<p class=\"prose\">{}</p>", md(description)));
    }
    if let Some(Value::Array(security)) = op.get("security") {
        let ways: Vec<String> = security
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|o| o.keys().cloned())
            .map(|k| match k.as_str() {
                "token" => "an API token".to_string(),
                "session" => "a session".to_string(),
                other => other.to_string(),
            })
            .collect();
        if !ways.is_empty() {
            s.push_str(&format!("<p class=\"muted small\">Authentication: {}.</p>", esc(&ways.join(" or "))));
        }
    }
    if let Some(Value::Array(params)) = op.get("parameters") {
        s.push_str("<table class=\"table compact\"><thead><tr><th>Parameter</th><th>In</th><th>Type</th><th>Required</th><th>Meaning</th></tr></thead><tbody>");
        for p in params {
            let t = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default();
            s.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(t("name")),
                esc(t("in")),
                p.get("schema").map(schema_words).unwrap_or_default(),
                if p.get("required").and_then(Value::as_bool).unwrap_or(false) { "yes" } else { "no" },
                md(t("description"))
            ));
        }
        s.push_str("</tbody></table>");
    }
    if let Some(body) = op.get("requestBody") {
        let d = body.get("description").and_then(Value::as_str).unwrap_or_default();
        s.push_str(&format!(
            "<p><strong>Body</strong>: {}{}</p>",
            content_words(body.get("content")),
            if d.is_empty() { String::new() } else { format!(" — {}", md(d)) }
        ));
    }
    if let Some(Value::Object(responses)) = op.get("responses") {
        s.push_str("<table class=\"table compact\"><thead><tr><th>Status</th><th>Meaning</th><th>Body</th></tr></thead><tbody>");
        for (status, r) in responses {
            s.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(status),
                md(r.get("description").and_then(Value::as_str).unwrap_or_default()),
                content_words(r.get("content"))
            ));
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("</section>");
    s
}

/// The whole page.
pub fn render(doc: &OpenApi) -> String {
    let v = serde_json::to_value(doc).unwrap_or(Value::Null);
    let info = |k: &str| v.pointer(&format!("/info/{k}")).and_then(Value::as_str).unwrap_or_default().to_string();
    let tags: Vec<(String, String)> = v
        .get("tags")
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .map(|t| {
                    (
                        t.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
                        t.get("description").and_then(Value::as_str).unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut by_tag: Vec<(String, Vec<String>)> = tags.iter().map(|(t, _)| (t.clone(), Vec::new())).collect();
    if let Some(Value::Object(paths)) = v.get("paths") {
        for (path, item) in paths {
            let Some(ops) = item.as_object() else { continue };
            for (method, op) in ops {
                if !matches!(method.as_str(), "get" | "post" | "put" | "delete" | "patch") {
                    continue;
                }
                let tag = op.pointer("/tags/0").and_then(Value::as_str).unwrap_or("other").to_string();
                let html = operation(method, path, op);
                match by_tag.iter_mut().find(|(t, _)| *t == tag) {
                    Some((_, list)) => list.push(html),
                    None => by_tag.push((tag, vec![html])),
                }
            }
        }
    }
    let mut body = String::new();
    body.push_str(&format!(
        "<h1>{} <span class=\"muted small\">{}</span></h1><p class=\"prose\">{}</p>\
         <p>The same description as JSON: <a href=\"/api/openapi.json\"><code>/api/openapi.json</code></a> (OpenAPI 3.1).</p>",
        esc(&info("title")),
        esc(&info("version")),
        md(&info("description"))
    ));
    body.push_str("<nav class=\"panel\" aria-label=\"Sections\"><ul class=\"plain\">");
    for (tag, ops) in &by_tag {
        let description = tags.iter().find(|(t, _)| t == tag).map(|(_, d)| d.as_str()).unwrap_or_default();
        body.push_str(&format!(
            "<li><a href=\"#tag-{0}\">{0}</a> <span class=\"muted small\">({1}) {2}</span></li>",
            esc(tag),
            ops.len(),
            md(description)
        ));
    }
    body.push_str("<li><a href=\"#schemas\">schemas</a></li></ul></nav>");
    for (tag, ops) in &by_tag {
        let description = tags.iter().find(|(t, _)| t == tag).map(|(_, d)| d.as_str()).unwrap_or_default();
        body.push_str(&format!("<h2 id=\"tag-{0}\">{0}</h2><p class=\"muted\">{1}</p>", esc(tag), md(description)));
        for op in ops {
            body.push_str(op);
        }
    }
    body.push_str("<h2 id=\"schemas\">Schemas</h2>");
    if let Some(Value::Object(schemas)) = v.pointer("/components/schemas") {
        for (name, schema) in schemas {
            let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
            body.push_str(&format!(
                "<section class=\"panel\" id=\"schema-{0}\" data-test=\"schema\"><h3><code>{0}</code></h3><pre>{1}</pre></section>",
                esc(name),
                esc(&pretty)
            ));
        }
    }
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} reference</title><link rel=\"stylesheet\" href=\"/pkg/anomalyforge.css\"></head>\
         <body><main class=\"api-docs\" data-test=\"api-docs\">{body}</main></body></html>",
        esc(&info("title"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_text_and_markup_in_the_document_are_escaped() {
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(md("scope `read` <b>"), "scope <code>read</code> &lt;b&gt;");
        assert_eq!(md("a ` b"), "a ` b");
        assert_eq!(
            schema_words(&serde_json::json!({"$ref": "#/components/schemas/Alert"})),
            "<a href=\"#schema-Alert\"><code>Alert</code></a>"
        );
        assert_eq!(
            schema_words(&serde_json::json!({"type": "array", "items": {"type": "string"}})),
            "array of <code>string</code>"
        );
    }
}
