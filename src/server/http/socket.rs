//! The websocket transport under `/ws`: our own upgrade (RFC 6455's opening handshake) so that the
//! connection's bytes stay ours once tungstenite is done with them, and a lingering close.
//!
//! Why not axum's `WebSocketUpgrade`: when the server closes a socket whose peer is still sending
//! (a bot writing a 2 MiB message before it reads anything), the kernel answers the unread bytes
//! with a TCP reset, and the reset discards the close frame we just sent: the client never learns
//! about code 1009 and resends the same message forever. The cure is the classic lingering close
//! (Apache's `lingering_close`): after the close frame, shut down our sending side and read and
//! discard what the peer still sends, a bounded amount for a bounded time, before closing. That
//! needs the raw connection under the websocket, which axum's socket does not give back.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

/// How much a closing connection reads and throws away at most, and for how long: enough for a
/// client to finish writing the oversized message that got it closed and to read our close frame.
const LINGER_BYTES: u64 = 8 << 20;
const LINGER_TIME: Duration = Duration::from_secs(2);

/// A server-side websocket over an upgraded HTTP/1.1 connection that lingers when dropped.
pub(crate) type Socket = WebSocketStream<Lingering<TokioIo<hyper::upgrade::Upgraded>>>;

/// The `/ws` request, checked: a GET asking to upgrade to websocket version 13 with a key.
pub(crate) struct Upgrade {
    key: HeaderValue,
    on_upgrade: hyper::upgrade::OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let refuse = |status, why: &str| crate::server::http::error::status_refusal(status, why);
        if parts.method != Method::GET {
            return Err(refuse(StatusCode::METHOD_NOT_ALLOWED, "a websocket opens with GET"));
        }
        if !header_has_token(&parts.headers, CONNECTION, "upgrade") || !header_is(&parts.headers, UPGRADE, "websocket")
        {
            return Err(refuse(StatusCode::UPGRADE_REQUIRED, "this address speaks websocket only"));
        }
        if !header_is(&parts.headers, SEC_WEBSOCKET_VERSION, "13") {
            return Err(refuse(StatusCode::BAD_REQUEST, "websocket version 13 is required"));
        }
        let key = parts
            .headers
            .get(SEC_WEBSOCKET_KEY)
            .cloned()
            .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "the Sec-WebSocket-Key header is missing"))?;
        let on_upgrade = parts
            .extensions
            .remove::<hyper::upgrade::OnUpgrade>()
            .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "this connection cannot be upgraded"))?;
        Ok(Self { key, on_upgrade })
    }
}

impl Upgrade {
    /// Answers 101 and runs `serve` with the socket once the client has switched protocols.
    pub(crate) fn on_upgrade<F, Fut>(self, config: WebSocketConfig, serve: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let accept = derive_accept_key(self.key.as_bytes());
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            let Ok(upgraded) = on_upgrade.await else { return };
            let io = Lingering { inner: Some(TokioIo::new(upgraded)) };
            serve(WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await).await;
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }
}

fn header_is(headers: &HeaderMap, name: axum::http::HeaderName, value: &str) -> bool {
    headers.get(name).is_some_and(|found| found.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

/// `Connection: keep-alive, Upgrade` names several tokens.
fn header_has_token(headers: &HeaderMap, name: axum::http::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.split(',').any(|part| part.trim().eq_ignore_ascii_case(token)))
}

/// The connection under a websocket. Reads and writes pass straight through; when the websocket is
/// dropped, the connection is handed to a task that shuts down our side and drains the peer's
/// (see the module's documentation) instead of being closed with unread bytes.
pub(crate) struct Lingering<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> {
    inner: Option<T>,
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Lingering<T> {
    fn io(&mut self) -> io::Result<&mut T> {
        self.inner.as_mut().ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Drop for Lingering<T> {
    fn drop(&mut self) {
        let Some(io) = self.inner.take() else { return };
        // Outside a runtime (a test dropping it late) the connection just closes.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(linger(io));
        }
    }
}

/// Shuts down our sending side (the peer reads our close frame, then end of stream), then reads and
/// discards until the peer closes too, or the bounds run out.
async fn linger<T: AsyncRead + AsyncWrite + Unpin>(mut io: T) {
    let drain = async {
        let _ = io.shutdown().await;
        let mut sink = tokio::io::sink();
        let _ = tokio::io::copy(&mut (&mut io).take(LINGER_BYTES), &mut sink).await;
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncRead for Lingering<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().io() {
            Ok(io) => Pin::new(io).poll_read(cx, buf),
            Err(error) => Poll::Ready(Err(error)),
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncWrite for Lingering<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut().io() {
            Ok(io) => Pin::new(io).poll_write(cx, buf),
            Err(error) => Poll::Ready(Err(error)),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().io() {
            Ok(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            Err(error) => Poll::Ready(Err(error)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.as_ref().is_some_and(AsyncWrite::is_write_vectored)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().io() {
            Ok(io) => Pin::new(io).poll_flush(cx),
            Err(error) => Poll::Ready(Err(error)),
        }
    }

    /// Not passed through: tungstenite shuts the connection down as soon as the close handshake is
    /// done, which would end the peer's sending before it has read our close frame. The lingering
    /// close shuts it down instead, in order.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().io() {
            Ok(io) => Pin::new(io).poll_flush(cx),
            Err(error) => Poll::Ready(Err(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.parse().unwrap(), HeaderValue::from_static(value))).collect()
    }

    #[test]
    fn connection_tokens_are_read_as_a_list_ignoring_case() {
        assert!(header_has_token(&headers(&[("connection", "keep-alive, Upgrade")]), CONNECTION, "upgrade"));
        assert!(!header_has_token(&headers(&[("connection", "keep-alive")]), CONNECTION, "upgrade"));
        assert!(!header_has_token(&headers(&[("connection", "upgraded")]), CONNECTION, "upgrade"));
    }

    #[tokio::test]
    async fn a_dropped_connection_drains_what_the_peer_still_sends_before_closing() {
        let (ours, mut theirs) = tokio::io::duplex(64 * 1024);
        let mut lingering = Lingering { inner: Some(ours) };
        lingering.write_all(b"close frame").await.unwrap();
        drop(lingering);
        // The peer is still writing a big message: all of it is taken, then it reads our last bytes
        // and sees the end of the stream, not a reset.
        theirs.write_all(&vec![7u8; 1 << 20]).await.unwrap();
        let mut received = Vec::new();
        theirs.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, b"close frame");
    }
}
