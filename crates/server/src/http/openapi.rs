//! The OpenAPI 3.1 document served at `GET /openapi.json`, generated from the code with
//! utoipa: every route is registered through `utoipa_axum::routes!`, which adds the handler to
//! the router and its `#[utoipa::path]` description to the document in one step, so the two
//! cannot disagree. This module owns what is common to all routes: the document's info, the
//! bearer security scheme, and the error answers every `/api/v1` route can give (400, 401,
//! 429 with `Retry-After`, 500), added by [`finish`].
//!
//! # Adding a route
//!
//! 1. Annotate the handler with `#[utoipa::path(...)]`: the method, the path **as seen inside
//!    its module's router** (e.g. `path = "/widgets/{id}"`; the `/api/v1` prefix comes from
//!    the nest), `tag`, `params(...)` for path and query parameters (derive
//!    `utoipa::IntoParams` on a query struct and write `params(WidgetQuery)`), `request_body`
//!    (derive `utoipa::ToSchema` on the body type; domain types inside it are described with
//!    `#[schema(value_type = uuid::Uuid)]` or `value_type = String` so the domain crate stays
//!    free of utoipa), and `responses(...)` with every status the handler itself returns: the success
//!    with its schema (add a documentation struct to `api_schemas.rs` if the handler builds
//!    its JSON with `json!`), and 404 / 409 / 422 with `body = ErrorBody` or
//!    `body = ValidationErrorBody`. 400, 401, 429 and 500 are added to every `/api/v1`
//!    operation by [`finish`]; do not repeat them. A closed set of words is an enum in
//!    `api_schemas.rs` (`#[schema(value_type = Option<api_schemas::SenderStatus>)]`); one used
//!    only by query parameters must also be listed in [`ApiDoc`]'s `components`, or its
//!    `$ref` dangles (`tests/openapi.rs` checks every `$ref` resolves).
//!    Take input with `ApiJson`, `ApiQuery` and `ApiPath` (not axum's `Json`, `Query`, `Path`)
//!    so that malformed input is answered with the documented JSON errors, not plain text.
//! 2. Register it in the module's `router()`, which returns an `OpenApiRouter<AppState>`,
//!    with `.routes(routes!(list_widgets, create_widget))` (one `routes!` per path; the
//!    handlers of one path may share it), and merge that router in `http/mod.rs` (inside the
//!    `/api/v1` nest for API routes, so they get the key check's rate limit and fallback).
//! 3. Never register a route with axum's plain `route` (or `route_service`, `nest_service`):
//!    `tests/openapi.rs` scans `src/` and fails on any such call whose literal path is not in
//!    [`PLAIN_ROUTES`] (documented by hand in [`ApiDoc`]) or [`NOT_API_ROUTES`] (pages for
//!    people, such as the dashboard, which are no part of the API), and it checks that every
//!    documented operation is really served. Run `.ci/schemathesis` to check the answers
//!    match the schemas.

use super::api_schemas::{self, ErrorBody, ValidationErrorBody};
use axum::http::header;
use axum::response::IntoResponse;
use bytes::Bytes;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::OpenApi;

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/openapi.json";

/// Paths registered with axum's plain `route` method instead of `routes!` but described in
/// [`ApiDoc`] by hand: only the document itself, which can be served only once it is built.
pub const PLAIN_ROUTES: &[&str] = &[DOCUMENT_PATH];

/// Paths served outside the document on purpose: pages for people (HTML), never `/api/…`.
pub const NOT_API_ROUTES: &[&str] = &[
    // the dashboard (crates/server/src/dashboard): HTML pages behind a session, not API
    "/",
    "/analytics",
    "/assets/{name}",
    "/conversations",
    "/conversations/export",
    "/conversations/live",
    "/conversations/{id}",
    "/conversations/{id}/ai",
    "/conversations/{id}/end",
    "/conversations/{id}/live",
    "/conversations/{id}/reply",
    "/conversations/{id}/test-message",
    "/login",
    "/logout",
    "/settings",
    "/settings/api-keys",
    "/settings/api-keys/{id}/revoke",
    "/settings/assistants",
    "/settings/assistants/new",
    "/settings/assistants/{id}",
    "/settings/assistants/{id}/edit",
    "/settings/assistants/{id}/test-chat",
    "/settings/knowledge",
    "/settings/knowledge/{id}",
    "/settings/knowledge/{id}/delete",
    "/settings/knowledge/{id}/documents",
    "/settings/knowledge/{id}/documents/{document_id}/delete",
    "/settings/prices",
    "/settings/prices/reset",
    "/settings/senders",
    "/settings/senders/{id}/ai",
    "/settings/tools",
    "/settings/tools/new",
    "/settings/tools/{id}",
    "/settings/tools/{id}/delete",
    "/settings/tools/{id}/edit",
    "/settings/users",
    "/setup",
    "/conversations/{id}/template",
    "/settings/templates",
    "/settings/templates/{id}/delete",
    "/settings/users/{id}/role",
    "/settings/senders/new",
    "/settings/senders/{id}",
    "/settings/senders/{id}/edit",
];

/// The name of the bearer scheme in `components.securitySchemes`.
const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "confab",
        description = "The confab REST API. Authenticate with `Authorization: Bearer <key>` \
                       (create a key with `confab apikey create`). Errors are JSON \
                       `{error, message, request_id}`; 422 adds `fields` with a message per \
                       bad field; 429 says when to retry in `Retry-After`.",
    ),
    paths(document),
    // the schemas query parameters refer to (utoipa collects those of bodies and answers
    // by itself, not these)
    components(schemas(
        ErrorBody,
        ValidationErrorBody,
        api_schemas::ConversationType,
        api_schemas::ConversationStatus,
        api_schemas::ExportFormat,
        api_schemas::ExportLevel,
        api_schemas::WebhookEventKind,
    )),
    tags(
        (name = "assistants", description = "What answers customers: prompt, model, tools."),
        (name = "senders", description = "WhatsApp numbers linked to an assistant."),
        (name = "knowledge bases", description = "Documents assistants answer from, and searching them."),
        (name = "tools", description = "HTTP tools assistants may call."),
        (name = "pricing", description = "The prices turn costs are computed with."),
        (name = "conversations", description = "Conversations on every channel; API and test conversations."),
        (name = "whatsapp", description = "Sending to WhatsApp customers; the 24-hour window."),
        (name = "metrics", description = "Conversation metrics over a range."),
        (name = "workspace", description = "Who the API key belongs to; kept webhook events."),
        (name = "webhooks", description = "Called by Meta and Twilio, not by API clients."),
        (name = "operations", description = "Health, readiness and this document."),
    )
)]
pub struct ApiDoc;

/// The document itself.
#[allow(dead_code)] // described only: `http::router` serves the rendered document
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
async fn document() {}

/// Completes the document the router collected: the bearer scheme, required on every
/// `/api/v1` operation, and the errors every one of them can answer.
pub fn finish(mut doc: Document) -> Document {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("An API key from `confab apikey create` or the dashboard"))
                .build(),
        ),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            add_common_errors(operation);
        }
    }
    doc
}

fn add_common_errors(operation: &mut Operation) {
    operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    let error = || ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    let common = [
        ("400", "Malformed request: the body is not JSON, or a parameter cannot be read"),
        ("401", "No API key, or one that is unknown or revoked"),
        ("429", "Too many requests for this key; `Retry-After` says when to retry"),
        ("500", "Something went wrong on the server; quote the request id"),
    ];
    for (status, description) in common {
        let mut response = ResponseBuilder::new().description(description).content("application/json", error());
        if status == "429" {
            response = response.header(
                "Retry-After",
                utoipa::openapi::HeaderBuilder::new()
                    .schema(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Integer))
                    .description(Some("Seconds to wait"))
                    .build(),
            );
        }
        operation.responses.responses.entry(status.to_string()).or_insert_with(|| response.build().into());
    }
    if operation.request_body.is_some() {
        let too_large = ResponseBuilder::new()
            .description("The body is larger than the server accepts (`max_body_bytes`)")
            .content("application/json", error());
        operation.responses.responses.entry("413".to_string()).or_insert_with(|| too_large.build().into());
    }
}

/// The rendered document, built once per router.
#[derive(Clone)]
pub struct RenderedDocument(Bytes);

impl RenderedDocument {
    pub fn new(doc: &Document) -> Self {
        // the document is plain data: serializing it cannot fail, and an empty one is obvious
        Self(Bytes::from(serde_json::to_vec(doc).unwrap_or_default()))
    }

    pub fn into_response(self) -> axum::response::Response {
        ([(header::CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}
