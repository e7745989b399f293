//! Detection model versions (`/models`): analysts and admins read every version and the retrain's
//! progress; only admins start a retrain or activate a version (rollback included). Activations
//! and retrains are audited by the registry.

use crate::error::AppError;
use anomalyforge::model_version::{Activation, ModelsOverview, RetrainStatus};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access};

/// Every version, the detail of `version` (default: the active one) and the latest retrain.
#[server(endpoint = "models/overview")]
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
#[server(endpoint = "models/retrain_status")]
pub async fn get_retrain_status() -> Result<Option<RetrainStatus>, AppError> {
    let (st, _) = authorize(Access::MODELS).await?;
    Ok(st.models.retrain_status())
}

/// Starts a retrain on the configured files in the background (409 while one runs).
#[server(endpoint = "models/retrain")]
pub async fn start_retrain() -> Result<RetrainStatus, AppError> {
    let (st, me) = authorize(Access::ADMIN).await?;
    Ok(st.models.start_retrain(&me.username)?)
}

/// Makes `version` the one the pipeline scores with (409 while a retrain runs).
#[server(endpoint = "models/activate")]
pub async fn activate_version(version: String) -> Result<Activation, AppError> {
    let (st, me) = authorize(Access::ADMIN).await?;
    let version = version.trim().to_string();
    let from = st.models.activate(&version, &me.username).await?;
    tracing::info!(actor = %me.username, from = %from, to = %version, "model version activated");
    Ok(Activation { from, to: version })
}

#[cfg(feature = "ssr")]
mod ssr {
    use crate::error::AppError;
    use anomalyforge::model_registry::RegistryError;

    impl From<RegistryError> for AppError {
        fn from(e: RegistryError) -> Self {
            match e {
                RegistryError::Busy { .. } => AppError::Conflict(e.to_string()),
                RegistryError::UnknownVersion(_) => AppError::NotFound(e.to_string()),
                RegistryError::Load { .. } => AppError::Conflict(e.to_string()),
                RegistryError::Io { .. } | RegistryError::Corrupt { .. } | RegistryError::Task(_) => {
                    tracing::error!(error = %e, "model registry error");
                    AppError::Internal
                }
            }
        }
    }
}
