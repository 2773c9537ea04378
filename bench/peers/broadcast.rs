//! A storage-free broadcast server: the baseline Natter's fan-out is measured against (issue 5). It
//! stands in for axum's `examples/chat`: every message goes to everyone at once, nothing is stored,
//! nothing is checked, and a reader that falls behind is dropped. It speaks just enough of Natter's
//! frames for `natter load --protocol bare`: a `send` is answered with an `ack` to its sender and
//! broadcast as a `message` to every connection, the sender included.
//!
//!   cargo run --release --features ssr --example broadcast-peer -- 127.0.0.1:8201

use std::net::SocketAddr;

use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Frames a reader may be behind before it is dropped.
const BUFFER: usize = 4096;

#[derive(Deserialize)]
struct Send {
    client_msg_id: String,
    body: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = match std::env::args().nth(1) {
        Some(addr) => addr.parse().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
        None => SocketAddr::from(([127, 0, 0, 1], 8201)),
    };
    let listener = TcpListener::bind(addr).await?;
    eprintln!("broadcast peer listening on ws://{addr}/");
    let (everyone, _) = broadcast::channel::<Utf8Bytes>(BUFFER);
    loop {
        let (stream, _) = listener.accept().await?;
        let everyone = everyone.clone();
        tokio::spawn(serve(stream, everyone));
    }
}

async fn serve(stream: TcpStream, everyone: broadcast::Sender<Utf8Bytes>) {
    let _ = stream.set_nodelay(true);
    // The same small read buffer Natter uses: tungstenite zero-fills it before every read.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let Ok(socket) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else { return };
    let (mut sink, mut stream) = socket.split();
    let mut live = everyone.subscribe();
    loop {
        tokio::select! {
            incoming = stream.next() => {
                let Some(Ok(Message::Text(text))) = incoming else { return };
                let Ok(send) = serde_json::from_str::<Send>(text.as_str()) else { continue };
                // Written by hand so the type tag leads, as in Natter's frames.
                let (id, body) = (json_string(&send.client_msg_id), json_string(&send.body));
                let _ = everyone.send(format!(r#"{{"type":"message","message":{{"body":{body}}}}}"#).into());
                if sink.send(Message::text(format!(r#"{{"type":"ack","client_msg_id":{id}}}"#))).await.is_err() {
                    return;
                }
            }
            received = live.recv() => {
                // A lagging reader is simply dropped, as the axum example does.
                let Ok(first) = received else { return };
                if sink.feed(Message::Text(first)).await.is_err() {
                    return;
                }
                while let Ok(next) = live.try_recv() {
                    if sink.feed(Message::Text(next)).await.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
        }
    }
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}
