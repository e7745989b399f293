//! Enrichment of detections before they are stored: where the source is (DB-IP country and the
//! country's centroid), which internal asset is involved and how critical it is, whether employees
//! reported the source or target, and which playbook applies (the alert's threat key names it).
//!
//! Assets and reports live in the database and are edited by people; the enricher keeps a snapshot of
//! both and reloads it when it is older than [`REFRESH`] or after [`Enricher::invalidate`] (called by
//! the pages that edit them), so a batch never waits on more than one small query.
//!
//! Threat intel's active address and network indicators ([`IntelSet`]) can be many (a feed lists
//! hundreds of thousands; loading 100,000 takes about a second), so they are reloaded only after an
//! edit (by the next batch, which waits for it: an import matches the very next flow) or every
//! [`INTEL_REFRESH`] in the background (batches keep matching against the previous set meanwhile): an
//! indicator expires for matching at most that long after its time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use serde_json::json;

use crate::asset::Criticality;
use crate::geoip::GeoIp;
use crate::intel::matcher::{IndicatorRef, IntelSet};
use crate::store::alerts::NewAlert;
use crate::store::assets::AssetRef;
use crate::store::reports::IntelRef;
use crate::store::{Db, StoreError};

/// Snapshot age after which assets and reports are reloaded.
pub const REFRESH: Duration = Duration::from_secs(5);
/// Age after which the intel indicators are reloaded.
pub const INTEL_REFRESH: Duration = Duration::from_secs(60);

/// Latitude and longitude (degrees) per ISO alpha-2 country code.
pub type Centroids = HashMap<String, (f64, f64)>;

#[derive(Debug, Default)]
struct Snapshot {
    assets: HashMap<IpAddr, AssetRef>,
    intel: HashMap<IpAddr, IntelRef>,
    /// Suppression rules in force when loaded (expiry is checked again per batch).
    suppressions: Vec<crate::suppression::Suppression>,
    loaded: Option<Instant>,
}

#[derive(Debug)]
pub struct Enricher {
    geo: Arc<GeoIp>,
    centroids: Centroids,
    internal: Vec<IpNet>,
    snapshot: RwLock<Snapshot>,
    stale: AtomicBool,
    /// The active address and network indicators, when they were loaded, and the generation of
    /// the load (a slower, older load never replaces a newer one).
    intel: Arc<RwLock<IntelSlot>>,
    intel_stale: AtomicBool,
    /// Loads started (their generations), and whether a background load is running.
    intel_loads: Arc<std::sync::atomic::AtomicU64>,
    intel_loading: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
struct IntelSlot {
    set: Arc<IntelSet>,
    loaded: Option<Instant>,
    generation: u64,
}

impl IntelSlot {
    /// Installs a set from load `generation`, unless a later load already did.
    fn install(slot: &RwLock<IntelSlot>, set: IntelSet, generation: u64) {
        let mut s = slot.write().unwrap_or_else(|e| e.into_inner());
        if generation >= s.generation {
            *s = IntelSlot { set: Arc::new(set), loaded: Some(Instant::now()), generation };
        }
    }
}

impl Enricher {
    pub fn new(geo: Arc<GeoIp>, centroids: Centroids, internal: Vec<IpNet>) -> Enricher {
        Enricher {
            geo,
            centroids,
            internal,
            snapshot: RwLock::new(Snapshot::default()),
            stale: AtomicBool::new(true),
            intel: Arc::new(RwLock::new(IntelSlot::default())),
            intel_stale: AtomicBool::new(true),
            intel_loads: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            intel_loading: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Inside the configured internal networks.
    pub fn is_internal(&self, ip: IpAddr) -> bool {
        self.internal.iter().any(|n| n.contains(&ip))
    }

    /// ISO alpha-2 of a public address, `None` for internal, private and unknown ones.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        if self.is_internal(ip) {
            return None;
        }
        self.geo.country(ip)
    }

    /// Makes the next batch reload assets, reports, suppression rules and intel (after a person
    /// edited them).
    pub fn invalidate(&self) {
        self.stale.store(true, Ordering::Relaxed);
        self.intel_stale.store(true, Ordering::Relaxed);
    }

    /// The active address and network indicators as last loaded.
    pub fn intel(&self) -> Arc<IntelSet> {
        self.intel.read().unwrap_or_else(|e| e.into_inner()).set.clone()
    }

    /// Installs an intel set (tests and tools that match without a database).
    pub fn set_intel(&self, set: IntelSet) {
        let generation = self.intel_loads.fetch_add(1, Ordering::Relaxed) + 1;
        IntelSlot::install(&self.intel, set, generation);
        self.intel_stale.store(false, Ordering::Relaxed);
    }

    /// Loads the intel indicators now (at start-up, so the first batch does not wait for a large
    /// feed). Assets and reports stay for the first batch to load, as they are small.
    pub async fn warm_up(&self, db: &Db) -> Result<(), StoreError> {
        self.intel_stale.store(true, Ordering::Relaxed);
        self.refresh_intel_if_stale(db).await
    }

    /// After an edit (or before the first load): loads now, and the batch waits. When the set is
    /// only old: loads in the background, once at a time, and the batch goes on with the old set.
    async fn refresh_intel_if_stale(&self, db: &Db) -> Result<(), StoreError> {
        let loaded = self.intel.read().unwrap_or_else(|e| e.into_inner()).loaded;
        let stale = self.intel_stale.swap(false, Ordering::Relaxed) || loaded.is_none();
        if stale {
            let generation = self.intel_loads.fetch_add(1, Ordering::Relaxed) + 1;
            let set = IntelSet::new(db.active_intel(crate::store::now_ms()).await?);
            tracing::debug!(indicators = set.len(), "intel indicators loaded for matching");
            IntelSlot::install(&self.intel, set, generation);
            return Ok(());
        }
        let old = loaded.is_some_and(|t| t.elapsed() >= INTEL_REFRESH);
        if old && !self.intel_loading.swap(true, Ordering::Relaxed) {
            let generation = self.intel_loads.fetch_add(1, Ordering::Relaxed) + 1;
            let (slot, loading, db) = (self.intel.clone(), self.intel_loading.clone(), db.clone());
            tokio::spawn(async move {
                match db.active_intel(crate::store::now_ms()).await {
                    Ok(found) => {
                        let set = tokio::task::spawn_blocking(move || IntelSet::new(found)).await.unwrap_or_default();
                        IntelSlot::install(&slot, set, generation);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot reload intel indicators; matching keeps the previous ones");
                        // Try again after another INTEL_REFRESH, not at every batch.
                        slot.write().unwrap_or_else(|e| e.into_inner()).loaded = Some(Instant::now());
                    }
                }
                loading.store(false, Ordering::Relaxed);
            });
        }
        Ok(())
    }

    /// Reloads assets and reports if the snapshot is stale, and the intel indicators if theirs is.
    pub async fn refresh_if_stale(&self, db: &Db) -> Result<(), StoreError> {
        self.refresh_intel_if_stale(db).await?;
        let old = self.snapshot.read().unwrap_or_else(|e| e.into_inner()).loaded.is_none_or(|t| t.elapsed() >= REFRESH);
        // Cleared before loading, whichever reason reloads: an edit made during the load marks the
        // new snapshot stale again, and one made before it is in the snapshot.
        let stale = self.stale.swap(false, Ordering::Relaxed);
        if !old && !stale {
            return Ok(());
        }
        let assets = db.asset_index().await?;
        let intel = db.intel_index().await?;
        let suppressions = db.active_suppressions(crate::store::now_ms()).await?;
        let mut snap = Snapshot { loaded: Some(Instant::now()), suppressions, ..Snapshot::default() };
        snap.assets = assets.into_iter().filter_map(|a| Some((a.ip.parse().ok()?, a))).collect();
        snap.intel = intel.into_iter().filter_map(|r| Some((r.indicator.parse().ok()?, r))).collect();
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = snap;
        Ok(())
    }

    /// The suppression rule in force at `now` that absorbs an alert, if any.
    pub fn suppressed_by(&self, a: &NewAlert, now: i64) -> Option<i64> {
        let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        snap.suppressions
            .iter()
            .find(|r| r.is_active(now) && r.matches(a.src_ip.as_deref(), &a.threat, a.asset_ip.as_deref()))
            .map(|r| r.id)
    }

    /// The internal address an alert is about: the target when it is internal, else an internal source.
    pub fn asset_address(&self, src: Option<IpAddr>, dst: Option<IpAddr>) -> Option<IpAddr> {
        dst.filter(|ip| self.is_internal(*ip)).or_else(|| src.filter(|ip| self.is_internal(*ip)))
    }

    /// ISO alpha-2 of a public address as two bytes (no allocation; for per-flow aggregates).
    pub fn country_code(&self, ip: IpAddr) -> Option<[u8; 2]> {
        if self.is_internal(ip) {
            return None;
        }
        self.geo.lookup(ip)
    }

    /// What is known about a source and target pair: computed once per alert group, then applied to
    /// each detection's risk ([`Context::weigh`]) and to the alert ([`Enricher::apply`]).
    pub fn context(&self, src: Option<IpAddr>, dst: Option<IpAddr>) -> Context {
        let country = src.and_then(|ip| self.country(ip));
        let lat_lon = country.as_ref().and_then(|cc| self.centroids.get(cc).copied());
        let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        let asset_ip = self.asset_address(src, dst);
        // A host not yet in the inventory is discovered in this batch with medium criticality.
        let criticality = asset_ip.map(|ip| snap.assets.get(&ip).map_or(Criticality::Medium, |r| r.criticality));
        let intel = [(src, "source"), (dst, "destination")]
            .into_iter()
            .find_map(|(ip, side)| ip.and_then(|ip| snap.intel.get(&ip)).map(|r| (r.clone(), side)));
        drop(snap);
        let set = self.intel();
        let listed = [(src, "source"), (dst, "destination")]
            .into_iter()
            .filter_map(|(ip, side)| Some((set.lookup(ip?)?.clone(), side)))
            .max_by_key(|(r, side)| (r.confidence, *side == "source"))
            // A confirmed report already weighs the risk through `intel`; its listing would count it twice.
            .filter(|(r, _)| !(r.source == crate::intel::catalog::REPORTS_SOURCE && intel.is_some()));
        Context { country, lat_lon, asset_ip, criticality, intel, listed }
    }

    /// Fills in geo, asset and intel, and weighs the risk by them. The risk before is kept in
    /// `base_risk`; the reasons JSON gains `asset` and `intel` entries saying what changed it.
    pub fn apply(&self, ctx: &Context, a: &mut NewAlert) {
        a.src_country = ctx.country.clone();
        (a.src_lat, a.src_lon) = ctx.lat_lon.map_or((None, None), |(lat, lon)| (Some(lat), Some(lon)));
        a.asset_ip = ctx.asset_ip.map(|ip| ip.to_string());
        a.criticality = ctx.criticality;
        a.report_id = ctx.intel.as_ref().map(|(r, _)| r.report_id);
        let base = a.base_risk as f32;
        let mut extra = serde_json::Map::new();
        let after_asset = ctx.criticality.map_or(base, |c| c.weigh(base));
        if let (Some(ip), Some(c)) = (ctx.asset_ip, ctx.criticality) {
            extra.insert(
                "asset".into(),
                json!({ "ip": ip.to_string(), "criticality": c.as_str(), "risk_before": base.round(), "risk_after": after_asset.round() }),
            );
        }
        let after_report = ctx.weigh_reports(after_asset);
        // An intel alert's own risk already comes from its listing.
        let risk = if a.detector == crate::alert::Detector::Intel { after_report } else { ctx.weigh(base) };
        if let (Some((r, side)), true) = (&ctx.listed, a.detector != crate::alert::Detector::Intel) {
            extra.insert(
                "intel_match".into(),
                json!({
                    "indicator_id": r.id, "indicator": r.value, "source": r.source, "source_id": r.source_id,
                    "confidence": r.confidence, "description": r.description, "matched": side,
                    "risk_before": after_report.round(), "risk_after": risk.round(),
                }),
            );
        }
        if let Some((r, side)) = &ctx.intel {
            extra.insert(
                "intel".into(),
                json!({
                    "report_id": r.report_id, "category": r.category.as_str(), "status": r.status.as_str(),
                    "reports": r.reports, "matched": side, "risk_before": after_asset.round(), "risk_after": after_report.round(),
                }),
            );
        }
        a.risk = risk.round().clamp(0.0, 100.0) as i64;
        if a.count <= 1 {
            a.risk_sum = a.risk;
        }
        if !extra.is_empty() {
            if let Ok(serde_json::Value::Object(mut reasons)) = serde_json::from_str::<serde_json::Value>(&a.reasons) {
                reasons.extend(extra);
                a.reasons = serde_json::Value::Object(reasons).to_string();
            }
        }
    }

    /// [`context`](Self::context) from the alert's own addresses, then [`apply`](Self::apply).
    pub fn enrich(&self, a: &mut NewAlert) {
        let src = a.src_ip.as_deref().and_then(|s| s.parse().ok());
        let dst = a.dst_ip.as_deref().and_then(|s| s.parse().ok());
        let ctx = self.context(src, dst);
        self.apply(&ctx, a);
    }
}

/// Enrichment of one source and target pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub country: Option<String>,
    /// The source country's centroid.
    pub lat_lon: Option<(f64, f64)>,
    /// The internal address involved (target first), when there is one.
    pub asset_ip: Option<IpAddr>,
    pub criticality: Option<Criticality>,
    /// The report that names the source or target, and which of the two it names.
    pub intel: Option<(IntelRef, &'static str)>,
    /// The most confident threat-intel indicator listing the source or target, and which it lists.
    pub listed: Option<(IndicatorRef, &'static str)>,
}

impl Context {
    /// A detector's 0–100 risk after asset criticality, employee reports and threat intel.
    pub fn weigh(&self, risk: f32) -> f32 {
        let r = self.weigh_reports(self.criticality.map_or(risk, |c| c.weigh(risk)));
        let r = match &self.listed {
            // A listing raises the risk by up to half the way to 100, as far as the source is trusted.
            Some((listing, _)) => r + (100.0 - r) * 0.5 * f32::from(listing.confidence) / 100.0,
            None => r,
        };
        r.clamp(0.0, 100.0)
    }

    /// The risk after employee reports only.
    fn weigh_reports(&self, r: f32) -> f32 {
        match &self.intel {
            Some((report, _)) => (r + (100.0 - r) * report.status.risk_shift()).clamp(0.0, 100.0),
            None => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ReportCategory, ReportStatus};

    fn enricher() -> Enricher {
        let geo =
            GeoIp::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/geo/ip-country.csv.gz")).unwrap();
        let centroids = Centroids::from([("AU".to_string(), (-25.0, 134.0))]);
        Enricher::new(Arc::new(geo), centroids, vec!["10.0.0.0/8".parse().unwrap()])
    }

    fn alert(src: &str, dst: &str, risk: i64) -> NewAlert {
        NewAlert {
            src_ip: Some(src.into()),
            dst_ip: Some(dst.into()),
            threat: "ddos".into(),
            risk,
            risk_sum: risk,
            base_risk: risk,
            reasons: "{\"class\":\"ddos\"}".into(),
            ..NewAlert::blank()
        }
    }

    #[test]
    fn an_older_intel_load_never_replaces_a_newer_one() {
        use crate::intel::matcher::IndicatorRef;
        let slot = RwLock::new(IntelSlot::default());
        let one = |ip: &str| {
            let r = IndicatorRef {
                id: 1,
                source_id: 1,
                source: "feed".into(),
                value: ip.into(),
                confidence: 50,
                description: String::new(),
            };
            IntelSet::new([(crate::intel::Indicator::parse(ip).unwrap(), r)])
        };
        // The background load (generation 1) finishes after the load an import caused (generation 2).
        IntelSlot::install(&slot, one("203.0.113.2"), 2);
        IntelSlot::install(&slot, one("203.0.113.1"), 1);
        let set = slot.read().unwrap().set.clone();
        assert!(
            set.lookup("203.0.113.2".parse().unwrap()).is_some()
                && set.lookup("203.0.113.1".parse().unwrap()).is_none()
        );
    }

    #[test]
    fn geo_asset_and_intel_are_applied_and_explained() {
        let e = enricher();
        {
            let mut snap = e.snapshot.write().unwrap();
            snap.assets.insert(
                "10.0.0.5".parse().unwrap(),
                AssetRef { id: 3, ip: "10.0.0.5".into(), criticality: Criticality::Critical },
            );
            snap.intel.insert(
                "1.0.0.1".parse().unwrap(),
                IntelRef {
                    indicator: "1.0.0.1".into(),
                    report_id: 9,
                    category: ReportCategory::Ddos,
                    status: ReportStatus::Confirmed,
                    reports: 2,
                },
            );
        }
        let mut a = alert("1.0.0.1", "10.0.0.5", 60);
        e.enrich(&mut a);
        assert_eq!(a.src_country.as_deref(), Some("AU"));
        assert_eq!((a.src_lat, a.src_lon), (Some(-25.0), Some(134.0)));
        assert_eq!(a.asset_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(a.criticality, Some(Criticality::Critical));
        // 60 → critical asset 76 → confirmed report halfway to 100: 88.
        assert_eq!((a.base_risk, a.risk, a.report_id), (60, 88, Some(9)));
        let reasons: serde_json::Value = serde_json::from_str(&a.reasons).unwrap();
        assert_eq!(reasons["class"], "ddos");
        assert_eq!(reasons["asset"]["criticality"], "critical");
        assert_eq!(reasons["intel"]["report_id"], 9);
        assert_eq!(reasons["intel"]["matched"], "source");
    }

    #[test]
    fn unknown_internal_hosts_count_as_medium_and_internal_sources_have_no_country() {
        let e = enricher();
        let mut a = alert("10.1.1.1", "8.8.8.8", 50);
        e.enrich(&mut a);
        assert_eq!(
            a.asset_ip.as_deref(),
            Some("10.1.1.1"),
            "an internal source is the asset when the target is external"
        );
        assert_eq!((a.criticality, a.risk), (Some(Criticality::Medium), 50));
        assert_eq!(a.src_country, None);
        assert_eq!(a.report_id, None);
        let mut b = alert("8.8.8.8", "9.9.9.9", 50);
        e.enrich(&mut b);
        assert_eq!((b.asset_ip, b.src_country.as_deref(), b.src_lat), (None, Some("US"), None));
    }
}
