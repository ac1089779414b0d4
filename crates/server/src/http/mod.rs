//! The HTTP surface: one `router()` per resource module, merged here, and [`launch`], the
//! testable core that serves a router on a given listener until a shutdown signal.
//! Handlers are "extract → call one store or engine function → map the result".
//! Every route is registered with `utoipa_axum::routes!`, so the router and the OpenAPI
//! document at `/openapi.json` are built together (see [`openapi`] for how to add a route).

pub(crate) mod api_conversations;
mod api_key_auth;
pub mod api_schemas;
pub(crate) mod assistants;
pub(crate) mod conversation_json;
pub(crate) mod conversations;
mod csv_row;
pub(crate) mod documents;
mod error;
pub(crate) mod export;
mod export_rows;
mod field_errors;
mod health;
pub(crate) mod http_tools;
mod json_body;
pub(crate) mod knowledge_bases;
pub(crate) mod metrics;
pub mod openapi;
mod path_param;
pub(crate) mod price_table;
mod query;
mod rate_limit;
mod request_id;
pub(crate) mod senders;
mod storable_input;
mod twilio_webhook;
mod webhook_events;
pub(crate) mod whatsapp_sends;
pub(crate) mod whatsapp_templates;
mod whatsapp_webhook;
mod whoami;

pub use api_key_auth::ApiKeyAuth;
pub use error::ApiError;
pub use request_id::current_request_id;

use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use std::future::Future;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub fn router(state: AppState) -> Router {
    let max_body = state.settings.max_body_bytes;
    let rate_limit_per_minute = state.settings.api_rate_limit_per_minute;
    let (routes, document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(health::router())
        .merge(whatsapp_webhook::router())
        .merge(twilio_webhook::router())
        .nest(
            "/api/v1",
            whoami::router()
                .merge(assistants::router())
                .merge(conversations::router())
                .merge(api_conversations::router())
                .merge(export::router())
                .merge(metrics::router())
                .merge(senders::router())
                .merge(price_table::router())
                .merge(http_tools::router())
                .merge(whatsapp_sends::router())
                .merge(whatsapp_templates::router())
                .merge(webhook_events::router())
                .merge(knowledge_bases::router())
                .merge(documents::router())
                .fallback(error::api_not_found)
                .layer(axum::middleware::from_fn_with_state(
                    (state.clone(), std::sync::Arc::new(rate_limit::RateLimiter::per_minute(rate_limit_per_minute))),
                    rate_limit::enforce,
                )),
        )
        .split_for_parts();
    let document = openapi::RenderedDocument::new(&openapi::finish(document));
    routes
        // in `openapi::PLAIN_ROUTES`: the document can be served only once it is built
        .route("/openapi.json", get(move || std::future::ready(document.clone().into_response())))
        // the dashboard's pages are HTML for people, not API (`openapi::NOT_API_ROUTES`)
        .merge(crate::dashboard::router(state.clone()))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            // the matched route, never the raw URI: query strings may carry phone numbers
            let route =
                req.extensions().get::<axum::extract::MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
            tracing::info_span!("http", method = %req.method(), route, request_id = %current_request_id())
        }))
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn launch(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // the peer address feeds the dashboard's login rate limit
    axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
