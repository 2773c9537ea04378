//! The server wing (compiled only with `ssr`): state, router, run loop, the socket and hub, the
//! services and the store. `main` and the integration tests both start Natter
//! through [`Server::bind`], so tests exercise exactly what users run.

pub mod accounts;
pub mod cli;
pub mod config;
pub mod context;
pub mod files;
pub mod http;
pub mod hub;
pub mod identity;
// The benchmark load generator (`natter load`) ships in the binary but lives with the benchmarks:
// it measures the product and is not part of it.
#[path = "../../bench/load.rs"]
pub mod load;
pub mod messages;
pub mod metrics;
pub mod rooms;
pub mod router;
pub mod run;
pub mod search;
pub mod state;
pub mod store;
pub mod throttle;
pub mod ws;

pub use run::{main, Server, StopHandle};
pub(crate) use state::AppState;
pub use state::StartError;
