//! The OpenAPI 3.1 description of the HTTP API, generated from the code so it cannot drift:
//! every REST handler carries its `#[utoipa::path]` (method, path, parameters, bodies, answers), the
//! bodies' schemas are derived from the Rust types they serialize, and the UI's server functions are
//! added from Leptos' registry at start-up. `route_access_table` and `every_route_is_described` (in
//! `server/tests/it/http.rs`) check that no route of the router is missing.
//!
//! - `GET /api/openapi.json`: the document;
//! - `GET /api/docs`: the same, as a page rendered here (no script, no asset from elsewhere).

use app::state::AppState;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::{
    analyze_api, export, health, incident_api, ingest_api, intel_api, kpi_export, live_api, response_api, score_api,
    token_api,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "AnomalyForge API",
        description = "Ingest flows and logs, read alerts, flows, incidents and response actions, import threat intel, \
                       and pull the blocklists a firewall enforces. Machines authenticate with an API token \
                       (`Authorization: Bearer af_…`) whose scopes say what it may do; people's browsers with their \
                       session cookie. Errors are JSON with `error`, `message` and, for a bad parameter, `param`."
    ),
    paths(
        health::healthz,
        live_api::metrics,
        live_api::stream,
        live_api::list_alerts,
        live_api::list_flows,
        ingest_api::ingest_csv,
        ingest_api::ingest_flows,
        ingest_api::ingest_zeek,
        ingest_api::ingest_suricata,
        score_api::score,
        analyze_api::upload,
        analyze_api::download,
        intel_api::import_intel,
        intel_api::ioc,
        incident_api::list,
        incident_api::detail,
        response_api::actions,
        response_api::plain,
        response_api::nftables,
        response_api::suricata,
        token_api::list,
        token_api::create,
        token_api::revoke,
        export::assets_csv,
        export::hunt_csv,
        kpi_export::kpi_csv,
        openapi_json,
        docs,
    ),
    modifiers(&Security, &ServerFunctions),
    tags(
        (name = "ingest", description = "Send flows and logs (token scope `ingest`), or score flows without storing them (scope `score`)"),
        (name = "alerts", description = "Read alerts (token scope `read`)"),
        (name = "hunting", description = "Search the stored flows (token scope `read`)"),
        (name = "incidents", description = "Read incidents (token scope `read`)"),
        (name = "response", description = "Response actions and the blocklist feeds (token scopes `read`, `blocklist`)"),
        (name = "intel", description = "Import threat intel (scope `intel`) and check indicators (scope `read`)"),
        (name = "tokens", description = "Manage API tokens (token scope `admin`)"),
        (name = "exports", description = "CSV exports for signed-in people"),
        (name = "analysis", description = "Analyse a file without raising alerts, and download its report and scored rows (a session of an analyst, responder or admin)"),
        (name = "operations", description = "Health, metrics and this description"),
        (name = "ui", description = "The web UI's server functions: a session, form-encoded arguments, JSON answers. \
                                     They follow the UI and may change between versions; integrations use the tagged REST endpoints."),
    )
)]
struct ApiDoc;

/// The two ways in: API tokens and the session cookie.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token (`af_…`) created on /admin, with `anomalyforge token create`, or through /api/v1/tokens"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                anomalyforge::auth::SESSION_COOKIE,
                "The session of a signed-in person (set by /api/auth/login)",
            ))),
        );
    }
}

/// Every server function of the UI, from Leptos' registry: `POST /api/<endpoint>` with form fields.
struct ServerFunctions;

impl Modify for ServerFunctions {
    fn modify(&self, doc: &mut Document) {
        let mut fns: Vec<(String, String)> = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, method)| (path.to_string(), method.to_string()))
            .collect();
        fns.sort();
        for (path, method) in fns {
            let http = match method.as_str() {
                "GET" => HttpMethod::Get,
                "PUT" => HttpMethod::Put,
                "DELETE" => HttpMethod::Delete,
                "PATCH" => HttpMethod::Patch,
                _ => HttpMethod::Post,
            };
            let name = path.trim_start_matches("/api/").to_string();
            let op = OperationBuilder::new()
                .tag("ui")
                .operation_id(Some(format!("ui_{}", name.replace('/', "_"))))
                .summary(Some(format!("UI server function `{name}`")))
                .request_body(Some(
                    RequestBodyBuilder::new()
                        .description(Some("The function's arguments as form fields"))
                        .content("application/x-www-form-urlencoded", Content::default())
                        .build(),
                ))
                .response("200", RefOr::T(ResponseBuilder::new().description("The result, as JSON").build()))
                .response("401", RefOr::T(ResponseBuilder::new().description("No session").build()))
                .response("403", RefOr::T(ResponseBuilder::new().description("The role may not call it").build()))
                .response(
                    "422",
                    RefOr::T(ResponseBuilder::new().description("An argument is not valid; `field` names it").build()),
                )
                .security(utoipa::openapi::security::SecurityRequirement::new("session", Vec::<String>::new()))
                .build();
            doc.paths.add_path_operation(path, vec![http], op);
        }
    }
}

/// The document, built once.
pub fn document() -> &'static Document {
    static DOC: std::sync::OnceLock<Document> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = anomalyforge::VERSION.to_string();
        doc
    })
}

pub fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new().route("/api/openapi.json", get(openapi_json)).route("/api/docs", get(docs))
}

/// This description, as JSON (no authentication: it holds no data).
#[utoipa::path(
    get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = serde_json::Value))
)]
pub async fn openapi_json() -> Response {
    match document().to_pretty_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize the OpenAPI document");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// This description, as a page.
#[utoipa::path(
    get, path = "/api/docs", tag = "operations",
    responses((status = 200, description = "The API reference as HTML", content_type = "text/html", body = String))
)]
pub async fn docs() -> Html<String> {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    Html(PAGE.get_or_init(|| crate::openapi_page::render(document())).clone())
}
