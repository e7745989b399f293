//! Text for hand-written HTML (the standalone analysis report, the `/api/docs` page): escaping for
//! element content and quoted attribute values. Pages rendered by Leptos escape by themselves.

/// `&`, `<`, `>`, `"` and `'` as entities; everything else as is.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_become_entities() {
        assert_eq!(escape(r#"<a href="x">Tom's & co</a>"#), "&lt;a href=&quot;x&quot;&gt;Tom&#39;s &amp; co&lt;/a&gt;");
        assert_eq!(escape("plain"), "plain");
    }
}
