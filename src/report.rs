//! Employee reports of a suspicious IP address or domain. Browser-safe.
//!
//! Any signed-in person can report; the SOC sets the status. Reports that are not dismissed are threat
//! intel: a flow from a reported IP raises its alert's risk and the alert names the report.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportCategory {
    Phishing,
    Ddos,
    Spam,
    Malware,
    Scanning,
    Other,
}

impl ReportCategory {
    pub const ALL: [ReportCategory; 6] = [
        ReportCategory::Phishing,
        ReportCategory::Ddos,
        ReportCategory::Spam,
        ReportCategory::Malware,
        ReportCategory::Scanning,
        ReportCategory::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportCategory::Phishing => "phishing",
            ReportCategory::Ddos => "ddos",
            ReportCategory::Spam => "spam",
            ReportCategory::Malware => "malware",
            ReportCategory::Scanning => "scanning",
            ReportCategory::Other => "other",
        }
    }

    /// Words for people who do not work in security.
    pub fn title(self) -> &'static str {
        match self {
            ReportCategory::Phishing => "Phishing (a fake message asking for passwords or money)",
            ReportCategory::Ddos => "Website or service overloaded (DDoS)",
            ReportCategory::Spam => "Spam",
            ReportCategory::Malware => "Malware or a suspicious download",
            ReportCategory::Scanning => "Something probing our systems (scanning)",
            ReportCategory::Other => "Something else",
        }
    }

    pub fn parse(s: &str) -> Option<ReportCategory> {
        ReportCategory::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    New,
    Investigating,
    Confirmed,
    Dismissed,
}

impl ReportStatus {
    pub const ALL: [ReportStatus; 4] =
        [ReportStatus::New, ReportStatus::Investigating, ReportStatus::Confirmed, ReportStatus::Dismissed];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::New => "new",
            ReportStatus::Investigating => "investigating",
            ReportStatus::Confirmed => "confirmed",
            ReportStatus::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<ReportStatus> {
        ReportStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// How far a report with this status moves the risk of an alert from the reported address
    /// towards 100: a confirmed report counts fully, an open one partly, a dismissed one not at all.
    pub fn risk_shift(self) -> f32 {
        match self {
            ReportStatus::Confirmed => 0.5,
            ReportStatus::New | ReportStatus::Investigating => 0.2,
            ReportStatus::Dismissed => 0.0,
        }
    }
}

/// What the reported indicator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    Ip,
    Domain,
}

impl IndicatorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Ip => "ip",
            IndicatorKind::Domain => "domain",
        }
    }

    pub fn parse(s: &str) -> Option<IndicatorKind> {
        [IndicatorKind::Ip, IndicatorKind::Domain].into_iter().find(|c| c.as_str() == s)
    }
}

/// A stored report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployeeReport {
    pub id: i64,
    pub reporter_id: i64,
    /// The reporter's username (joined in for the SOC's view).
    pub reporter: String,
    /// A normalised IP address or lower-case domain name.
    pub indicator: String,
    pub kind: IndicatorKind,
    pub category: ReportCategory,
    pub description: String,
    pub status: ReportStatus,
    pub created_at: i64,
    pub updated_at: i64,
}
