//! Assets: the organisation's internal hosts, their owner, purpose and criticality. Browser-safe.
//!
//! Assets come from the inventory (people, CSV import) or are discovered in traffic: an internal
//! address (inside the configured internal networks) that is not in the inventory is added with
//! `discovered = true` and no owner, and shown as "unassigned" until someone reviews it.

use serde::{Deserialize, Serialize};

/// How much an asset matters to the business. Weights the risk of alerts that target it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criticality {
    Low,
    Medium,
    High,
    Critical,
}

impl Criticality {
    pub const ALL: [Criticality; 4] = [Criticality::Low, Criticality::Medium, Criticality::High, Criticality::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Criticality::Low => "low",
            Criticality::Medium => "medium",
            Criticality::High => "high",
            Criticality::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Criticality> {
        Criticality::ALL.into_iter().find(|c| c.as_str() == s.trim().to_ascii_lowercase())
    }

    /// How an alert's risk moves when it targets an asset of this criticality: the risk moves this
    /// share of the way towards 100 (positive) or towards 0 (negative). Medium leaves it unchanged.
    pub fn risk_shift(self) -> f32 {
        match self {
            Criticality::Low => -0.15,
            Criticality::Medium => 0.0,
            Criticality::High => 0.2,
            Criticality::Critical => 0.4,
        }
    }

    /// Applies [`risk_shift`](Self::risk_shift) to a 0–100 risk.
    pub fn weigh(self, risk: f32) -> f32 {
        let s = self.risk_shift();
        let r = if s >= 0.0 { risk + (100.0 - risk) * s } else { risk * (1.0 + s) };
        r.clamp(0.0, 100.0)
    }
}

/// An asset as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub id: i64,
    pub ip: String,
    pub hostname: Option<String>,
    pub owner: Option<String>,
    pub purpose: Option<String>,
    pub criticality: Criticality,
    pub tags: Vec<String>,
    /// Found in traffic and not yet reviewed by a person.
    pub discovered: bool,
    /// Unix ms of the first and latest flow seen to or from it (discovered assets).
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Asset {
    /// No owner yet (what the console calls "unassigned").
    pub fn is_unassigned(&self) -> bool {
        self.owner.as_deref().is_none_or(|o| o.trim().is_empty())
    }
}

/// What a person typed for an asset, in the form or in a CSV row, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetInput {
    pub ip: String,
    pub hostname: String,
    pub owner: String,
    pub purpose: String,
    /// `low`, `medium`, `high` or `critical`; empty means medium.
    pub criticality: String,
    /// Separated by commas or semicolons.
    pub tags: String,
}

/// A validated asset edit: the address in canonical form, empty fields as `None`, tags
/// normalised (lower case, unique, in the order given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetEdit {
    pub ip: String,
    pub hostname: Option<String>,
    pub owner: Option<String>,
    pub purpose: Option<String>,
    pub criticality: Criticality,
    pub tags: Vec<String>,
}

pub const MAX_HOSTNAME: usize = 253;
pub const MAX_OWNER: usize = 128;
pub const MAX_PURPOSE: usize = 500;
pub const MAX_TAGS: usize = 16;
pub const MAX_TAG: usize = 32;

/// Checks an asset's fields; the error names the field and says what to fix.
pub fn validate_asset(input: &AssetInput) -> Result<AssetEdit, crate::validate::FieldError> {
    use crate::validate::FieldError;
    let ip_raw = input.ip.trim();
    if ip_raw.is_empty() {
        return Err(FieldError::new("ip", "Enter the asset's IP address."));
    }
    let ip: std::net::IpAddr = ip_raw
        .parse()
        .map_err(|_| FieldError::new("ip", format!("`{}` is not an IPv4 or IPv6 address.", shorten(ip_raw))))?;
    let text = |field: &str, raw: &str, max: usize| -> Result<Option<String>, FieldError> {
        let v = raw.trim();
        if v.chars().count() > max {
            return Err(FieldError::new(field, format!("Use at most {max} characters.")));
        }
        if v.chars().any(char::is_control) {
            return Err(FieldError::new(field, "Remove line breaks and control characters."));
        }
        Ok((!v.is_empty()).then(|| v.to_string()))
    };
    let hostname = text("hostname", &input.hostname, MAX_HOSTNAME)?;
    if let Some(h) = &hostname {
        if !h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
            return Err(FieldError::new(
                "hostname",
                "A hostname has only letters, digits, dots, hyphens and underscores.",
            ));
        }
    }
    let owner = text("owner", &input.owner, MAX_OWNER)?;
    let purpose = text("purpose", &input.purpose, MAX_PURPOSE)?;
    let criticality = if input.criticality.trim().is_empty() {
        Criticality::Medium
    } else {
        Criticality::parse(&input.criticality).ok_or_else(|| {
            FieldError::new(
                "criticality",
                format!(
                    "`{}` is not a criticality: use low, medium, high or critical.",
                    shorten(input.criticality.trim())
                ),
            )
        })?
    };
    let mut tags: Vec<String> = Vec::new();
    for t in input.tags.split([',', ';']).map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()) {
        if t.chars().count() > MAX_TAG
            || !t.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'))
        {
            return Err(FieldError::new(
                "tags",
                format!("`{}` is not a tag: up to {MAX_TAG} letters, digits and - _ . : /", shorten(&t)),
            ));
        }
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(FieldError::new("tags", format!("Use at most {MAX_TAGS} tags.")));
    }
    Ok(AssetEdit { ip: ip.to_string(), hostname, owner, purpose, criticality, tags })
}

/// At most 40 characters of user input, for messages.
fn shorten(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(40).collect::<String>())
    }
}

/// An asset with the alerts that involve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetRow {
    pub asset: Asset,
    /// All alerts on record that involve the asset.
    pub alerts: i64,
    /// Of those, the ones still new or acknowledged.
    pub open_alerts: i64,
    /// The highest risk among them (0 when none).
    pub max_risk: f32,
}

/// Which assets the inventory page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AssetView {
    #[default]
    All,
    /// Found in traffic and not reviewed yet.
    Discovered,
}

impl AssetView {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetView::All => "all",
            AssetView::Discovered => "discovered",
        }
    }

    /// Anything but `discovered` lists everything.
    pub fn parse(s: &str) -> AssetView {
        if s.trim().eq_ignore_ascii_case("discovered") {
            AssetView::Discovered
        } else {
            AssetView::All
        }
    }
}

/// One page of the inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetPage {
    pub view: AssetView,
    pub rows: Vec<AssetRow>,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
    /// Assets in this view.
    pub total: i64,
    /// Discovered assets awaiting review (whatever the view).
    pub discovered: i64,
}

pub const ASSETS_PER_PAGE: u32 = 50;

/// A CSV row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    /// 1-based line of the CSV text (the header is line 1).
    pub line: usize,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub created: usize,
    pub updated: usize,
    pub rejected: Vec<RejectedRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criticality_weighs_risk_towards_the_ends() {
        assert_eq!(Criticality::Medium.weigh(60.0), 60.0);
        assert_eq!(Criticality::Critical.weigh(60.0), 76.0);
        assert_eq!(Criticality::High.weigh(50.0), 60.0);
        assert_eq!(Criticality::Low.weigh(60.0), 51.0);
        assert_eq!(Criticality::Critical.weigh(100.0), 100.0);
        assert_eq!(Criticality::Low.weigh(0.0), 0.0);
    }

    fn input(ip: &str) -> AssetInput {
        AssetInput { ip: ip.into(), ..Default::default() }
    }

    #[test]
    fn asset_fields_are_normalised() {
        let e = validate_asset(&AssetInput {
            ip: " 192.168.010.5 ".into(),
            hostname: " db-01.corp ".into(),
            owner: " Finance IT ".into(),
            purpose: "".into(),
            criticality: "HIGH".into(),
            tags: "PCI; prod, pci ,,".into(),
        });
        // Leading zeros are not accepted by Rust's parser: they are ambiguous (octal in some tools).
        assert_eq!(e.unwrap_err().field, "ip");
        let e = validate_asset(&AssetInput {
            ip: "2001:DB8::1".into(),
            hostname: "db-01.corp".into(),
            owner: " Finance IT ".into(),
            criticality: "HIGH".into(),
            tags: "PCI; prod, pci ,,".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(e.ip, "2001:db8::1");
        assert_eq!(e.owner.as_deref(), Some("Finance IT"));
        assert_eq!(e.purpose, None);
        assert_eq!(e.criticality, Criticality::High);
        assert_eq!(e.tags, vec!["pci", "prod"]);
        assert_eq!(validate_asset(&input("10.0.0.1")).unwrap().criticality, Criticality::Medium);
    }

    #[test]
    fn bad_asset_fields_are_named() {
        let field = |i: AssetInput| validate_asset(&i).unwrap_err().field;
        assert_eq!(field(input("")), "ip");
        assert_eq!(field(input("10.0.0.256")), "ip");
        assert_eq!(field(AssetInput { hostname: "<img src=x>".into(), ..input("10.0.0.1") }), "hostname");
        assert_eq!(field(AssetInput { owner: "a\nb".into(), ..input("10.0.0.1") }), "owner");
        assert_eq!(field(AssetInput { owner: "x".repeat(MAX_OWNER + 1), ..input("10.0.0.1") }), "owner");
        assert_eq!(field(AssetInput { criticality: "urgent".into(), ..input("10.0.0.1") }), "criticality");
        assert_eq!(field(AssetInput { tags: "ok, not ok".into(), ..input("10.0.0.1") }), "tags");
        let many = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect::<Vec<_>>().join(",");
        assert_eq!(field(AssetInput { tags: many, ..input("10.0.0.1") }), "tags");
        // Text that looks like markup is fine in free-text fields: it is always shown as text.
        assert!(validate_asset(&AssetInput { purpose: "<b>billing</b>".into(), ..input("10.0.0.1") }).is_ok());
    }

    #[test]
    fn criticality_round_trips_and_rejects_unknown() {
        for c in Criticality::ALL {
            assert_eq!(Criticality::parse(c.as_str()), Some(c));
        }
        assert_eq!(Criticality::parse(" HIGH "), Some(Criticality::High));
        assert_eq!(Criticality::parse("urgent"), None);
    }
}
