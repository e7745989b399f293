//! Playbooks: the ordered response steps for one threat type. Browser-safe.

use serde::{Deserialize, Serialize};

/// Threat key of ML alerts whose classifier said benign but whose anomaly models fired.
pub const UNKNOWN_ANOMALY: &str = "unknown_anomaly";

/// A playbook as stored (seeded by a migration, edited by responders and admins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Playbook {
    /// The threat key it answers (`ddos`, `port_scan`, …, `signature`, `unknown_anomaly`).
    pub threat: String,
    pub title: String,
    pub summary: String,
    pub steps: Vec<String>,
    pub updated_at: i64,
    pub updated_by: Option<String>,
}

/// Where the console shows the playbook of a threat key.
pub fn playbook_href(threat: &str) -> String {
    format!("/playbooks#{threat}")
}

/// Most steps in a playbook, and the longest title, summary and step.
pub const MAX_STEPS: usize = 30;
pub const MAX_TITLE: usize = 120;
pub const MAX_SUMMARY: usize = 500;
pub const MAX_STEP: usize = 500;

/// Checks an edited playbook: the steps come one per line (blank lines dropped, leading list markers
/// like `1.` or `-` removed).
pub fn validate_playbook(
    title: &str,
    summary: &str,
    steps: &str,
) -> Result<(String, String, Vec<String>), crate::validate::FieldError> {
    use crate::validate::FieldError;
    let title = title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Err(FieldError::new("title", format!("Give the playbook a title of 1 to {MAX_TITLE} characters.")));
    }
    let summary = summary.trim();
    if summary.chars().count() > MAX_SUMMARY {
        return Err(FieldError::new("summary", format!("Keep the summary under {MAX_SUMMARY} characters.")));
    }
    let steps: Vec<String> = steps
        .lines()
        .map(|l| {
            let l = l.trim();
            let l = l.trim_start_matches(|c: char| c.is_ascii_digit());
            let l = l.strip_prefix('.').or_else(|| l.strip_prefix(')')).unwrap_or(l);
            l.trim_start_matches(['-', '*', '•']).trim().to_string()
        })
        .filter(|l| !l.is_empty())
        .collect();
    if steps.is_empty() {
        return Err(FieldError::new("steps", "Write at least one step, one per line."));
    }
    if steps.len() > MAX_STEPS {
        return Err(FieldError::new("steps", format!("A playbook has at most {MAX_STEPS} steps.")));
    }
    if let Some(i) = steps.iter().position(|s| s.chars().count() > MAX_STEP) {
        return Err(FieldError::new("steps", format!("Step {} is longer than {MAX_STEP} characters.", i + 1)));
    }
    Ok((title.to_string(), summary.to_string(), steps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_one_per_line_without_list_markers() {
        let (t, s, steps) =
            validate_playbook(" DDoS ", "Flood", "1. Call the ISP\n\n- Block <b>ranges</b>\n  3) Watch").unwrap();
        assert_eq!((t.as_str(), s.as_str()), ("DDoS", "Flood"));
        assert_eq!(steps, vec!["Call the ISP", "Block <b>ranges</b>", "Watch"]);
    }

    #[test]
    fn bad_edits_name_the_field() {
        assert_eq!(validate_playbook("", "", "x").unwrap_err().field, "title");
        assert_eq!(validate_playbook("t", "", " \n ").unwrap_err().field, "steps");
        assert_eq!(validate_playbook("t", &"s".repeat(MAX_SUMMARY + 1), "x").unwrap_err().field, "summary");
        let many = vec!["x"; MAX_STEPS + 1].join("\n");
        assert_eq!(validate_playbook("t", "", &many).unwrap_err().field, "steps");
    }
}
