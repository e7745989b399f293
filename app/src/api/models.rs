//! Detection model versions (`/models`): analysts and admins read every version and the retrain's
//! progress; only admins start a retrain or activate a version (rollback included). Activations
//! and retrains are audited by the registry.

use crate::error::AppError;
use anomalyforge::baseline::SiteSampleInfo;
use anomalyforge::model_version::{Activation, ModelsOverview, RetrainStatus};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::baseline::SampleCount, anomalyforge::role::Access};

/// Every version, the detail of `version` (default: the active one) and the latest retrain.
#[server(endpoint = "models/overview", output = crate::json::Reply)]
pub async fn load_models_overview(version: Option<String>) -> Result<ModelsOverview, AppError> {
    let (st, _) = authorize(Access::MODELS).await?;
    let registry = st.models.clone();
    // Manifests are read from disk: off the async executor.
    tokio::task::spawn_blocking(move || registry.overview(version.as_deref())).await.map_err(|e| {
        tracing::error!(error = %e, "models overview task failed");
        AppError::Internal
    })
}

/// The latest retrain (none since the server started), for progress while it runs.
#[server(endpoint = "models/retrain_status", output = crate::json::Reply)]
pub async fn get_retrain_status() -> Result<Option<RetrainStatus>, AppError> {
    let (st, _) = authorize(Access::MODELS).await?;
    Ok(st.models.retrain_status())
}

/// Starts a retrain on the configured files in the background (409 while one runs).
#[server(endpoint = "models/retrain", output = crate::json::Reply)]
pub async fn start_retrain() -> Result<RetrainStatus, AppError> {
    let (st, me) = authorize(Access::ADMIN).await?;
    Ok(st.models.start_retrain(&me.username)?)
}

/// What "learn this network's normal" would refit on now: the pipeline's sample per profile.
#[server(endpoint = "models/site_sample", output = crate::json::Reply)]
pub async fn load_site_sample() -> Result<SiteSampleInfo, AppError> {
    let (st, _) = authorize(Access::MODELS).await?;
    let b = &st.config.baseline;
    let profiles = st.pipeline.as_ref().map_or_else(Vec::new, |p| {
        let counts = p.site_sample().lock().unwrap_or_else(|e| e.into_inner()).counts();
        counts.into_iter().map(|(profile, seen, kept)| SampleCount { profile, seen, kept: kept as u64 }).collect()
    });
    Ok(SiteSampleInfo {
        profiles,
        sample_size: b.sample_size as u64,
        min_rows: b.min_rows as u64,
        schedule_hours: b.schedule_hours,
    })
}

/// Starts "learn this network's normal" on the pipeline's sample in the background (409 while a
/// model job runs or when ingest is off).
#[server(endpoint = "models/learn_normal", output = crate::json::Reply)]
pub async fn start_learning() -> Result<RetrainStatus, AppError> {
    let (st, me) = authorize(Access::ADMIN).await?;
    let Some(pipeline) = &st.pipeline else {
        return Err(AppError::Conflict("ingest is off: there is no sample of this network's traffic".into()));
    };
    Ok(st.models.start_learning(&me.username, pipeline.site_sample(), st.config.baseline.min_rows)?)
}

/// Makes `version` the one the pipeline scores with (409 while a retrain runs).
#[server(endpoint = "models/activate", output = crate::json::Reply)]
pub async fn activate_version(version: String) -> Result<Activation, AppError> {
    let (st, me) = authorize(Access::ADMIN).await?;
    let version = version.trim().to_string();
    let from = st.models.activate(&version, &me.username).await?;
    tracing::info!(actor = %me.username, from = %from, to = %version, "model version activated");
    Ok(Activation { from, to: version })
}
