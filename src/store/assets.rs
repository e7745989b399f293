//! The `assets` table: the inventory, and hosts discovered in traffic.

use super::sql::ROWS_PER_UPSERT;
use super::{audit, now_ms, Db, Result, StoreError};
use crate::asset::{Asset, AssetEdit, Criticality};
use crate::audit::AuditAction;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;

const COLUMNS: &str =
    "id, ip, hostname, owner, purpose, criticality, tags, discovered, first_seen, last_seen, created_at, updated_at";

/// What the enrichment step needs of an asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRef {
    pub id: i64,
    pub ip: String,
    pub criticality: Criticality,
}

/// Fields a person sets on an asset (create or edit). Already validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetFields {
    pub ip: String,
    pub hostname: Option<String>,
    pub owner: Option<String>,
    pub purpose: Option<String>,
    pub criticality: Option<Criticality>,
    pub tags: Vec<String>,
}

impl From<&AssetEdit> for AssetFields {
    fn from(e: &AssetEdit) -> Self {
        AssetFields {
            ip: e.ip.clone(),
            hostname: e.hostname.clone(),
            owner: e.owner.clone(),
            purpose: e.purpose.clone(),
            criticality: Some(e.criticality),
            tags: e.tags.clone(),
        }
    }
}

/// Alerts that involve one asset.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AssetAlertStats {
    pub total: i64,
    /// New or acknowledged.
    pub open: i64,
    pub max_risk: i64,
}

pub(crate) fn asset_from_row(row: &AnyRow) -> Result<Asset> {
    let criticality: String = row.try_get("criticality")?;
    let tags: String = row.try_get("tags")?;
    Ok(Asset {
        id: row.try_get("id")?,
        ip: row.try_get("ip")?,
        hostname: row.try_get("hostname")?,
        owner: row.try_get("owner")?,
        purpose: row.try_get("purpose")?,
        criticality: Criticality::parse(&criticality)
            .ok_or_else(|| StoreError::Corrupt { column: "assets.criticality", detail: criticality.clone() })?,
        tags: tags.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect(),
        discovered: row.try_get::<i64, _>("discovered")? != 0,
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Db {
    /// Every asset's id, address and criticality (for enrichment).
    pub async fn asset_index(&self) -> Result<Vec<AssetRef>> {
        let rows = sqlx::query("SELECT id, ip, criticality FROM assets").fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let c: String = r.try_get("criticality")?;
                Ok(AssetRef {
                    id: r.try_get("id")?,
                    ip: r.try_get("ip")?,
                    criticality: Criticality::parse(&c)
                        .ok_or_else(|| StoreError::Corrupt { column: "assets.criticality", detail: c.clone() })?,
                })
            })
            .collect()
    }

    /// Assets, most critical first, then by address. `discovered_only` lists the unreviewed ones.
    pub async fn list_assets(&self, discovered_only: bool, limit: i64, offset: i64) -> Result<Vec<Asset>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM assets WHERE ($1 = 0 OR discovered = 1) \
             ORDER BY CASE criticality WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, ip \
             LIMIT $2 OFFSET $3"
        ))
        .bind(i64::from(discovered_only))
        .bind(limit.clamp(1, 1000))
        .bind(offset.max(0))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(asset_from_row).collect()
    }

    /// How many assets there are, and how many of them are discovered and not reviewed yet.
    pub async fn count_assets(&self) -> Result<(i64, i64)> {
        let row =
            sqlx::query("SELECT COUNT(*) AS total, COUNT(*) FILTER (WHERE discovered = 1) AS discovered FROM assets")
                .fetch_one(self.pool())
                .await?;
        Ok((row.try_get("total")?, row.try_get("discovered")?))
    }

    /// Alert counts and the highest risk for each of `ids` (assets without alerts are absent).
    /// Reads `alerts_by_asset`.
    pub async fn alert_stats_for_assets(&self, ids: &[i64]) -> Result<HashMap<i64, AssetAlertStats>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let params: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT asset_id, COUNT(*) AS total, \
                 COALESCE(SUM(CASE WHEN status IN ('new', 'acknowledged') THEN 1 ELSE 0 END), 0) AS open, \
                 CAST(MAX(risk) AS BIGINT) AS max_risk FROM alerts WHERE asset_id IN ({}) GROUP BY asset_id",
                params.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            for row in q.fetch_all(self.pool()).await? {
                let id: i64 = row.try_get("asset_id")?;
                let max_risk: Option<i64> = row.try_get("max_risk")?;
                out.insert(
                    id,
                    AssetAlertStats {
                        total: row.try_get("total")?,
                        open: row.try_get("open")?,
                        max_risk: max_risk.unwrap_or(0),
                    },
                );
            }
        }
        Ok(out)
    }

    /// Imports edits in one transaction: new addresses are created, known ones (inventory or
    /// discovered) are replaced by the edit and marked reviewed. Returns (created, updated).
    /// Audited as `asset.import` by `by` in the same transaction, with the `rejected` rows the
    /// caller refused (`None`: seeding, not audited).
    pub async fn import_assets(
        &self,
        edits: &[AssetEdit],
        by: Option<&str>,
        rejected: usize,
    ) -> Result<(usize, usize)> {
        let mut tx = self.begin_write().await?;
        let (mut created, mut updated) = (0, 0);
        for e in edits {
            let exists = sqlx::query("SELECT id FROM assets WHERE ip = $1")
                .bind(&e.ip)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            upsert(&mut tx, &AssetFields::from(e)).await?;
            if exists {
                updated += 1;
            } else {
                created += 1;
            }
        }
        if let Some(actor) = by {
            let detail = format!("created={created} updated={updated} rejected={rejected}");
            audit::audit_in(&mut tx, now_ms(), actor, AuditAction::AssetImport, "inventory", &detail).await?;
        }
        tx.commit().await?;
        Ok((created, updated))
    }

    pub async fn asset_by_id(&self, id: i64) -> Result<Asset> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM assets WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("asset #{id}")))?;
        asset_from_row(&row)
    }

    /// The addresses of the assets named `name`: by host name (case-insensitive) or address.
    pub async fn asset_addresses(&self, name: &str) -> Result<Vec<std::net::IpAddr>> {
        let rows = sqlx::query("SELECT ip FROM assets WHERE LOWER(hostname) = LOWER($1) OR ip = $1 ORDER BY ip")
            .bind(name)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().filter_map(|r| r.try_get::<String, _>("ip").ok()?.parse().ok()).collect())
    }

    pub async fn asset_by_ip(&self, ip: &str) -> Result<Option<Asset>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM assets WHERE ip = $1"))
            .bind(ip)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(asset_from_row).transpose()
    }

    /// Creates an inventory asset, or fills in a discovered one with the same address (which is then
    /// reviewed: `discovered` becomes false). Audited as `asset.save` by `by` in the same
    /// transaction (`None`: seeding, not audited).
    pub async fn upsert_asset(&self, f: &AssetFields, by: Option<&str>) -> Result<Asset> {
        let mut tx = self.begin_write().await?;
        let asset = upsert(&mut tx, f).await?;
        if let Some(actor) = by {
            let detail =
                format!("criticality={} owner={}", asset.criticality.as_str(), asset.owner.as_deref().unwrap_or(""));
            audit::audit_in(&mut tx, now_ms(), actor, AuditAction::AssetSave, &asset.ip, &detail).await?;
        }
        tx.commit().await?;
        Ok(asset)
    }

    /// Records internal hosts seen in a batch: unknown ones are added as discovered (criticality
    /// medium, no owner); known ones get their `last_seen` moved forward. Returns the id of each
    /// address, in input order. Runs inside the batch's transaction.
    pub(crate) async fn touch_assets(
        tx: &mut Transaction<'_, Any>,
        seen: &[(String, i64)],
    ) -> Result<Vec<(String, i64)>> {
        let now = now_ms();
        let mut out = Vec::with_capacity(seen.len());
        for chunk in seen.chunks(ROWS_PER_UPSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(${}, ${}, ${}, 'medium', '', 1, ${}, ${})",
                        4 * i + 1,
                        4 * i + 2,
                        4 * i + 3,
                        4 * i + 4,
                        4 * i + 4
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO assets (ip, first_seen, last_seen, criticality, tags, discovered, created_at, updated_at) \
                 VALUES {} ON CONFLICT (ip) DO UPDATE SET \
                 last_seen = CASE WHEN assets.last_seen IS NULL OR excluded.last_seen > assets.last_seen \
                 THEN excluded.last_seen ELSE assets.last_seen END, \
                 first_seen = CASE WHEN assets.first_seen IS NULL OR excluded.first_seen < assets.first_seen \
                 THEN excluded.first_seen ELSE assets.first_seen END \
                 RETURNING id, ip",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (ip, seen_at) in chunk {
                q = q.bind(ip.clone()).bind(*seen_at).bind(*seen_at).bind(now);
            }
            for r in q.fetch_all(&mut **tx).await? {
                out.push((r.try_get("ip")?, r.try_get("id")?));
            }
        }
        Ok(out)
    }
}

/// Creates or replaces one asset (see [`Db::upsert_asset`]).
async fn upsert(tx: &mut Transaction<'_, Any>, f: &AssetFields) -> Result<Asset> {
    let now = now_ms();
    let row = sqlx::query(&format!(
        "INSERT INTO assets (ip, hostname, owner, purpose, criticality, tags, discovered, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) \
         ON CONFLICT (ip) DO UPDATE SET hostname = excluded.hostname, owner = excluded.owner, \
         purpose = excluded.purpose, criticality = excluded.criticality, tags = excluded.tags, discovered = 0, \
         updated_at = excluded.updated_at RETURNING {COLUMNS}"
    ))
    .bind(&f.ip)
    .bind(&f.hostname)
    .bind(&f.owner)
    .bind(&f.purpose)
    .bind(f.criticality.unwrap_or(Criticality::Medium).as_str())
    .bind(f.tags.join(","))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    asset_from_row(&row)
}
