//! Server-side state shared with server functions through Leptos context, and the per-request
//! authentication that the server's middleware resolves once and stores in request extensions.

use anomalyforge::auth::{ClientInfo, LoginPolicy};
use anomalyforge::config::Config;
use anomalyforge::enrich::Enricher;
use anomalyforge::hub::LiveHub;
use anomalyforge::metrics::Metrics;
use anomalyforge::model_registry::Registry;
use anomalyforge::pipeline::Pipeline;
use anomalyforge::replay::Replay;
use anomalyforge::store::Db;
use anomalyforge::user::{CurrentUser, DemoAccount};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub config: Arc<Config>,
    pub login_policy: Arc<LoginPolicy>,
    /// Demo accounts shown on the login page; empty unless demo mode is on.
    pub demo_accounts: Arc<Vec<DemoAccount>>,
    /// The ingest pipeline (queue → scoring → storage); `None` when `config.ingest` is off.
    pub pipeline: Option<Pipeline>,
    /// Enrichment data (geo, assets, intel) of the pipeline; commands refresh it through
    /// `anomalyforge::commands::Caches` (see [`AppState::command`]). `None` when ingest is off.
    pub enricher: Option<Arc<Enricher>>,
    /// The replay of recorded traffic; `None` when ingest is off.
    pub replay: Option<Replay>,
    /// Live events for the SOC console's stream.
    pub live: Arc<LiveHub>,
    pub metrics: Arc<Metrics>,
    /// Model versions, the active one, the engine swap and the background retrain (`/models`).
    pub models: Registry,
    /// File analysis (`/analyze`); `None` when ingest or `[analysis]` is off.
    pub analyses: Option<anomalyforge::analysis::service::Analyses>,
    /// This instance among others on one PostgreSQL: whether it leads the background jobs.
    pub cluster: anomalyforge::cluster::Cluster,
    /// The ingest bus, when `AF_BUS` names one: the ingest endpoints publish to it, and this
    /// instance's workers take batches from it.
    pub bus: Option<anomalyforge::bus::Bus>,
}

impl AppState {
    /// The context of a command run by `user`: this database, its caches, and who to audit.
    pub fn command<'a>(&'a self, user: &'a CurrentUser) -> anomalyforge::commands::Ctx<'a> {
        anomalyforge::commands::Ctx::user(&self.db, self.enricher.as_deref(), user)
    }

    /// What a threat-intel import works with: the pipeline's enricher, the live hub and the alert
    /// dedup window.
    pub fn intel_context(&self) -> anomalyforge::intel::import::IntelContext {
        anomalyforge::intel::import::IntelContext {
            enricher: self.enricher.clone(),
            hub: Some(self.live.clone()),
            dedup_window_ms: i64::try_from(self.config.dedup_window_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The Content-Security-Policy nonce of this response, made by the server middleware (which sends it in
/// the header) and put on the page's inline scripts by the shell.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Who sent this request, resolved from the session cookie by the server middleware.
#[derive(Clone, Debug, Default)]
pub struct RequestAuth {
    pub user: Option<CurrentUser>,
    /// The raw session token from the cookie, if one was sent (valid or not).
    pub token: Option<String>,
    pub client: ClientInfo,
}
