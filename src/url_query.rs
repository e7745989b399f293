//! URL query strings built by the pages and the domain's links (browser-safe).

/// Percent-encodes a URL query component (RFC 3986 unreserved characters are kept).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unreserved_characters_and_encodes_the_rest() {
        assert_eq!(encode_component("a-Z_0.9~"), "a-Z_0.9~");
        assert_eq!(encode_component("src=10.0.0.1 & x/y"), "src%3D10.0.0.1%20%26%20x%2Fy");
        assert_eq!(encode_component("é"), "%C3%A9");
    }
}
