//! `GET /metrics` for Prometheus, and who may read it. Metrics are for the operator, not the
//! public: they answer only requests that come straight from the scraper's machine (loopback, a
//! trusted proxy's address, or `server.metrics_allow`), and 404 to everyone else, as if there were
//! no such page. A request carrying `Forwarded` or `X-Forwarded-For` was relayed by a proxy and
//! gets 404 whoever relayed it: through a load balancer each scrape would reach any one node, so
//! Prometheus scrapes every node directly, and an outside request passed on by a proxy on the same
//! machine (which would come from loopback) never gets through.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, State};
use axum::http::header::{CONTENT_TYPE, FORWARDED};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::server::config::Settings;
use crate::server::http::forwarded::any_contains;
use crate::server::AppState;

/// `GET /metrics`: the Prometheus text format, or 404 for whoever may not read it.
pub(crate) async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !may_scrape(peer.ip(), &headers, &state.settings) {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    let text = state.metrics.encode().map_err(|error| AppError::internal("metrics", &error))?;
    Ok(([(CONTENT_TYPE, HeaderValue::from_static(crate::server::metrics::CONTENT_TYPE))], text).into_response())
}

/// Whether a request from the TCP peer `peer` may read the metrics (see the module's comment).
pub(crate) fn may_scrape(peer: IpAddr, headers: &HeaderMap, settings: &Settings) -> bool {
    let relayed = headers.contains_key(FORWARDED) || headers.contains_key("x-forwarded-for");
    let peer = peer.to_canonical();
    !relayed
        && (peer.is_loopback()
            || any_contains(&settings.trusted_proxies, peer)
            || any_contains(&settings.metrics_allow, peer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn settings(trusted_proxies: &[&str], metrics_allow: &[&str]) -> Settings {
        let ranges = |list: &[&str]| list.iter().map(|range| range.parse().unwrap()).collect();
        Settings {
            trusted_proxies: ranges(trusted_proxies),
            metrics_allow: ranges(metrics_allow),
            ..Settings::default()
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn loopback_trusted_proxies_and_listed_scrapers_may_read_the_metrics_and_nobody_else() {
        let settings = settings(&["10.0.0.1"], &["192.0.2.0/24"]);
        let direct = HeaderMap::new();
        for allowed in ["127.0.0.1", "::1", "10.0.0.1", "192.0.2.50", "::ffff:192.0.2.50"] {
            assert!(may_scrape(ip(allowed), &direct, &settings), "{allowed}");
        }
        for refused in ["10.0.0.2", "203.0.113.9", "2001:db8::1"] {
            assert!(!may_scrape(ip(refused), &direct, &settings), "{refused}");
        }
        assert!(!may_scrape(ip("203.0.113.9"), &direct, &Settings::default()), "by default, loopback only");
    }

    #[test]
    fn a_request_relayed_by_any_proxy_may_not_read_the_metrics() {
        let settings = settings(&["10.0.0.1"], &["192.0.2.0/24"]);
        for (name, value) in [("x-forwarded-for", "192.0.2.50"), ("forwarded", "for=127.0.0.1")] {
            let mut relayed = HeaderMap::new();
            relayed.insert(name, HeaderValue::from_static(value));
            for peer in ["127.0.0.1", "10.0.0.1", "192.0.2.50"] {
                assert!(!may_scrape(ip(peer), &relayed, &settings), "{peer} relaying with {name}: {value}");
            }
        }
    }
}
