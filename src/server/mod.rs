//! The HTTP server: shared state, the router (pages, server functions, `/ws`, `/healthz`, static
//! files) and a run loop with graceful shutdown. `main` and the integration tests both start Natter
//! through [`Server::bind`], so tests exercise exactly what users run.

pub mod assets;
pub mod bot_api;
pub mod cli;
pub mod config;
pub mod db;
pub mod export;
pub mod files;
pub mod guard;
pub mod hub;
pub mod identity;
pub mod load;
pub mod messages;
pub mod rooms;
pub mod search;
pub mod socket;
pub mod throttle;
pub mod uploads;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, State};
use axum::handler::HandlerWithoutStateExt;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use clap::Parser;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::{shell, App};
use crate::server::config::{BotCommand, Cli, Command, Settings};
use crate::server::db::{DbError, Store};
use crate::server::hub::Hub;
use crate::server::identity::{Secret, SecretError};

/// How long shutdown waits for open websockets to take their close frames.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Everything a request handler, server function or socket may need; cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub settings: Arc<Settings>,
    pub store: Store,
    pub hub: Arc<Hub>,
    /// Cancelled when the server starts shutting down; sockets close on it.
    pub shutdown: CancellationToken,
    /// Counts open sockets so shutdown can wait for them.
    pub tracker: TaskTracker,
    pub secret: Secret,
    pub sign_in_throttle: Arc<crate::server::throttle::SignInThrottle>,
    pub read_marks: Arc<crate::server::rooms::ReadMarks>,
    pub frame_limits: Arc<crate::server::throttle::FrameLimits>,
    /// The browser bundle's file names for this build.
    pub bundle: Arc<crate::server::assets::Bundle>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::server::config::ConfigError),
    #[error("cannot open the database: {0}")]
    Database(#[from] DbError),
    #[error("cannot load the session secret: {0}")]
    Secret(#[from] SecretError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

impl AppState {
    /// Opens the database and wires the store's commits to the hub.
    pub async fn open(settings: Settings) -> Result<Self, StartError> {
        let hub = Arc::new(Hub::new(settings.limits.broadcast_buffer));
        let publisher = Arc::clone(&hub);
        let path = settings.db.clone();
        let (store, secret) = tokio::task::spawn_blocking(move || -> Result<_, StartError> {
            let store = Store::open(&path, Box::new(move |messages| publisher.publish_messages(messages)))?;
            Ok((store, Secret::load(&path)?))
        })
        .await
        .map_err(DbError::from)??;
        let frame_limits = Arc::new(crate::server::throttle::FrameLimits::new(&settings.limits));
        let bundle = crate::server::assets::Bundle::of_this_build(env!("CARGO_CRATE_NAME"));
        Ok(Self {
            leptos_options: leptos_options(&settings, &bundle),
            bundle: Arc::new(bundle),
            settings: Arc::new(settings),
            store,
            hub,
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
            secret,
            sign_in_throttle: Arc::default(),
            read_marks: Arc::default(),
            frame_limits,
        })
    }
}

/// Leptos's options are built here from our settings rather than read from Cargo.toml at run time,
/// so one file (Leptos.toml) configures the running server.
fn leptos_options(settings: &Settings, bundle: &crate::server::assets::Bundle) -> LeptosOptions {
    let reload_port = std::env::var("LEPTOS_RELOAD_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3001);
    LeptosOptions::builder()
        .output_name(env!("CARGO_CRATE_NAME"))
        .site_root(settings.site_root.as_str())
        .site_addr(settings.addr)
        .reload_port(reload_port)
        .hash_files(bundle.hashed)
        .build()
}

pub fn router(state: AppState) -> Router {
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
        .route("/api/upload", axum::routing::post(crate::server::uploads::upload))
        .route("/files/{id}", get(crate::server::uploads::serve))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            usize::try_from(state.settings.limits.max_upload_bytes).unwrap_or(usize::MAX).saturating_add(1 << 20),
        ));
    let not_found = leptos_axum::render_app_to_stream_with_context(provide_state.clone(), render_shell.clone());
    let http = Router::new()
        .route("/healthz", get(healthz))
        .route("/api/bot/messages", axum::routing::post(crate::server::bot_api::post_message))
        .route("/api/announce", axum::routing::post(crate::server::bot_api::announce))
        .route("/api/export", get(crate::server::export::export_room))
        .leptos_routes_with_context(&state, generate_route_list(App), provide_state, render_shell)
        .fallback_service(crate::server::assets::site(&state.leptos_options, not_found.into_service()))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(crate::server::guard::MAX_BODY_BYTES))
        .merge(files)
        .layer(axum::middleware::from_fn(crate::server::assets::cache_policy))
        // Everything but the websocket: negotiated brotli or gzip for pages, JSON and streamed
        // exports; the static files arrive precompressed (see `assets`) and pass through.
        .layer(tower_http::compression::CompressionLayer::new());
    Router::new()
        .route("/ws", get(crate::server::ws::upgrade))
        .merge(http)
        .layer(axum::middleware::from_fn(crate::server::guard::same_site_only))
        .layer(axum::middleware::from_fn(crate::server::guard::security_headers))
        .layer(axum::middleware::from_fn(without_stale_reactive_owner))
        .with_state(state)
}

/// Gives the page being rendered the nonce that `guard::security_headers` put in its policy.
fn provide_page_nonce() {
    let nonce = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<crate::server::guard::PageNonce>().cloned());
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

/// For load balancers and start-up scripts: 200 when the database answers, 503 when it does not.
async fn healthz(State(store): State<Store>) -> (StatusCode, Json<serde_json::Value>) {
    match store.last_id().await {
        Ok(_) => (StatusCode::OK, Json(serde_json::json!({ "status": "ok" }))),
        Err(error) => {
            tracing::error!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "unavailable" })))
        }
    }
}

/// A bound, ready server; `run` serves until the shutdown future completes.
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    pub async fn bind(settings: Settings) -> Result<Self, StartError> {
        let addr = settings.addr;
        let listener = TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })?;
        let state = AppState::open(settings).await?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.state.settings.addr)
    }

    /// Serves until `stop` resolves, then stops accepting, sends every socket a close frame, and
    /// finishes queued database writes before returning.
    pub async fn run(self, stop: impl Future<Output = ()> + Send + 'static) -> Result<(), StartError> {
        let Self { listener, state } = self;
        let shutdown = state.shutdown.clone();
        let tracker = state.tracker.clone();
        let store = state.store.clone();
        tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                tokio::select! {
                    () = stop => shutdown.cancel(),
                    () = shutdown.cancelled() => {}
                }
            }
        });
        tokio::spawn(sweep_idle(Arc::clone(&state.hub), state.settings.limits.idle_after_secs, shutdown.clone()));
        let read_marks = tokio::spawn(store_read_marks(state.clone()));
        // Chat frames are small and latency matters more than packet count.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let served = axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .await;
        shutdown.cancel();
        tracker.close();
        if tokio::time::timeout(CLOSE_GRACE, tracker.wait()).await.is_err() {
            tracing::warn!("some websockets did not close in time");
        }
        // Its last flush runs after the sockets closed, so no read mark reported before exit is lost.
        let _ = read_marks.await;
        store.shutdown().await;
        served.map_err(StartError::Serve)
    }
}

/// Marks inactive users idle, checking four times per idle period, until shutdown.
async fn sweep_idle(hub: Arc<Hub>, idle_after_secs: u64, shutdown: CancellationToken) {
    let idle_after = Duration::from_secs(idle_after_secs);
    let mut every = tokio::time::interval((idle_after / 4).max(Duration::from_millis(250)));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => hub.sweep_idle(idle_after),
        }
    }
}

/// How often collected read marks are written.
const READ_MARKS_EVERY: Duration = Duration::from_millis(250);

/// Writes collected read marks every `READ_MARKS_EVERY`, and once more after shutdown has closed
/// every socket.
async fn store_read_marks(state: AppState) {
    let mut every = tokio::time::interval(READ_MARKS_EVERY);
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => break,
            _ = every.tick() => crate::server::rooms::flush_read_marks(&state).await,
        }
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, state.tracker.wait()).await;
    crate::server::rooms::flush_read_marks(&state).await;
}

/// Resolves on Ctrl-C or SIGTERM.
async fn termination() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: closing sockets and finishing writes");
}

/// The `natter` binary: serve, or run an admin command.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(&cli) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("natter: {error}");
            return ExitCode::from(2);
        }
    };
    let outcome = match &cli.command {
        None | Some(Command::Serve) => return serve(settings).await,
        Some(Command::Admin { nickname }) => crate::server::cli::make_admin(&settings, nickname)
            .await
            .map(|account| format!("{} is now an admin.", account.nickname)),
        Some(Command::Bot { action: BotCommand::Create { name } }) => {
            crate::server::cli::create_bot(&settings, name).await.map(|(bot, token)| {
                format!(
                    "Created bot {} (user {}). Its token, shown only now:\n\n{token}\n\n\
                     Connect to /ws with the header `Authorization: Bearer <token>`; see docs/protocol.md.",
                    bot.nickname, bot.id
                )
            })
        }
        Some(Command::Load(args)) => {
            crate::server::load::run(args.clone(), settings.addr).await.map_err(Into::into).map(|report| {
                // Humans read the first lines; scripts read the last one.
                format!("{}\n{report}", serde_json::to_string_pretty(&report).unwrap_or_default())
            })
        }
        Some(Command::Backup { path }) => crate::server::cli::backup(&settings, path)
            .await
            .map(|bytes| format!("Backed up {} to {} ({bytes} bytes).", settings.db.display(), path.display())),
        Some(Command::Announce { room, user, text }) => {
            let to = crate::server::cli::AnnounceTo::from_flags(room.as_deref(), user.as_deref());
            crate::server::cli::announce(&settings, to, text).await.map(|id| format!("Announced (message {id})."))
        }
    };
    match outcome {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("natter: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> ExitCode {
    init_logging(&settings.log);
    // Every websocket is a file descriptor, and the usual soft limit (1,024) would turn the
    // thousand-and-first client away: take what the hard limit allows.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open-file limit"),
    }
    let db = settings.db.display().to_string();
    let server = match Server::bind(settings).await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(addr = %server.local_addr(), db, "Natter is serving on http://{}", server.local_addr());
    match server.run(termination()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(default_filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

/// The state inside a server function (provided as context by `router`).
pub fn app_state() -> Result<AppState, crate::error::AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| crate::error::AppError::internal("server function", &"AppState missing from context"))
}

/// The signed-in account and its session hash, from the cookie (or bearer token) of the request a
/// server function is answering.
pub async fn current_session(
    state: &AppState,
) -> Result<Option<(crate::protocol::Account, Vec<u8>)>, crate::error::AppError> {
    let Some(parts) = leptos::prelude::use_context::<axum::http::request::Parts>() else { return Ok(None) };
    let Some(token) = crate::server::identity::token_from_headers(&parts.headers) else { return Ok(None) };
    let session = state.secret.token_hash(&token);
    let account = state
        .store
        .session_account(session.clone())
        .await
        .map_err(|error| crate::error::AppError::internal("session", &error))?;
    Ok(account.map(|account| (account, session)))
}

/// The reader's time zone as the page's first script reports it (the `tz` cookie, minutes east of
/// UTC), so the server draws day separators where the reader's browser will; UTC when unknown.
pub fn reader_zone_minutes() -> i32 {
    const WIDEST: i32 = 14 * 60;
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| crate::server::identity::cookie(&parts.headers, crate::time_format::ZONE_COOKIE))
        .and_then(|value| value.parse::<i32>().ok())
        .map_or(0, |minutes| minutes.clamp(-WIDEST, WIDEST))
}

/// The address the current request came from (the proxy's, behind a reverse proxy).
pub fn client_address() -> Option<std::net::IpAddr> {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
    parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|info| info.0.ip())
}

/// Who is making a request to `/ws` or the bot API: a same-site browser with a session cookie, or a
/// program with a bearer token. Refusals are ready responses: 403 for a foreign Origin, 401 for a
/// missing, unknown, expired or banned credential.
pub async fn authenticate(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<(crate::protocol::Account, Vec<u8>), axum::response::Response> {
    use crate::server::bot_api::json_refusal;
    if !crate::server::identity::same_origin(headers) {
        return Err(json_refusal(StatusCode::FORBIDDEN, "requests from other sites are refused"));
    }
    let Some(token) = crate::server::identity::token_from_headers(headers) else {
        return Err(json_refusal(StatusCode::UNAUTHORIZED, "sign in first: no session cookie or bearer token"));
    };
    let session = state.secret.token_hash(&token);
    match state.store.session_account(session.clone()).await {
        Ok(Some(account)) => Ok((account, session)),
        Ok(None) => Err(json_refusal(StatusCode::UNAUTHORIZED, "the session or token is not valid")),
        Err(error) => {
            let failure = crate::error::AppError::internal("sign-in", &error);
            Err(json_refusal(StatusCode::INTERNAL_SERVER_ERROR, &failure.to_string()))
        }
    }
}

/// Whether the current request came over https (for the cookie's Secure flag).
pub fn request_is_https() -> bool {
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .is_some_and(|parts| crate::server::identity::is_https(&parts.headers))
}

/// A session about to be stored: the token goes to the browser, its hash to the database.
pub struct NewSession {
    token: String,
    pub hash: Vec<u8>,
    pub expires_at: i64,
}

impl NewSession {
    pub fn issue(state: &AppState) -> Result<Self, crate::error::AppError> {
        use crate::server::identity;
        let token = identity::new_token().map_err(|error| crate::error::AppError::internal("new session", &error))?;
        let expires_at = crate::server::db::now_millis() + identity::SESSION_DAYS * 24 * 3600 * 1000;
        Ok(Self { hash: state.secret.token_hash(&token), token, expires_at })
    }

    /// Gives the browser its cookie; call once the session is stored.
    pub fn send_cookie(self) {
        set_cookie(crate::server::identity::session_cookie(&self.token, request_is_https()));
    }
}

/// The state and the signed-in account for a server function that needs one (401 otherwise).
pub async fn signed_in() -> Result<(AppState, crate::protocol::Account), crate::error::AppError> {
    let state = app_state()?;
    let (account, _) = current_session(&state).await?.ok_or_else(sign_in_first)?;
    Ok((state, account))
}

pub fn sign_in_first() -> crate::error::AppError {
    crate::protocol::Rejection::new(crate::protocol::ErrorCode::Unauthenticated, "Sign in first.").into()
}

/// After a server function succeeds, a plain HTML form post (before the page has hydrated, or
/// without JavaScript) goes on to `path`; the hydrated page navigates by itself.
pub fn redirect_forms_to(path: &str) {
    let is_form = leptos::prelude::use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(axum::http::header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
    });
    if is_form {
        leptos_axum::redirect(path);
    }
}

/// Adds a Set-Cookie header to a server function's response.
pub fn set_cookie(value: axum::http::HeaderValue) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(axum::http::header::SET_COOKIE, value);
    }
}

/// Runs a server function body and gives its error the right HTTP status (400 for a refusal,
/// 500 for a failure) instead of the framework's blanket 500.
pub async fn respond<T>(
    body: impl Future<Output = Result<T, crate::error::AppError>>,
) -> Result<T, crate::error::AppError> {
    let result = body.await;
    if let Err(error) = &result {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(error.status());
        }
    }
    result
}
