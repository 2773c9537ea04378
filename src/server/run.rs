//! Starting and stopping: the `natter` binary's entry (serve or an admin command), a bound
//! [`Server`] that `main` and the integration tests both run, background sweeps, and a graceful
//! stop: an optional drain for load balancers (`drain_secs`), then a shutdown that closes every
//! socket and finishes queued writes.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
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
use crate::server::store::{Store, PRESENCE_HEARTBEAT};

/// How long shutdown waits for open websockets to take their close frames.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// A bound, ready server; `run` serves until it is asked to stop.
pub struct Server {
    listener: TcpListener,
    state: AppState,
    stop: StopHandle,
}

/// Asks a server to stop, as SIGTERM and Ctrl-C do. The first request starts the drain (with
/// `drain_secs` set, `/healthz` answers 503 `draining` for that long while everything else goes on,
/// so a load balancer's health check sends new clients elsewhere) and the shutdown follows it; any
/// later request cuts the drain short. Cheap to clone; every clone is the same handle.
#[derive(Clone)]
pub struct StopHandle {
    draining: CancellationToken,
    shutdown: CancellationToken,
    requests: Arc<AtomicUsize>,
}

impl StopHandle {
    pub fn stop(&self) {
        // Counted, not read from the tokens: two signals at once are still two requests.
        if self.requests.fetch_add(1, Ordering::SeqCst) == 0 {
            self.draining.cancel();
        } else {
            self.shutdown.cancel();
        }
    }
}

impl Server {
    pub async fn bind(settings: Settings) -> Result<Self, StartError> {
        let addr = settings.addr;
        let listener = TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })?;
        let state = AppState::open(settings).await?;
        let stop =
            StopHandle { draining: state.draining.clone(), shutdown: state.shutdown.clone(), requests: Arc::default() };
        Ok(Self { listener, state, stop })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.state.settings.addr)
    }

    /// What stops this server once it runs: the same path as SIGTERM.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Serves until asked to stop (`stop` resolving counts as one [`StopHandle::stop`]), drains for
    /// `drain_secs`, then stops accepting, sends every socket a close frame, and finishes queued
    /// database writes before returning.
    pub async fn run(self, stop: impl Future<Output = ()> + Send + 'static) -> Result<(), StartError> {
        let Self { listener, state, stop: handle } = self;
        let shutdown = state.shutdown.clone();
        let tracker = state.tracker.clone();
        let store = state.store.clone();
        tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                tokio::select! {
                    () = stop => handle.stop(),
                    () = shutdown.cancelled() => {}
                }
            }
        });
        let drain = Duration::from_secs(state.settings.drain_secs);
        tokio::spawn(drain_then_shut_down(state.draining.clone(), shutdown.clone(), drain));
        tokio::spawn(sweep_idle(Arc::clone(&state.hub), state.settings.limits.idle_after_secs, shutdown.clone()));
        tokio::spawn(share_presence(Arc::clone(&state.hub), Arc::clone(&state.store), shutdown.clone()));
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

/// Once a stop is asked for, waits out the drain (unless another request or the server ends it
/// first), then starts the shutdown.
async fn drain_then_shut_down(draining: CancellationToken, shutdown: CancellationToken, drain: Duration) {
    tokio::select! {
        () = draining.cancelled() => {}
        () = shutdown.cancelled() => return,
    }
    if !drain.is_zero() {
        tracing::info!(
            seconds = drain.as_secs(),
            "draining: /healthz answers 503 so the load balancer sends new clients elsewhere; signal again to stop now"
        );
        tokio::select! {
            () = tokio::time::sleep(drain) => {}
            () = shutdown.cancelled() => {}
        }
    }
    tracing::info!("shutting down: closing sockets and finishing writes");
    shutdown.cancel();
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

/// Tells the other Natters on the database who is online here: at once when someone comes, goes
/// or changes idleness, and every heartbeat anyway, until shutdown (when the store tells them
/// this Natter's users are gone).
async fn share_presence(hub: Arc<Hub>, store: Arc<dyn Store>, shutdown: CancellationToken) {
    let mut heartbeat = tokio::time::interval(PRESENCE_HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = heartbeat.tick() => {}
            () = hub.presence_changed() => {}
        }
        match store.share_presence(hub.here()).await {
            Ok(()) => failing = false,
            // Once per outage: the heartbeat keeps trying every two seconds.
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "cannot tell the other servers who is online here");
            }
            Err(_) => {}
        }
        // Arrivals and departures in a burst (a node's clients coming back after a restart) are
        // told together: the whole row is rewritten and re-read each time.
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(PRESENCE_COALESCE) => {}
        }
    }
}

/// The least time between two presence rows this node writes.
const PRESENCE_COALESCE: Duration = Duration::from_millis(250);

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

/// SIGTERM, listened for from now on: a signal that arrives before the server runs waits here
/// instead of killing the process the default way (no drain, no clean exit).
#[cfg(unix)]
type Terminate = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Terminate = ();

fn listen_for_sigterm() -> Terminate {
    #[cfg(unix)]
    return tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|error| tracing::warn!(%error, "cannot listen for SIGTERM"))
        .ok();
}

/// Passes every Ctrl-C and SIGTERM on to `stop`: the first starts the drain, the next cuts it
/// short. Never resolves; the server's shutdown drops it.
#[cfg_attr(not(unix), allow(unused_mut, unused_variables))]
async fn forward_signals(stop: StopHandle, mut terminate: Terminate) {
    let mut ctrl_c_works = true;
    loop {
        #[cfg(unix)]
        let sigterm = async {
            match terminate.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let sigterm = std::future::pending::<()>();
        tokio::select! {
            heard = tokio::signal::ctrl_c(), if ctrl_c_works => {
                if let Err(error) = heard {
                    // Listening again would fail again at once: go on with SIGTERM alone.
                    tracing::warn!(%error, "cannot listen for Ctrl-C");
                    ctrl_c_works = false;
                    continue;
                }
            }
            () = sigterm => {}
        }
        stop.stop();
    }
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
        Some(Command::MoveTo { url }) => {
            let mut progress = |step| eprintln!("{}", crate::server::cli::progress_line(&step));
            crate::server::cli::move_to(&settings, url, &mut progress)
                .await
                .map(|moved| crate::server::cli::moved_report(&settings, url, &moved))
        }
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
    let terminate = listen_for_sigterm();
    let server = match Server::bind(settings).await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(addr = %server.local_addr(), db, "Natter is serving on http://{}", server.local_addr());
    let signals = forward_signals(server.stop_handle(), terminate);
    match server.run(signals).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Long enough for a loaded machine; only waited for when something is broken.
    const PATIENCE: Duration = Duration::from_secs(10);

    fn handle() -> StopHandle {
        StopHandle { draining: CancellationToken::new(), shutdown: CancellationToken::new(), requests: Arc::default() }
    }

    fn drain_for(stop: &StopHandle, drain: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(drain_then_shut_down(stop.draining.clone(), stop.shutdown.clone(), drain))
    }

    #[tokio::test]
    async fn without_a_drain_the_first_stop_request_shuts_down() {
        let stop = handle();
        let drain = drain_for(&stop, Duration::ZERO);
        stop.stop();
        tokio::time::timeout(PATIENCE, stop.shutdown.cancelled()).await.expect("shut down");
        assert!(stop.draining.is_cancelled());
        drain.await.expect("the drain task ends");
    }

    #[tokio::test]
    async fn the_first_stop_request_drains_and_a_second_cuts_the_drain_short() {
        let stop = handle();
        let drain = drain_for(&stop, Duration::from_secs(3600));
        stop.stop();
        assert!(stop.draining.is_cancelled(), "/healthz says draining at once");
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!stop.shutdown.is_cancelled(), "still serving during the drain");
        stop.clone().stop();
        tokio::time::timeout(PATIENCE, stop.shutdown.cancelled()).await.expect("shut down");
        drain.await.expect("the drain task ends");
    }

    #[tokio::test]
    async fn a_server_shut_down_before_any_stop_request_never_drains() {
        let stop = handle();
        let drain = drain_for(&stop, Duration::from_secs(3600));
        stop.shutdown.cancel();
        tokio::time::timeout(PATIENCE, drain).await.expect("the drain task ends").expect("no panic");
        assert!(!stop.draining.is_cancelled());
    }
}
