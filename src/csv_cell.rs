//! CSV cells that a spreadsheet shows as text: the one writer of every CSV export (assets, KPIs).
//!
//! A cell whose text a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
//! carriage return: CSV injection, OWASP) is prefixed with `'`, which spreadsheets show as text and do
//! not display. An import strips that prefix again ([`unguard`]), so an exported file imports back
//! unchanged. Browser-safe (no dependencies).

use std::borrow::Cow;

fn runs_as_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Formula text behind any number of `'`: what [`guard`] prefixes (one more `'`) and [`unguard`]
/// strips (one `'`), so that every text survives an export and an import.
fn needs_guard(text: &str) -> bool {
    runs_as_formula(text.trim_start_matches('\''))
}

/// The text with a `'` in front when a spreadsheet would run it as a formula, or when it already
/// starts with the `'` of such text (so that [`unguard`] gives it back exactly).
pub fn guard(text: &str) -> Cow<'_, str> {
    if needs_guard(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The inverse of [`guard`] for an imported cell: a `'` in front of formula text is dropped.
pub fn unguard(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if needs_guard(rest) => rest,
        _ => text,
    }
}

/// A guarded cell quoted as CSV needs (for writers that build lines by hand).
pub fn cell(text: &str) -> String {
    let text = guard(text);
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_come_back_on_import() {
        for evil in ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            let g = guard(evil);
            assert!(g.starts_with('\''), "{evil:?}");
            assert_eq!(unguard(&g), evil);
        }
        assert_eq!(guard("Finance"), "Finance");
        assert_eq!(unguard("'quoted on purpose"), "'quoted on purpose");
        for literal in ["'=", "''+x", "'", "''"] {
            assert_eq!(unguard(&guard(literal)), literal);
        }
        assert_eq!(cell("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(cell("=1,2"), "\"'=1,2\"");
    }
}
