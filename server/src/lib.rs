//! The wiring of the AnomalyForge server: start-up (database, migrations, accounts), the router
//! (Leptos pages and server functions, `/healthz`, the ingest API, static files), middleware and shutdown. The
//! binary in `main.rs` only reads the configuration and calls [`run`]. Integration tests call
//! [`start`] on a free port.

pub mod analyze_api;
mod authorized;
mod export;
mod health;
pub mod incident_api;
pub mod ingest_api;
pub mod intel_api;
mod kpi_export;
pub mod live_api;
mod middleware;
pub mod openapi;
mod openapi_page;
pub mod response_api;
pub mod score_api;
mod token_api;

use anomalyforge::auth::LoginPolicy;
use anomalyforge::config::Config;
use anomalyforge::engine::slot::EngineSlot;
use anomalyforge::enrich::{Centroids, Enricher};
use anomalyforge::geoip::GeoIp;
use anomalyforge::hub::LiveHub;
use anomalyforge::metrics::Metrics;
use anomalyforge::model_registry::Registry;
use anomalyforge::pipeline::Pipeline;
use anomalyforge::replay::Replay;
use anomalyforge::store::{redact_url, Db};
use anomalyforge::worldmap::WorldMap;
use anyhow::Context;
use app::state::AppState;
use axum::routing::get;
use axum::Router;
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Opens the database, applies migrations and bootstraps accounts. Any failure here names its
/// cause and stops start-up.
pub async fn prepare(config: Config) -> anyhow::Result<AppState> {
    let url = config.database_url();
    tracing::info!(database = %redact_url(&url), demo = config.demo, "starting");
    let db = Db::connect_with(&url, config.db_max_connections, config.sqlite_synchronous).await?;
    db.migrate().await.with_context(|| format!("applying migrations to {}", redact_url(&url)))?;

    let boot = anomalyforge::auth::bootstrap(&db, config.admin_password.as_ref().map(|s| s.0.as_str()), config.demo)
        .await
        .context("creating the initial accounts")?;
    if let Some(password) = &boot.generated_admin_password {
        // Printed once to the terminal, on the first start only: never into the structured logs,
        // which are shipped and kept; it is not stored anywhere in clear.
        eprintln!("\nThe first administrator was created: username `admin`, password `{password}`.\nIt is shown only this once.\n");
        tracing::warn!(
            username = "admin",
            "created the first administrator; its password was printed once to the terminal (standard error)"
        );
    } else if boot.admin_created {
        tracing::info!(username = "admin", "created the first administrator with AF_ADMIN_PASSWORD");
    }
    if config.demo {
        tracing::warn!(accounts = boot.demo_accounts.len(), "demo mode: demo accounts are listed on the login page");
    }
    if config.demo && config.demo_history {
        // Generated history, so the dashboards have a past from the first minute. A failure costs
        // the demo its history, not its start.
        if let Err(e) = anomalyforge::demo::seed::seed_history(&db, anomalyforge::store::now_ms()).await {
            tracing::error!(error = %e, "seeding the demo history failed; the demo starts without it");
        }
    }
    if !boot.demo_accounts_retired.is_empty() {
        tracing::warn!(accounts = ?boot.demo_accounts_retired, "demo mode is off: the demo accounts were disabled");
    }

    let live = Arc::new(LiveHub::new());
    live.spawn_ticker();
    let cluster = anomalyforge::cluster::Cluster::start(&db, config.database_url.as_deref(), live.clone());
    let metrics = Arc::new(Metrics::default());
    let models = Registry::open(config.registry_settings(), db.clone())
        .await
        .context("opening the model registry (AF_DATA_DIR/models and the database's model versions)")?;
    if db.backend() == anomalyforge::store::Backend::Postgres {
        // Other instances may retrain, learn or switch versions: follow them.
        models.spawn_follow();
    }
    let (pipeline, enricher, replay) = if config.ingest {
        let engine = load_engine(&models, &config.model_dir).await?;
        let geo = load_geoip(&config.geoip_path).await?;
        let enricher = Arc::new(Enricher::new(geo.clone(), country_centroids(), config.internal_networks.clone()));
        // Intel is loaded before the first batch, so it does not wait for a large feed (about a
        // second for 100,000 indicators).
        if let Err(e) = enricher.warm_up(&db).await {
            tracing::warn!(error = %e, "cannot load the intel indicators for matching yet");
        }
        let pipeline = Pipeline::start(
            engine,
            db.clone(),
            &config.pipeline_settings(),
            enricher.clone(),
            live.clone(),
            metrics.clone(),
        );
        if db.backend() == anomalyforge::store::Backend::Postgres {
            // Several instances may share the database: each one's sample counts when any learns.
            anomalyforge::baseline::shared::spawn_share(db.clone(), pipeline.site_sample());
        }
        let leader = cluster.clone();
        let hours = config.baseline.schedule_hours;
        models.spawn_learning_schedule(
            (hours > 0).then(|| Duration::from_secs(hours.saturating_mul(3600))),
            pipeline.site_sample(),
            config.baseline.min_rows,
            move || leader.is_leader(),
        );
        let replay = Replay::new(config.replay.clone(), pipeline.clone(), geo);
        if config.replay.autostart.unwrap_or(config.demo) {
            let status = replay
                .start()
                .await
                .context("starting the traffic replay (set AF_REPLAY__AUTOSTART=false to run without it)")?;
            tracing::warn!(
                flows = status.total,
                speed = status.speed,
                "replaying recorded CIC-IDS2017 traffic (demo data, not live traffic)"
            );
        }
        (Some(pipeline), Some(enricher), Some(replay))
    } else {
        tracing::warn!("ingest is off (AF_INGEST=false): no model loaded, the ingest API answers 503");
        (None, None, None)
    };
    let bus = match (&pipeline, &config.bus.url) {
        (Some(p), Some(_)) => {
            let bus = anomalyforge::bus::Bus::connect(&config.bus, metrics.clone())
                .await
                .context("connecting to the ingest bus (AF_BUS); unset it to ingest through the in-process queue")?;
            if config.bus.consume {
                // Several instances share the partitions through PostgreSQL; on SQLite this is the
                // only instance.
                let partitions = config.bus.partitions;
                let ownership = match (db.backend(), config.database_url.as_deref()) {
                    (anomalyforge::store::Backend::Postgres, Some(url)) => {
                        anomalyforge::bus::ownership::Ownership::on_postgres(url, partitions)
                    }
                    _ => anomalyforge::bus::ownership::Ownership::all(partitions),
                };
                bus.spawn_consumer(p.clone(), config.ingest_limits, ownership);
            } else {
                tracing::info!("ingest gateway: batches are published to the bus and scored by other instances");
            }
            Some(bus)
        }
        (None, Some(_)) => {
            tracing::warn!(
                "AF_BUS is set but ingest is off (AF_INGEST=false): this instance neither publishes nor scores"
            );
            None
        }
        _ => None,
    };
    let analyses = match &pipeline {
        Some(p) if config.analysis.enabled => Some(
            anomalyforge::analysis::service::Analyses::start(
                db.clone(),
                &config.data_dir,
                config.analysis.clone(),
                p.clone(),
                config.behaviour.clone(),
                config.ingest_limits,
            )
            .await,
        ),
        _ => None,
    };

    let leptos_options = LeptosOptions::builder()
        .output_name("anomalyforge")
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.bind)
        .build();
    Ok(AppState {
        leptos_options,
        db,
        login_policy: Arc::new(LoginPolicy::from(&config)),
        config: Arc::new(config),
        demo_accounts: Arc::new(boot.demo_accounts),
        pipeline,
        enricher,
        replay,
        live,
        metrics,
        models,
        analyses,
        cluster,
        bus,
    })
}

/// Loads the DB-IP country ranges once, off the async executor. The error names the file.
async fn load_geoip(path: &Path) -> anyhow::Result<Arc<GeoIp>> {
    let path = path.to_path_buf();
    let shown = path.display().to_string();
    let geo = tokio::task::spawn_blocking(move || GeoIp::load_shared(&path))
        .await
        .context("geolocation loading task")?
        .with_context(|| format!("loading the IP-to-country data from `{shown}` (set AF_GEOIP_PATH)"))?;
    tracing::info!(file = %shown, ranges = geo.len(), "IP geolocation loaded");
    Ok(geo)
}

/// Latitude and longitude of every country on the bundled world map (area centroid of its largest
/// polygon), for placing alert sources on the SOC console's maps.
fn country_centroids() -> Centroids {
    WorldMap::bundled().countries().iter().map(|c| (c.iso_a2.clone(), (c.centroid.1, c.centroid.0))).collect()
}

/// Loads the active model version once, off the async executor (the shipped models of `dir` unless
/// an admin chose a retrained version). The error names the file at fault.
async fn load_engine(models: &Registry, dir: &Path) -> anyhow::Result<EngineSlot> {
    let shown = dir.display().to_string();
    let slot = models.load_active().await.with_context(|| {
        format!(
            "loading the detection models from `{shown}` (set AF_MODEL_DIR, or AF_INGEST=false to run without ingest)"
        )
    })?;
    tracing::info!(dir = %slot.current().dir().display(), version = %slot.current().manifest().model_version, "detection models loaded");
    Ok(slot)
}

/// The app's routes, found by rendering the app once per process. `generate_route_list` must not
/// run while pages are being rendered on other threads: in Leptos 0.8 that overlap occasionally
/// leaves a page's `<Suspense>` waiting forever (status sent, body never finished). A server
/// builds its router before it serves, but the integration tests start servers while others
/// serve; `pages_stream_to_the_end_beside_other_servers` in `server/tests/it/http.rs` hung in about one run
/// in six before this.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

/// The complete router.
pub fn router(state: AppState) -> Router {
    let routes = route_list();
    let max_body = state.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(live_api::metrics))
        .route("/api/v1/stream", get(live_api::stream))
        .route("/api/v1/alerts", get(live_api::list_alerts))
        .route("/api/v1/flows", get(live_api::list_flows))
        .route("/assets/export.csv", get(export::assets_csv))
        .route("/hunt/export.csv", get(export::hunt_csv))
        .route("/exec/export.csv", get(kpi_export::kpi_csv))
        .merge(response_api::routes())
        .merge(incident_api::routes())
        .merge(openapi::routes())
        .leptos_routes_with_context(&state, routes, || (), {
            let options = state.leptos_options.clone();
            move || app::shell(options.clone())
        })
        .fallback(middleware::fallback(state.clone()))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::session))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        // Token-authenticated machine API: no session, no CSRF check, its own body limit.
        .merge(ingest_api::routes().layer(tower_http::trace::TraceLayer::new_for_http()))
        .merge(score_api::routes().layer(tower_http::trace::TraceLayer::new_for_http()))
        .merge(token_api::routes().layer(tower_http::trace::TraceLayer::new_for_http()))
        // Session: file analysis, with the analysis upload limit (checked in the handler) instead of
        // the pages' body limit.
        .merge(
            analyze_api::routes()
                .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::session))
                .layer(tower_http::trace::TraceLayer::new_for_http()),
        )
        // Token or session: the session middleware, with the ingest body limit instead of the pages'.
        .merge(
            intel_api::routes(state.config.ingest_max_body_bytes)
                .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::session))
                .layer(tower_http::trace::TraceLayer::new_for_http()),
        )
        .with_state(state)
}

/// A running server: its address and a handle to wait for it.
pub struct Running {
    pub addr: SocketAddr,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Binds `listener` and serves until `shutdown` resolves.
pub async fn start(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let db = state.db.clone();
    let cluster = state.cluster.clone();
    spawn_housekeeping(db.clone(), state.config.login_window_secs, state.config.flows.retention_days, cluster.clone());
    if let Some(analyses) = state.analyses.clone() {
        spawn_analysis_expiry(analyses, cluster);
    }
    let (live, replay) = (state.live.clone(), state.replay.clone());
    // The notification worker: deliveries queued by any instance, sent by this one's worker.
    let (stop_notify, notify_stopped) = tokio::sync::oneshot::channel::<()>();
    if state.config.notify.enabled {
        let (db, cfg) = (db.clone(), state.config.notify.clone());
        tokio::spawn(anomalyforge::notify::worker::run(db, cfg, async move {
            let _ = notify_stopped.await;
        }));
    }
    let leaving = state.cluster.clone();
    let shutdown = async move {
        shutdown.await;
        leaving.stop();
        let _ = stop_notify.send(());
        // Stop feeding the pipeline and end the live streams, so that the connections can drain.
        if let Some(r) = replay {
            r.stop();
        }
        live.close();
    };
    let app = router(state);
    let handle = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP")?;
        db.close().await;
        Ok(())
    });
    Ok(Running { addr, handle })
}

/// Prepares, binds the configured address, serves until `shutdown`.
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let bind = config.bind;
    // One server process per SQLite file, held until this function returns (see store::instance).
    let _instance = anomalyforge::store::instance::claim(&config.database_url())?;
    let state = prepare(config).await?;
    let listener = TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
    let running = start(state, listener, shutdown).await?;
    tracing::info!(addr = %running.addr, "listening on http://{}", running.addr);
    running.handle.await.context("server task")??;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!(signal = "SIGINT", "shutting down"),
        _ = term => tracing::info!(signal = "SIGTERM", "shutting down"),
    }
}

/// Every ten minutes: the leader deletes analyses past their retention, and every instance the
/// copies of deleted analyses in its data directory.
fn spawn_analysis_expiry(analyses: anomalyforge::analysis::service::Analyses, cluster: anomalyforge::cluster::Cluster) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if !cluster.is_leader() {
                // The leader deletes expired rows; every instance its own copies of them.
                match analyses.prune_copies().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(analyses = n, "copies of deleted analyses removed"),
                    Err(e) => tracing::warn!(error = %e, "removing copies of deleted analyses failed"),
                }
                continue;
            }
            match analyses.expire(anomalyforge::store::now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(analyses = n, "analyses past retention deleted"),
                Err(e) => tracing::warn!(error = %e, "deleting expired analyses failed"),
            }
        }
    });
}

/// Every few minutes (and once at start-up): refreshes the query planner's statistics, prunes
/// expired sessions and old sign-in failures, drops the days of flow history past retention, the
/// traffic analytics' busiest-key rows older than 31 days, and the notification deliveries that
/// ended more than 30 days ago.
fn spawn_housekeeping(
    db: Db,
    login_window_secs: u64,
    flow_retention_days: u32,
    cluster: anomalyforge::cluster::Cluster,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            // Once per cluster: only the leader prunes and optimises.
            if !cluster.is_leader() {
                continue;
            }
            let started = std::time::Instant::now();
            match db.optimize().await {
                Ok(()) => tracing::debug!(ms = started.elapsed().as_millis() as u64, "planner statistics refreshed"),
                Err(e) => tracing::warn!(error = %e, "refreshing the planner statistics failed"),
            }
            let cutoff = anomalyforge::store::now_ms() - (login_window_secs as i64) * 2000;
            match (db.prune_sessions().await, db.prune_login_failures(cutoff).await) {
                (Ok(s), Ok(f)) => tracing::debug!(sessions = s, login_failures = f, "pruned"),
                (Err(e), _) | (_, Err(e)) => tracing::warn!(error = %e, "housekeeping failed"),
            }
            let today = anomalyforge::store::flows::day_of(anomalyforge::store::now_ms());
            let started = std::time::Instant::now();
            match db.drop_flow_days(today - i64::from(flow_retention_days) + 1).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    flows = n,
                    ms = started.elapsed().as_millis() as u64,
                    "flow history past retention dropped"
                ),
                Err(e) => tracing::warn!(error = %e, "dropping old flow history failed"),
            }
            let keep_top = anomalyforge::store::now_ms() - anomalyforge::traffic::KEEP_TOP_DAYS * 86_400_000;
            match db.prune_traffic_top(keep_top).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "busiest-talker rows past retention pruned"),
                Err(e) => tracing::warn!(error = %e, "pruning the busiest-talker rows failed"),
            }
            // Stored bus batch ids: a week is far beyond any redelivery (the stream keeps a batch at
            // most `[bus] max_age_secs`, a day by default).
            let week_ago = anomalyforge::store::now_ms() - 7 * anomalyforge::time::DAY;
            match db.prune_bus_batches(week_ago).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(batches = n, "stored bus batch ids past a week pruned"),
                Err(e) => tracing::warn!(error = %e, "pruning the stored bus batch ids failed"),
            }
            let month_ago = anomalyforge::store::now_ms() - anomalyforge::notify::KEEP_DELIVERIES_MS;
            match db.prune_deliveries(month_ago).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deliveries = n, "old notification deliveries pruned"),
                Err(e) => tracing::warn!(error = %e, "pruning notification deliveries failed"),
            }
        }
    });
}
