//! The one axum `Router`: pages (SSR), server functions, `/ws`, the bot API, uploads, exports,
//! `/healthz`, `/metrics` and static files, with the body limits, compression, cache and security
//! layers, and the count of errors sent.

use std::future::Future;

use axum::extract::State;
use axum::handler::HandlerWithoutStateExt;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::app::{shell, App};
use crate::server::state::AppState;

pub(crate) fn router(state: AppState) -> Router {
    let provide_state = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            provide_page_nonce();
        }
    };
    let render_shell = {
        let options = state.leptos_options.clone();
        let stylesheet = state.bundle.stylesheet.clone();
        move || shell(options.clone(), stylesheet.clone())
    };
    // Uploads take far larger bodies than anything else (the handler enforces the exact limit, with a
    // clear 413; this layer only stops a body that runs far past it).
    let files = Router::new()
        .route("/api/upload", axum::routing::post(crate::server::http::uploads::upload))
        .route("/files/{id}", get(crate::server::http::uploads::serve))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            usize::try_from(state.settings.limits.max_upload_bytes).unwrap_or(usize::MAX).saturating_add(1 << 20),
        ));
    let not_found = leptos_axum::render_app_to_stream_with_context(provide_state.clone(), render_shell.clone());
    let http = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::server::http::scrape::metrics))
        .route("/api/bot/messages", axum::routing::post(crate::server::http::bot_api::post_message))
        .route("/api/announce", axum::routing::post(crate::server::http::bot_api::announce))
        .route("/api/export", get(crate::server::http::export::export_room))
        .leptos_routes_with_context(&state, generate_route_list(App), provide_state, render_shell)
        .fallback_service(crate::server::http::assets::site(&state.leptos_options, not_found.into_service()))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(crate::server::http::guard::MAX_BODY_BYTES))
        .merge(files)
        .layer(axum::middleware::from_fn(crate::server::http::assets::cache_policy))
        // Everything but the websocket: negotiated brotli or gzip for pages, JSON and streamed
        // exports; the static files arrive precompressed (see `assets`) and pass through.
        .layer(tower_http::compression::CompressionLayer::new());
    Router::new()
        .route("/ws", get(crate::server::ws::upgrade))
        .merge(http)
        .layer(axum::middleware::from_fn(crate::server::http::guard::same_site_only))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::server::http::error::count_sent))
        .layer(axum::middleware::from_fn(crate::server::http::guard::security_headers))
        .layer(axum::middleware::from_fn(without_stale_reactive_owner))
        .with_state(state)
}

/// Gives the page being rendered the nonce that `guard::security_headers` put in its policy.
fn provide_page_nonce() {
    let nonce = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<crate::server::http::guard::PageNonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

/// Middleware: every poll of a request starts with no current reactive owner. Leptos keeps the
/// current owner in a thread-local that a page render leaves set when it yields, and its handlers
/// make their own owners as children of whatever is current: without this, a server function (or
/// any handler) that ran next on that thread became a child of another visitor's page, saw its
/// contexts, used its arena, and was cleaned up with it.
async fn without_stale_reactive_owner(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = std::pin::pin!(next.run(request));
    std::future::poll_fn(move |cx| {
        if let Some(owner) = leptos::prelude::Owner::current() {
            owner.unset();
        }
        response.as_mut().poll(cx)
    })
    .await
}

/// For load balancers and start-up scripts: 200 when the database answers, 503 when it does not,
/// and 503 `draining` from a stop request until the shutdown, so that a balancer moves new clients
/// to other nodes while this one still serves those it has (`drain_secs`).
async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    if state.draining.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "draining" })));
    }
    match state.store.last_id().await {
        Ok(_) => (StatusCode::OK, Json(serde_json::json!({ "status": "ok" }))),
        Err(error) => {
            tracing::error!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "unavailable" })))
        }
    }
}
