//! The asset inventory (`/assets`, analysts and admins): list with alert counts, edit, CSV
//! import. Every change is audited and reaches the enrichment of the next alerts at once.

use crate::error::AppError;
use anomalyforge::asset::{Asset, AssetInput, AssetPage, ImportSummary};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access};

/// One page of the inventory (`view`: `all` or `discovered`; `page` from 1).
#[server(endpoint = "assets/list", output = crate::json::Reply)]
pub async fn list_assets(view: String, page: u32) -> Result<AssetPage, AppError> {
    use anomalyforge::asset::{AssetRow, AssetView, ASSETS_PER_PAGE};
    let (st, _) = authorize(Access::ASSETS).await?;
    let view = AssetView::parse(&view);
    let page = page.max(1);
    let (all, discovered) = st.db.count_assets().await?;
    let offset = i64::from(page - 1) * i64::from(ASSETS_PER_PAGE);
    let assets = st.db.list_assets(view == AssetView::Discovered, i64::from(ASSETS_PER_PAGE), offset).await?;
    let ids: Vec<i64> = assets.iter().map(|a| a.id).collect();
    let stats = st.db.alert_stats_for_assets(&ids).await?;
    let rows = assets
        .into_iter()
        .map(|asset| {
            let s = stats.get(&asset.id).copied().unwrap_or_default();
            AssetRow { asset, alerts: s.total, open_alerts: s.open, max_risk: s.max_risk as f32 }
        })
        .collect();
    let total = if view == AssetView::Discovered { discovered } else { all };
    Ok(AssetPage { view, rows, page, per_page: ASSETS_PER_PAGE, total, discovered })
}

/// Creates an asset or edits one (by address). A discovered asset that is saved counts as reviewed.
#[server(endpoint = "assets/save", output = crate::json::Reply)]
pub async fn save_asset(asset: AssetInput) -> Result<Asset, AppError> {
    let (st, me) = authorize(Access::ASSETS).await?;
    Ok(anomalyforge::commands::assets::save(st.command(&me), &asset).await?)
}

/// Imports CSV text (see `anomalyforge::asset_csv` for the columns). Valid rows are saved in one
/// transaction; every other row is listed with its line and reason.
#[server(endpoint = "assets/import", output = crate::json::Reply)]
pub async fn import_assets(csv: String) -> Result<ImportSummary, AppError> {
    let (st, me) = authorize(Access::ASSETS).await?;
    Ok(anomalyforge::commands::assets::import_csv(st.command(&me), &csv).await?)
}
