//! The numbers an operator running Natter behind a load balancer watches, in one registry that
//! `AppState` owns and `GET /metrics` (`http::scrape`) encodes in the Prometheus text format: open
//! sockets, frames written, messages committed and how long commits take, catch-up pages, and
//! errors sent by code. Services and the socket task record through the methods here, so the
//! metric names and their help live in one place.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::protocol::ErrorCode;

/// Every name starts with this.
const PREFIX: &str = "natter";

/// Natter's metrics; shared through `AppState` as an `Arc`.
pub struct Metrics {
    registry: Registry,
    open_sockets: Gauge,
    frames_delivered: Counter,
    messages_committed: Counter,
    commit_seconds: Histogram,
    catch_up_pages: Counter,
    errors_sent: Family<ErrorLabels, Counter>,
    notify_lag_seconds: Histogram,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    code: String,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let open_sockets = Gauge::default();
        registry.register("websocket_connections", "Open websocket connections", open_sockets.clone());
        let frames_delivered = Counter::default();
        registry.register(
            "frames_delivered",
            "Frames written to websockets: live messages and events, acks, catch-up pages, errors",
            frames_delivered.clone(),
        );
        let messages_committed = Counter::default();
        registry.register(
            "messages_committed",
            "Messages committed to the database (a resend of a stored message is not counted again)",
            messages_committed.clone(),
        );
        // Group commits with synchronous=FULL take about a millisecond to tens of them; from 0.25 ms
        // to 8 s in doublings.
        let commit_seconds = Histogram::new(exponential_buckets(0.000_25, 2.0, 16));
        registry.register_with_unit(
            "message_commit",
            "Time from handing a message to the store until it was committed",
            Unit::Seconds,
            commit_seconds.clone(),
        );
        let catch_up_pages = Counter::default();
        registry.register(
            "catch_up_pages",
            "Pages of missed messages or changes sent to a socket catching up (hello with since or \
             changes_since, or a resync after falling behind)",
            catch_up_pages.clone(),
        );
        let errors_sent = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "errors_sent",
            "Refusals and failures sent to clients (error frames and HTTP error answers), by error code",
            errors_sent.clone(),
        );
        let notify_lag_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        registry.register_with_unit(
            "notify_lag",
            "Time from a commit on another node until this node heard of it",
            Unit::Seconds,
            notify_lag_seconds.clone(),
        );
        Self {
            registry,
            open_sockets,
            frames_delivered,
            messages_committed,
            commit_seconds,
            catch_up_pages,
            errors_sent,
            notify_lag_seconds,
        }
    }

    /// Counts a websocket as open until the returned guard is dropped, however its task ends.
    pub(crate) fn socket_opened(&self) -> OpenSocket {
        self.open_sockets.inc();
        OpenSocket(self.open_sockets.clone())
    }

    /// `frames` frames were written to one socket.
    pub(crate) fn frames_delivered(&self, frames: u64) {
        self.frames_delivered.inc_by(frames);
    }

    /// A new message was committed, `took` after it was handed to the store.
    pub(crate) fn message_committed(&self, took: Duration) {
        self.messages_committed.inc();
        self.commit_seconds.observe(took.as_secs_f64());
    }

    pub(crate) fn catch_up_page(&self) {
        self.catch_up_pages.inc();
    }

    /// An error with `code` went to a client, as an error frame or an HTTP answer.
    pub(crate) fn error_sent(&self, code: ErrorCode) {
        self.errors_sent.get_or_create(&ErrorLabels { code: code_label(code) }).inc();
    }

    /// Records how long after a commit on another node this node heard of it, in seconds
    /// (`natter_notify_lag_seconds`): the PostgreSQL store's LISTEN connection calls this for every
    /// notification (store/postgres/stream.rs). Empty with SQLite, which has no other nodes.
    pub fn record_notify_lag(&self, seconds: f64) {
        self.notify_lag_seconds.observe(seconds);
    }

    /// Everything in the Prometheus text format (version 0.0.4).
    pub(crate) fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The `Content-Type` of [`Metrics::encode`]'s text.
pub(crate) const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Keeps one socket counted in `natter_websocket_connections` while it lives.
pub(crate) struct OpenSocket(Gauge);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// An error code as the wire spells it (`rate_limited`), so a dashboard reads the same codes as
/// docs/protocol.md.
fn code_label(code: ErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{code:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, starting: &str) -> &'a str {
        text.lines().find(|line| line.starts_with(starting)).unwrap_or_else(|| panic!("no {starting:?} in\n{text}"))
    }

    #[test]
    fn everything_is_encoded_in_the_prometheus_text_format_under_natter_names() {
        let metrics = Metrics::new();
        let open = metrics.socket_opened();
        metrics.frames_delivered(3);
        metrics.message_committed(Duration::from_millis(2));
        metrics.catch_up_page();
        metrics.error_sent(ErrorCode::RateLimited);
        metrics.error_sent(ErrorCode::RateLimited);
        metrics.error_sent(ErrorCode::NotAMember);
        metrics.record_notify_lag(0.0015);
        let text = metrics.encode().unwrap();

        assert_eq!(line(&text, "# TYPE natter_websocket_connections "), "# TYPE natter_websocket_connections gauge");
        assert_eq!(line(&text, "natter_websocket_connections "), "natter_websocket_connections 1");
        assert_eq!(
            line(&text, "# TYPE natter_frames_delivered_total "),
            "# TYPE natter_frames_delivered_total counter"
        );
        assert_eq!(line(&text, "natter_frames_delivered_total "), "natter_frames_delivered_total 3");
        assert_eq!(line(&text, "natter_messages_committed_total "), "natter_messages_committed_total 1");
        assert_eq!(line(&text, "natter_catch_up_pages_total "), "natter_catch_up_pages_total 1");
        assert_eq!(
            line(&text, "natter_errors_sent_total{code=\"rate_limited\"}"),
            "natter_errors_sent_total{code=\"rate_limited\"} 2"
        );
        assert_eq!(
            line(&text, "natter_errors_sent_total{code=\"not_a_member\"}"),
            "natter_errors_sent_total{code=\"not_a_member\"} 1"
        );
        assert_eq!(
            line(&text, "# TYPE natter_message_commit_seconds "),
            "# TYPE natter_message_commit_seconds histogram"
        );
        assert_eq!(line(&text, "natter_message_commit_seconds_count"), "natter_message_commit_seconds_count 1");
        // 2 ms falls in the 4 ms bucket (and every larger one), not the 1 ms one.
        assert_eq!(
            line(&text, "natter_message_commit_seconds_bucket{le=\"0.001\"}"),
            "natter_message_commit_seconds_bucket{le=\"0.001\"} 0"
        );
        assert_eq!(
            line(&text, "natter_message_commit_seconds_bucket{le=\"+Inf\"}"),
            "natter_message_commit_seconds_bucket{le=\"+Inf\"} 1"
        );
        assert_eq!(
            line(&text, "natter_notify_lag_seconds_bucket{le=\"0.002\"}"),
            "natter_notify_lag_seconds_bucket{le=\"0.002\"} 1"
        );
        assert_eq!(line(&text, "natter_notify_lag_seconds_count"), "natter_notify_lag_seconds_count 1");
        assert!(!text.contains("# EOF"), "plain Prometheus text, not OpenMetrics");

        drop(open);
        assert_eq!(line(&metrics.encode().unwrap(), "natter_websocket_connections "), "natter_websocket_connections 0");
    }
}
