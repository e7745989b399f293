//! Importing a threat-intel document into a source, and the retro-hunt of what it brought (server
//! only). The one operation behind the `/intel` upload, `POST /api/v1/intel/{source}` and
//! `anomalyforge intel import`: it parses, stores, searches the stored flows for the new address and
//! network indicators, raises alerts dated when the matching traffic happened, makes live matching
//! take the new indicators at once, and writes the audit row.

use crate::audit::AuditAction;
use std::collections::HashMap;
use std::sync::Arc;

use super::catalog::{check_source_name, ImportReport, RetroHunt, SourceKind, REPORTS_SOURCE};
use super::matcher::IndicatorRef;
use super::{Indicator, IntelFormat};
use crate::enrich::Enricher;
use crate::flow::FiveTuple;
use crate::hub::LiveHub;
use crate::store::alerts::{merge_detections, PersistBatch};
use crate::store::{now_ms, Db, StoreError};

/// New address and network indicators one import retro-hunts at most; the rest are counted as
/// skipped (a feed that big is searched as its indicators match live traffic instead).
pub const RETRO_CAP: usize = 5_000;
/// Groups of flows (source, target, port, protocol) one indicator turns into alerts at most, per end.
pub const RETRO_GROUPS: i64 = 500;

/// Why an import was refused as a whole (a bad entry is not: it is rejected and the rest imports).
#[derive(Debug, thiserror::Error)]
pub enum IntelError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the import works with besides the database.
#[derive(Clone, Default)]
pub struct IntelContext {
    /// The pipeline's enricher: retro-hunt alerts are enriched like live ones, and live matching
    /// reloads the indicators after the import.
    pub enricher: Option<Arc<Enricher>>,
    /// Where new alerts are announced to the live console.
    pub hub: Option<Arc<LiveHub>>,
    /// The alert dedup window (retro-hunt alerts merge like live ones).
    pub dedup_window_ms: i64,
}

/// One document to import.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    pub source: String,
    /// The format as named by the caller; otherwise from `content_type`, then from the content.
    pub format: Option<IntelFormat>,
    pub content_type: Option<String>,
    pub text: String,
    /// Settings of the source, applied before importing (and used to create it).
    pub confidence: Option<u8>,
    pub expiry_days: Option<Option<u32>>,
    pub description: Option<String>,
}

/// Imports `req` as `actor` (a username, or `token:<name>`).
pub async fn import(db: &Db, ctx: &IntelContext, req: ImportRequest, actor: &str) -> Result<ImportReport, IntelError> {
    check_source_name(&req.source).map_err(IntelError::Invalid)?;
    if req.source == REPORTS_SOURCE {
        return Err(IntelError::Invalid(format!(
            "`{REPORTS_SOURCE}` is filled by the report queue (confirmed reports); import into another source"
        )));
    }
    let format = match (req.format, req.content_type.as_deref()) {
        (Some(f), _) => f,
        (None, Some(ct)) => {
            IntelFormat::from_content_type(ct, &req.text).unwrap_or_else(|| IntelFormat::sniff(&req.text))
        }
        (None, None) => IntelFormat::sniff(&req.text),
    };
    let text = req.text;
    let parsed = tokio::task::spawn_blocking(move || super::parse(format, &text))
        .await
        .map_err(|e| IntelError::Invalid(format!("the document could not be read: {e}")))?;
    let source =
        db.ensure_intel_source(&req.source, req.confidence, req.expiry_days, req.description.as_deref()).await?;
    if source.kind != SourceKind::Feed {
        return Err(IntelError::Invalid(format!("`{}` is not a source that takes imports", source.name)));
    }
    let now = now_ms();
    let stored = db.store_intel(&source, &parsed.entries, format, now).await?;
    let imported = stored.new.len() as u64;
    let by_value: HashMap<String, &super::IntelEntry> =
        parsed.entries.iter().map(|e| (e.indicator.to_string(), e)).collect();
    // Only what is active now is hunted: a disabled source, or an entry not yet valid or already
    // expired, would not match live traffic either.
    let mut retro = RetroHunt::default();
    let mut hunted: Vec<(i64, Indicator, IndicatorRef)> = Vec::new();
    for (id, ind) in stored.new {
        let Some(e) = by_value.get(&ind.to_string()) else { continue };
        let active = source.enabled && e.valid_from.is_none_or(|t| t <= now) && e.valid_until.is_none_or(|t| t > now);
        match ind {
            Indicator::Ip(_) | Indicator::Cidr(_) if active => {
                let r = IndicatorRef {
                    id,
                    source_id: source.id,
                    source: source.name.clone(),
                    value: ind.to_string(),
                    confidence: e.confidence.unwrap_or(source.confidence),
                    description: e.description.clone().unwrap_or_default(),
                };
                hunted.push((id, ind, r));
            }
            Indicator::Ip(_) | Indicator::Cidr(_) => {}
            _ => retro.not_searchable += 1,
        }
    }
    if hunted.len() > RETRO_CAP {
        retro.skipped = (hunted.len() - RETRO_CAP) as u64;
        hunted.truncate(RETRO_CAP);
    }
    if !hunted.is_empty() {
        retro_hunt(db, ctx, &hunted, &mut retro).await?;
    }
    crate::commands::Caches::new(ctx.enricher.as_deref()).enrichment_changed();
    let report = ImportReport {
        source: source.name.clone(),
        format,
        imported,
        updated: stored.updated,
        rejected: parsed.rejected,
        ignored: parsed.ignored,
        retro,
    };
    db.audit(
        actor,
        AuditAction::IntelImport,
        &source.name,
        &format!(
            "{} format: {} new, {} updated, {} rejected; retro-hunt {} flows, {} alerts",
            format,
            report.imported,
            report.updated,
            report.rejected.len(),
            report.retro.flows,
            report.retro.alerts
        ),
    )
    .await?;
    tracing::info!(
        source = %source.name, %format, imported = report.imported, updated = report.updated,
        rejected = report.rejected.len(), retro_flows = report.retro.flows, retro_alerts = report.retro.alerts,
        "threat intel imported"
    );
    Ok(report)
}

/// Searches the stored flows of the retention window for each indicator and stores an alert per
/// source, target, port and protocol, dated from the first to the last matching flow.
async fn retro_hunt(
    db: &Db,
    ctx: &IntelContext,
    hunted: &[(i64, Indicator, IndicatorRef)],
    out: &mut RetroHunt,
) -> Result<(), IntelError> {
    let Some((from, _)) = db.flow_time_range().await? else {
        out.indicators = hunted.len() as u64;
        return Ok(());
    };
    out.since = Some(from);
    let mut alerts = Vec::new();
    let mut hits: Vec<(i64, i64, i64)> = Vec::new();
    let mut assets_seen: HashMap<String, i64> = HashMap::new();
    for (id, ind, r) in hunted {
        out.indicators += 1;
        let (net, prefix) = match ind {
            Indicator::Ip(ip) => (*ip, if ip.is_ipv4() { 32 } else { 128 }),
            Indicator::Cidr(c) => (c.network(), c.prefix_len()),
            _ => continue,
        };
        let (mut n, mut last) = (0i64, 0i64);
        for g in db.flows_touching(net, prefix, from, RETRO_GROUPS).await? {
            let side = if ind.contains_ip(g.src) { "source" } else { "destination" };
            let t = FiveTuple { src_ip: g.src, src_port: g.sport, dst_ip: g.dst, dst_port: g.dport, protocol: g.proto };
            let mut a = crate::pipeline::intel_alert(r, side, t, g.first, g.last, g.flows, true);
            if let Some(e) = &ctx.enricher {
                e.enrich(&mut a);
                a.risk_sum = a.risk * a.count;
            }
            if let Some(ip) = &a.asset_ip {
                let e = assets_seen.entry(ip.clone()).or_insert(g.last);
                *e = (*e).max(g.last);
            }
            (n, last) = (n + g.flows, last.max(g.last));
            alerts.push(a);
        }
        if n > 0 {
            hits.push((*id, n, last));
            out.flows += n as u64;
        }
    }
    if alerts.is_empty() {
        return Ok(());
    }
    let batch = PersistBatch {
        alerts: merge_detections(alerts, ctx.dedup_window_ms),
        assets_seen: assets_seen.into_iter().collect(),
        dedup_window_ms: ctx.dedup_window_ms,
        intel_hits: hits,
        ..PersistBatch::default()
    };
    let stored = db.persist_batch(&batch).await?;
    out.alerts = stored.len() as u64;
    if let Some(hub) = &ctx.hub {
        hub.publish_alerts(&stored, now_ms());
    }
    Ok(())
}
