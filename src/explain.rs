//! Why an alert fired, in plain words and numbers: reads the reasons and features an alert stores
//! (JSON written by the pipeline and the enrichment) into sentences for the alert detail.
//! Browser-safe. Unknown or damaged fields are skipped, never fatal: an alert always gets an
//! explanation, even if it only says what could not be read.

use crate::alert::{Alert, Detector};
use crate::charts::format_number;
use crate::console::threat_title;
use crate::detection::{ContributionSource, FeatureContribution, ModelKind, ModelSignal, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The explanation of one alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// One sentence: what was detected and by what.
    pub headline: String,
    /// Further plain-language reasons (context, asset, intel), in the order they shaped the risk.
    pub reasons: Vec<String>,
    /// Each model of the ensemble and how it judged the riskiest flow (ML alerts).
    pub models: Vec<ModelLine>,
    /// The features that contributed most.
    pub features: Vec<FeatureLine>,
    /// How the risk was built: the detector's own risk, then each adjustment.
    pub risk_steps: Vec<RiskStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelLine {
    pub model: ModelKind,
    /// What the model is, in words.
    pub name: String,
    pub fired: bool,
    pub score: f32,
    pub threshold: f32,
    /// 1.0 = at its threshold.
    pub strength: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureLine {
    pub feature: String,
    pub source: ContributionSource,
    pub contribution: f32,
    /// The raw value in the flow, when present.
    pub value: Option<f32>,
    /// "pushed the classifier towards DDoS" / "unusual for normal traffic".
    pub words: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskStep {
    pub what: String,
    pub risk: i64,
}

/// What a model is, for people who do not build models.
pub fn model_name(m: ModelKind) -> &'static str {
    match m {
        ModelKind::Gbdt => "Attack classifier (gradient-boosted trees)",
        ModelKind::WebSpecialist => "Web-attack specialist",
        ModelKind::IsolationForest => "Isolation forest (unusual traffic)",
        ModelKind::OneClassSvm => "One-class SVM (unusual traffic)",
        ModelKind::Autoencoder => "Autoencoder (unusual traffic)",
    }
}

/// Explains `alert` from its stored reasons and features.
pub fn explain(alert: &Alert) -> Explanation {
    let reasons: Value = serde_json::from_str(&alert.reasons).unwrap_or(Value::Null);
    let mut out = Explanation {
        headline: String::new(),
        reasons: Vec::new(),
        models: Vec::new(),
        features: Vec::new(),
        risk_steps: Vec::new(),
    };
    let threat = threat_title(&alert.threat);
    match alert.detector {
        Detector::Signature => {
            let sig = alert.signature.as_deref().unwrap_or("an unnamed rule");
            out.headline = format!("A Suricata signature matched: “{sig}”.");
            if let Some(cat) = reasons.get("category").and_then(Value::as_str).filter(|c| !c.is_empty()) {
                out.reasons.push(format!("Rule category: {cat}."));
            }
            if let Some(id) = reasons.get("signature_id").and_then(Value::as_i64) {
                let sev = reasons.get("suricata_severity").and_then(Value::as_i64);
                out.reasons.push(match sev {
                    Some(s) => format!("Signature {id}, Suricata severity {s} (1 is the most severe)."),
                    None => format!("Signature {id}."),
                });
            }
        }
        Detector::Intel => {
            let m = reasons.get("intel_match");
            let text = |k: &str| m.and_then(|m| m.get(k)).and_then(Value::as_str).unwrap_or("");
            let (value, source) = (text("indicator"), text("source"));
            let side = if text("matched") == "source" { "source" } else { "target" };
            out.headline = format!("The {side} address is listed by the threat-intel source “{source}” as {value}.");
            if let Some(c) = m.and_then(|m| m.get("confidence")).and_then(Value::as_i64) {
                out.reasons.push(format!("The source rates this indicator at {c} % confidence."));
            }
            if !text("description").is_empty() {
                out.reasons.push(format!("The source says: {}.", text("description").trim_end_matches('.')));
            }
            if m.and_then(|m| m.get("retro")).and_then(Value::as_bool) == Some(true) {
                out.reasons.push(
                    "Found by a retro-hunt: the indicator was imported after this traffic, and the stored flows were searched for it.".to_string(),
                );
            }
        }
        Detector::Behaviour => {
            // The detector wrote its reasons in plain words with the numbers (`crate::behaviour`).
            let summary = reasons.get("summary").and_then(Value::as_str).unwrap_or("");
            out.headline = if summary.is_empty() {
                format!("{threat}, seen in the pattern of connections between these hosts.")
            } else {
                format!("{threat}, seen in the pattern of connections: {summary}.")
            };
            for line in reasons.get("details").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
            {
                out.reasons.push(line.to_string());
            }
        }
        Detector::Ml => {
            let models: Vec<ModelSignal> =
                reasons.get("models").and_then(|m| serde_json::from_value(m.clone()).ok()).unwrap_or_default();
            let class_p = reasons.get("class_probability").and_then(Value::as_f64);
            let profile = reasons.get("profile").and_then(Value::as_str);
            let fired: Vec<&ModelSignal> = models.iter().filter(|m| m.fired).collect();
            out.headline = match (alert.threat.as_str(), class_p) {
                (crate::playbook::UNKNOWN_ANOMALY, _) => format!(
                    "The attack classifier saw nothing it knows, but {} of {} models found this traffic unlike normal traffic.",
                    fired.len(),
                    models.len()
                ),
                (_, Some(p)) => format!("The attack classifier recognises this traffic as {threat} ({} probability).", percent(p)),
                _ => format!("The detection ensemble flagged this traffic as {threat}."),
            };
            out.reasons.extend(models_sentence(&models));
            match profile {
                Some("conn") => out.reasons.push(
                    "Scored with the connection-summary model (duration, packets, bytes, ports), as the source gives no full flow features."
                        .to_string(),
                ),
                Some("cicflowmeter") => out.reasons.push("Scored with the full CICFlowMeter feature set.".to_string()),
                _ => {}
            }
            out.reasons.extend(
                reasons.get("context").and_then(Value::as_array).into_iter().flatten().filter_map(context_sentence),
            );
            out.models = models
                .iter()
                .map(|m| ModelLine {
                    model: m.model,
                    name: model_name(m.model).to_string(),
                    fired: m.fired,
                    score: m.score,
                    threshold: m.threshold,
                    strength: m.strength,
                })
                .collect();
            let features: Vec<FeatureContribution> = serde_json::from_str(&alert.features).unwrap_or_default();
            out.features = features
                .into_iter()
                .map(|f| FeatureLine {
                    words: feature_words(&f, &threat),
                    feature: f.feature.into_owned(),
                    source: f.source,
                    contribution: f.contribution,
                    value: f.value,
                })
                .collect();
        }
    }

    let base = alert.base_risk.unwrap_or(alert.risk);
    out.risk_steps.push(RiskStep {
        what: match alert.detector {
            Detector::Ml => "Risk from the detection models".to_string(),
            Detector::Signature => "Risk from the signature's severity".to_string(),
            Detector::Behaviour => "Risk from the behaviour detector (how clear the pattern is)".to_string(),
            Detector::Intel => "Risk from the intel source's confidence".to_string(),
        },
        risk: base,
    });
    if let Some(a) = reasons.get("asset") {
        let ip = a.get("ip").and_then(Value::as_str).unwrap_or("the target");
        let crit = a.get("criticality").and_then(Value::as_str).unwrap_or("unknown");
        let after = a.get("risk_after").and_then(Value::as_f64).map(|v| v.round() as i64);
        out.reasons.push(format!("The asset involved, {ip}, is of {crit} criticality, which weighs the risk."));
        if let Some(after) = after {
            out.risk_steps.push(RiskStep { what: format!("Weighed by the {crit} criticality of {ip}"), risk: after });
        }
    }
    if let Some(i) = reasons.get("intel") {
        let side = match i.get("matched").and_then(Value::as_str) {
            Some("source") => "source",
            _ => "target",
        };
        let n = i.get("reports").and_then(Value::as_i64).unwrap_or(1);
        let cat = i.get("category").and_then(Value::as_str).unwrap_or("other");
        let status = i.get("status").and_then(Value::as_str).unwrap_or("new");
        out.reasons.push(format!(
            "Employees reported the {side} address ({n} report{}, category {cat}, status {status}).",
            if n == 1 { "" } else { "s" }
        ));
        if let Some(after) = i.get("risk_after").and_then(Value::as_f64) {
            out.risk_steps.push(RiskStep {
                what: format!("Raised because employees reported the {side}"),
                risk: after.round() as i64,
            });
        }
    }
    if let (Some(m), false) = (reasons.get("intel_match"), alert.detector == Detector::Intel) {
        let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
        out.reasons.push(format!(
            "The threat-intel source “{}” lists the {} address as {}.",
            text("source"),
            if text("matched") == "source" { "source" } else { "target" },
            text("indicator")
        ));
        if let Some(after) = m.get("risk_after").and_then(Value::as_f64) {
            out.risk_steps.push(RiskStep {
                what: format!("Raised because “{}” lists it", text("source")),
                risk: after.round() as i64,
            });
        }
    }
    if alert.detector == Detector::Behaviour {
        out.reasons.push(format!(
            "This alert counts {} connections of the pattern, from the first one until it was last seen; the words above say what made it clear.",
            format_number(alert.count as f64)
        ));
    } else if alert.count > 1 {
        out.reasons.push(format!(
            "{} detections with the same source, target and type were folded into this alert; the reasons are those of the riskiest.",
            format_number(alert.count as f64)
        ));
    }
    if reasons.is_null() {
        out.reasons.push("The stored reasons of this alert could not be read.".to_string());
    }
    if let Some(what) = reasons.get("generated").and_then(Value::as_str) {
        // Demo mode's history and the KPI benchmark's databases: say so before anything else.
        out.reasons.insert(0, format!("Generated {what}: this alert was made up, not detected in traffic."));
    }
    out
}

/// "2 of 3 models fired: …", or that none fired alone; nothing without models.
fn models_sentence(models: &[ModelSignal]) -> Option<String> {
    if models.is_empty() {
        return None;
    }
    let fired: Vec<String> = models
        .iter()
        .filter(|m| m.fired)
        .map(|m| format!("{} ({}× its threshold)", short_name(m.model), one_decimal(m.strength)))
        .collect();
    Some(if fired.is_empty() {
        format!("None of the {} models fired on its own; the combined risk crossed the alert threshold.", models.len())
    } else {
        format!("{} of {} models fired: {}.", fired.len(), models.len(), fired.join(", "))
    })
}

/// One [`FlowContext`] (as stored JSON) in words; `None` for a kind this version does not know.
fn context_sentence(c: &Value) -> Option<String> {
    if c.as_str() == Some("internal_source") {
        Some(
            "The source is inside your network: an attack from it suggests a compromised host (lateral movement)."
                .to_string(),
        )
    } else if let Some(n) = c.get("imputed_features").and_then(|v| v.get("count")).and_then(Value::as_u64) {
        Some(format!("{n} features were missing and were filled with typical values."))
    } else {
        let a = c.get("anomaly_only")?;
        let num = |k: &str| a.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        Some(format!(
            "The anomaly layer alerted on its own: this flow scores {} where {} is its threshold (1.0 is as unusual as 1 benign flow in 100 of the training data; the threshold lets through at most the benign share set in training).",
            one_decimal(num("score") as f32),
            one_decimal(num("threshold") as f32)
        ))
    }
}

/// What a contributing feature did, in words.
fn feature_words(f: &FeatureContribution, threat: &str) -> String {
    match f.source {
        ContributionSource::Gbdt if f.contribution >= 0.0 => format!("pushed the classifier towards {threat}"),
        ContributionSource::Gbdt => format!("pulled the classifier away from {threat}"),
        ContributionSource::Autoencoder => "unusual for normal traffic (hard to reconstruct)".to_string(),
    }
}

/// Why the engine judged one flow as it did, in sentences: the classifier's call, the models that
/// fired, the context, and the three features that weighed most. For verdicts that are returned
/// rather than stored (`POST /api/v1/score`, file analysis); stored alerts use [`explain`].
pub fn verdict_reasons(v: &Verdict) -> Vec<String> {
    let key = if v.anomaly_only() { crate::playbook::UNKNOWN_ANOMALY } else { v.class.name() };
    let threat = threat_title(key);
    let p = percent(f64::from(v.class_probability));
    let mut out = vec![match (v.alert, v.class == crate::threat::Threat::Benign) {
        (true, true) => {
            "The attack classifier saw nothing it knows, but the traffic is unlike normal traffic.".to_string()
        }
        (_, false) => format!("The attack classifier recognises this traffic as {threat} ({p} probability)."),
        (false, true) => format!("The attack classifier calls this traffic benign ({p} probability)."),
    }];
    if v.alert {
        out.extend(models_sentence(&v.models));
    }
    out.extend(v.context.iter().filter_map(|c| serde_json::to_value(c).ok()).filter_map(|c| context_sentence(&c)));
    if v.alert || v.class != crate::threat::Threat::Benign {
        let mut features: Vec<&FeatureContribution> = v.top_features.iter().collect();
        features.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
        for f in features.into_iter().take(3) {
            let value = f.value.map(|x| format!(" = {}", format_number(f64::from(x)))).unwrap_or_default();
            out.push(format!("{}{value}: {}.", f.feature, feature_words(f, &threat)));
        }
    }
    out
}

fn short_name(m: ModelKind) -> &'static str {
    match m {
        ModelKind::Gbdt => "attack classifier",
        ModelKind::WebSpecialist => "web-attack specialist",
        ModelKind::IsolationForest => "isolation forest",
        ModelKind::OneClassSvm => "one-class SVM",
        ModelKind::Autoencoder => "autoencoder",
    }
}

fn percent(p: f64) -> String {
    let v = (p * 100.0).clamp(0.0, 100.0);
    if !(99.0..99.95).contains(&v) {
        format!("{v:.0} %")
    } else {
        format!("{v:.1} %")
    }
}

fn one_decimal(v: f32) -> String {
    if v.is_finite() {
        format!("{v:.1}")
    } else {
        "∞".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Severity;

    fn alert(detector: Detector, threat: &str, reasons: &str, features: &str) -> Alert {
        Alert {
            id: 1,
            first_seen: 0,
            last_seen: 0,
            count: 3,
            src_ip: Some("203.0.113.7".into()),
            src_port: None,
            dst_ip: Some("10.0.0.5".into()),
            dst_port: Some(80),
            protocol: Some(6),
            threat: threat.into(),
            risk: 95,
            severity: Severity::Critical,
            status: crate::alert::AlertStatus::New,
            detector,
            signature: Some("ET SCAN Nmap".into()),
            reasons: reasons.into(),
            features: features.into(),
            created_at: 0,
            src_country: None,
            src_lat: None,
            src_lon: None,
            asset_id: None,
            report_id: None,
            base_risk: Some(62),
            assignee: None,
            acknowledged_at: None,
            resolved_at: None,
            incident_id: None,
            origin: None,
        }
    }

    const ML: &str = r#"{"class":"ddos","class_probability":0.973,"profile":"cicflowmeter",
        "models":[{"model":"gbdt","score":0.97,"threshold":0.5,"fired":true,"strength":1.94},
                  {"model":"isolation_forest","score":0.4,"threshold":0.6,"fired":false,"strength":0.3},
                  {"model":"autoencoder","score":9.0,"threshold":2.0,"fired":true,"strength":4.5}],
        "context":["internal_source",{"imputed_features":{"count":2}}],
        "asset":{"ip":"10.0.0.5","criticality":"critical","risk_before":62,"risk_after":81},
        "intel":{"report_id":4,"category":"phishing","status":"confirmed","reports":3,"matched":"source","risk_before":81,"risk_after":95}}"#;
    const FEATURES: &str = r#"[{"feature":"Flow Bytes/s","source":"gbdt","contribution":0.83,"value":1234567.0},
        {"feature":"Bwd Packet Length Max","source":"autoencoder","contribution":4.2,"value":0.0}]"#;

    #[test]
    fn ml_alerts_are_explained_in_words_and_numbers() {
        let e = explain(&alert(Detector::Ml, "ddos", ML, FEATURES));
        assert_eq!(e.headline, "The attack classifier recognises this traffic as DDoS (97 % probability).");
        assert!(
            e.reasons.iter().any(|r| r
                == "2 of 3 models fired: attack classifier (1.9× its threshold), autoencoder (4.5× its threshold)."),
            "{:#?}",
            e.reasons
        );
        assert!(e.reasons.iter().any(|r| r.contains("lateral movement")));
        assert!(e.reasons.iter().any(|r| r.starts_with("2 features were missing")));
        assert!(e.reasons.iter().any(|r| r.contains("10.0.0.5, is of critical criticality")));
        assert!(e
            .reasons
            .iter()
            .any(|r| r
                .contains("Employees reported the source address (3 reports, category phishing, status confirmed)")));
        assert!(e.reasons.iter().any(|r| r.starts_with("3 detections")));
        assert_eq!(e.risk_steps.iter().map(|s| s.risk).collect::<Vec<_>>(), vec![62, 81, 95]);
        assert_eq!(e.models.len(), 3);
        assert_eq!(e.models[1].name, "Isolation forest (unusual traffic)");
        assert_eq!(e.features[0].words, "pushed the classifier towards DDoS");
        assert_eq!(e.features[0].value, Some(1234567.0));
        assert!(e.features[1].words.contains("unusual"));
    }

    #[test]
    fn unknown_anomalies_and_signatures_read_naturally() {
        let e = explain(&alert(Detector::Ml, "unknown_anomaly", ML, "[]"));
        assert!(
            e.headline.starts_with("The attack classifier saw nothing it knows, but 2 of 3 models"),
            "{}",
            e.headline
        );
        let s = alert(
            Detector::Signature,
            "signature",
            r#"{"signature_id":2001219,"category":"Attempted Recon","suricata_severity":2}"#,
            "[]",
        );
        let e = explain(&s);
        assert_eq!(e.headline, "A Suricata signature matched: “ET SCAN Nmap”.");
        assert!(e.reasons.contains(&"Signature 2001219, Suricata severity 2 (1 is the most severe).".to_string()));
        assert_eq!(e.risk_steps[0].what, "Risk from the signature's severity");
    }

    #[test]
    fn behaviour_alerts_speak_the_detectors_words() {
        let reasons = r#"{"behaviour":"c2_beacon","summary":"88 connection attempts to 66.63.168.35:5888/tcp at 0.54 s ± 0.01 s intervals over 61 s, all 88 refused","details":["The host at 192.168.1.107 is inside your network."],"figures":{}}"#;
        let e = explain(&alert(Detector::Behaviour, "c2_beacon", reasons, "[]"));
        assert_eq!(e.headline, "Command-and-control beacon, seen in the pattern of connections: 88 connection attempts to 66.63.168.35:5888/tcp at 0.54 s ± 0.01 s intervals over 61 s, all 88 refused.");
        assert_eq!(e.reasons[0], "The host at 192.168.1.107 is inside your network.");
        assert!(e.reasons[1].starts_with("This alert counts 3 connections of the pattern"), "{:?}", e.reasons);
        assert!(e.risk_steps[0].what.contains("behaviour detector"));
        let e = explain(&alert(Detector::Behaviour, "scan_inbound", "not json", "[]"));
        assert!(e.headline.starts_with("Inbound scan or probe"), "{}", e.headline);
    }

    #[test]
    fn damaged_reasons_never_fail() {
        let e = explain(&alert(Detector::Ml, "ddos", "not json", "{oops"));
        assert!(e.reasons.iter().any(|r| r.contains("could not be read")));
        assert!(e.features.is_empty() && e.models.is_empty());
        let e = explain(&alert(Detector::Ml, "ddos", r#"{"models":"nonsense","context":[42]}"#, "[]"));
        assert_eq!(e.headline, "The detection ensemble flagged this traffic as DDoS.");
    }

    #[test]
    fn verdicts_are_explained_like_the_alerts_they_would_become() {
        use crate::detection::{FeatureProfile, FlowContext};
        use crate::threat::Threat;
        let signal = |model, fired, strength| ModelSignal { model, score: 0.9, threshold: 0.5, fired, strength };
        let feature = |name: &'static str, source, contribution, value| FeatureContribution {
            feature: name.into(),
            source,
            contribution,
            value,
        };
        let mut v = Verdict {
            risk: 91.0,
            alert: true,
            class: Threat::Ddos,
            class_probability: 0.973,
            profile: FeatureProfile::Cicflowmeter,
            models: vec![signal(ModelKind::Gbdt, true, 1.94), signal(ModelKind::Autoencoder, false, 0.4)],
            top_features: vec![
                feature("Flow IAT Min", ContributionSource::Gbdt, -0.1, None),
                feature("Flow Bytes/s", ContributionSource::Gbdt, 0.83, Some(1234567.0)),
                feature("Bwd Packet Length Max", ContributionSource::Autoencoder, 0.5, Some(0.0)),
                feature("Fwd IAT Std", ContributionSource::Gbdt, 0.01, None),
            ],
            context: vec![FlowContext::InternalSource],
        };
        let r = verdict_reasons(&v);
        assert_eq!(r[0], "The attack classifier recognises this traffic as DDoS (97 % probability).");
        assert_eq!(r[1], "1 of 2 models fired: attack classifier (1.9× its threshold).");
        assert!(r[2].contains("lateral movement"), "{r:#?}");
        assert_eq!(r[3], format!("Flow Bytes/s = {}: pushed the classifier towards DDoS.", format_number(1234567.0)));
        assert_eq!(r[4], "Bwd Packet Length Max = 0: unusual for normal traffic (hard to reconstruct).");
        assert_eq!(r[5], "Flow IAT Min: pulled the classifier away from DDoS.");
        assert_eq!(r.len(), 6, "three features at most: {r:#?}");

        v.class = Threat::Benign;
        v.context = vec![FlowContext::AnomalyOnly { score: 2.5, threshold: 1.5 }];
        let r = verdict_reasons(&v);
        assert!(r[0].starts_with("The attack classifier saw nothing it knows"), "{r:#?}");
        assert!(r[2].starts_with("The anomaly layer alerted on its own: this flow scores 2.5 where 1.5"), "{r:#?}");
        assert!(r[3].contains("towards Unknown anomaly"), "{r:#?}");

        v.alert = false;
        v.context.clear();
        assert_eq!(
            verdict_reasons(&v),
            vec!["The attack classifier calls this traffic benign (97 % probability).".to_string()]
        );
    }
}
