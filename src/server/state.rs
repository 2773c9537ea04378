//! `AppState`: everything a request handler, server function or socket may need, opened once at
//! start-up (the store, the hub, the secret, the limits and throttles, the bundle's file names).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::server::config::Settings;
use crate::server::hub::Hub;
use crate::server::identity::{Secret, SecretError};
use crate::server::store::{self, DbError, Store};

/// Everything a request handler, server function or socket may need; cheap to clone.
#[derive(Clone, FromRef)]
pub(crate) struct AppState {
    pub leptos_options: LeptosOptions,
    pub settings: Arc<Settings>,
    pub store: Arc<dyn Store>,
    pub hub: Arc<Hub>,
    /// Cancelled when the server starts shutting down; sockets close on it.
    pub shutdown: CancellationToken,
    /// Cancelled when a stop is asked for (SIGTERM): `/healthz` then answers `draining` until the
    /// shutdown, `drain_secs` later. (Not an extractor of its own: `shutdown` is the token type's.)
    #[from_ref(skip)]
    pub draining: CancellationToken,
    /// Counts open sockets so shutdown can wait for them.
    pub tracker: TaskTracker,
    pub secret: Secret,
    pub sign_in_throttle: Arc<crate::server::throttle::SignInThrottle>,
    pub read_marks: Arc<crate::server::rooms::ReadMarks>,
    pub frame_limits: Arc<crate::server::throttle::FrameLimits>,
    /// The browser bundle's file names for this build.
    pub bundle: Arc<crate::server::http::assets::Bundle>,
    /// What `GET /metrics` reports.
    pub metrics: Arc<crate::server::metrics::Metrics>,
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
    /// Opens the database and wires the store's events (every commit's changes) to the hub.
    pub(crate) async fn open(settings: Settings) -> Result<Self, StartError> {
        // Before the store, which reports how late other Natters' notifications arrive.
        let metrics = Arc::new(crate::server::metrics::Metrics::new());
        let hub = Arc::new(Hub::new(settings.limits.broadcast_buffer));
        let frame_limits = Arc::new(crate::server::throttle::FrameLimits::new(&settings.limits));
        let (publisher, limits) = (Arc::clone(&hub), Arc::clone(&frame_limits));
        let location = settings.store();
        let events: store::EventSink = Box::new(move |event| {
            if let store::StoreEvent::PostedElsewhere(authors) = event {
                limits.posted_elsewhere(authors);
            }
            publisher.apply(event);
        });
        let store = store::open_measured(&location, events, Some(Arc::clone(&metrics))).await?;
        let folder = settings.data_folder();
        let secret = tokio::task::spawn_blocking(move || Secret::load(&folder)).await.map_err(DbError::from)??;
        let bundle = crate::server::http::assets::Bundle::of_this_build(env!("CARGO_CRATE_NAME"));
        Ok(Self {
            leptos_options: leptos_options(&settings, &bundle),
            bundle: Arc::new(bundle),
            settings: Arc::new(settings),
            store,
            hub,
            shutdown: CancellationToken::new(),
            draining: CancellationToken::new(),
            tracker: TaskTracker::new(),
            secret,
            sign_in_throttle: Arc::default(),
            read_marks: Arc::default(),
            frame_limits,
            metrics,
        })
    }
}

/// Leptos's options are built here from our settings rather than read from Cargo.toml at run time,
/// so one file (Leptos.toml) configures the running server.
fn leptos_options(settings: &Settings, bundle: &crate::server::http::assets::Bundle) -> LeptosOptions {
    let reload_port = std::env::var("LEPTOS_RELOAD_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3001);
    LeptosOptions::builder()
        .output_name(env!("CARGO_CRATE_NAME"))
        .site_root(settings.site_root.as_str())
        .site_addr(settings.addr)
        .reload_port(reload_port)
        .hash_files(bundle.hashed)
        .build()
}
