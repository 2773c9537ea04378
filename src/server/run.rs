//! Starting and stopping: the `natter` binary's entry (serve or an admin command), a bound
//! [`Server`] that `main` and the integration tests both run, background sweeps, and a graceful
//! shutdown that closes every socket and finishes queued writes.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use clap::Parser;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::server::config::{BotCommand, Cli, Command, Settings};
use crate::server::hub::Hub;
use crate::server::router::router;
use crate::server::state::{AppState, StartError};

/// How long shutdown waits for open websockets to take their close frames.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

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
    // Without a PostgreSQL URL's password.
    let db = settings.store().to_string();
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
