//! A real Natter server on an ephemeral port with a temp-file database, and protocol clients for it.
#![allow(dead_code)] // some helpers serve only tests that are compiled out or kept for new tests

pub mod postgres;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use natter::server::config::{Limits, Settings};
use natter::server::{Server, StopHandle};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Long enough for a loaded CI machine; tests only wait this long when something is broken.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addr: SocketAddr,
    pub db: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    signal: StopHandle,
}

impl TestServer {
    pub async fn start(db: &Path) -> Self {
        Self::start_with(db, relaxed_limits()).await
    }

    pub async fn start_with(db: &Path, limits: Limits) -> Self {
        let settings =
            Settings { addr: SocketAddr::from(([127, 0, 0, 1], 0)), db: db.to_owned(), limits, ..Settings::default() };
        Self::start_with_settings(settings).await
    }

    /// A server whose built site (static files) is the folder `site_root`.
    pub async fn start_with_site(db: &Path, site_root: &Path) -> Self {
        let settings = Settings {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            db: db.to_owned(),
            site_root: site_root.display().to_string(),
            limits: relaxed_limits(),
            ..Settings::default()
        };
        Self::start_with_settings(settings).await
    }

    pub async fn start_with_settings(settings: Settings) -> Self {
        let db = settings.db.clone();
        let db = db.as_path();
        let server = Server::bind(settings).await.expect("server starts");
        let addr = server.local_addr();
        let signal = server.stop_handle();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run(async move {
                    let _ = stopped.await;
                })
                .await
                .expect("server runs and stops cleanly");
        });
        Self { addr, db: db.to_owned(), stop: Some(stop), task: Some(task), signal }
    }

    /// What one SIGTERM does (the same `StopHandle::stop` the signal calls), without waiting: the
    /// first starts the drain (`drain_secs`), the next cuts it short.
    pub fn terminate(&self) {
        self.signal.stop();
    }

    /// Graceful shutdown, as on SIGTERM; returns once the server has finished.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(PATIENCE, task).await.expect("server stops in time").expect("server task");
        }
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = http(self.addr, "GET", path, None, "").await;
        (response.status, response.body)
    }

    /// Creates an account through the join server function; returns its session token.
    pub async fn register(&self, nickname: &str) -> String {
        register_at(self.addr, nickname).await
    }

    /// A server function call as the holder of `token` (or as a visitor): its status and JSON answer.
    /// GET arguments go in the path's query; POST arguments in `form`, urlencoded.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, form: &str) -> (u16, Value) {
        let response = http(self.addr, method, path, token, form).await;
        let body = serde_json::from_str(&response.body).unwrap_or_else(|_| {
            panic!("{method} {path} should answer JSON, got {}: {}", response.status, response.body)
        });
        (response.status, body)
    }

    pub async fn try_register(&self, nickname: &str) -> HttpResponse {
        http(self.addr, "POST", "/api/join", None, &format!("nickname={}", form_encode(nickname))).await
    }

    /// A signed-in client, before hello.
    pub async fn client(&self, token: &str) -> Client {
        Client::connect(self.addr, Some(token), None).await.expect("websocket connects")
    }

    /// Registers `nickname`, connects, says hello and reads the welcome.
    pub async fn join(&self, nickname: &str, since: Option<i64>) -> (Client, Value) {
        let token = self.register(nickname).await;
        self.join_as(&token, since).await
    }

    /// Connects with an existing session, says hello and reads the welcome.
    pub async fn join_as(&self, token: &str, since: Option<i64>) -> (Client, Value) {
        join_at(self.addr, token, since).await
    }
}

/// Creates an account through the join server function of the server at `addr` (in this process
/// or not); returns its session token.
pub async fn register_at(addr: SocketAddr, nickname: &str) -> String {
    let response = http(addr, "POST", "/api/join", None, &format!("nickname={}", form_encode(nickname))).await;
    assert_eq!(response.status, 200, "joining as {nickname}: {}", response.body);
    response.session_token().expect("join sets the session cookie")
}

/// Connects to the server at `addr` with an existing session, says hello and reads the welcome.
pub async fn join_at(addr: SocketAddr, token: &str, since: Option<i64>) -> (Client, Value) {
    let mut client = Client::connect(addr, Some(token), None).await.expect("websocket connects");
    let mut hello = json!({ "type": "hello" });
    if let Some(since) = since {
        hello["since"] = json!(since);
    }
    client.send(hello).await;
    let welcome = client.expect("welcome").await;
    (client, welcome)
}

/// Limits for tests that are not about limits: a short hello timeout, and rate limits out of the way
/// (every test client shares one address).
pub fn relaxed_limits() -> Limits {
    let plenty = 1_000_000;
    Limits {
        hello_timeout_secs: 1,
        messages_per_second: plenty,
        message_burst: plenty,
        address_messages_per_second: plenty,
        address_message_burst: plenty,
        frames_per_second: plenty,
        frame_burst: plenty,
        ..Limits::default()
    }
}

pub struct HttpResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl HttpResponse {
    pub fn session_token(&self) -> Option<String> {
        self.head
            .lines()
            .filter_map(|line| line.strip_prefix("set-cookie: ").or_else(|| line.strip_prefix("Set-Cookie: ")))
            .find_map(|cookie| cookie.strip_prefix("natter_session="))
            .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
    }
}

/// A JSON POST with a bearer token or session cookie, as a bot or script would send it.
pub async fn post_json(
    addr: SocketAddr,
    path: &str,
    bearer: Option<&str>,
    cookie: Option<&str>,
    body: &Value,
) -> HttpResponse {
    let bearer = bearer.map(|token| format!("Authorization: Bearer {token}\r\n")).unwrap_or_default();
    let cookie = cookie.map(|token| format!("Cookie: natter_session={token}\r\n")).unwrap_or_default();
    let body = body.to_string();
    let headers = format!("{bearer}{cookie}Content-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    exchange(addr, &format!("POST {path} HTTP/1.0\r\nHost: {addr}\r\n{headers}\r\n{body}")).await
}

/// The settings the admin commands would use against this server.
pub fn settings_for(server: &TestServer) -> Settings {
    Settings { addr: server.addr, db: server.db.clone(), ..Settings::default() }
}

/// One HTTP/1.0 request (so the body comes back unchunked), as a bot or curl would send it; a POST
/// carries `form` urlencoded.
pub async fn http(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, form: &str) -> HttpResponse {
    http_from(None, addr, method, path, token, form).await
}

/// [`http`] from a chosen loopback address (any of 127.0.0.0/8), as another machine would be seen.
pub async fn http_from(
    from: Option<std::net::IpAddr>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    form: &str,
) -> HttpResponse {
    let cookie = token.map(|token| format!("Cookie: natter_session={token}\r\n")).unwrap_or_default();
    let body_headers = if method == "POST" {
        format!("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n", form.len())
    } else {
        String::new()
    };
    let request =
        format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: */*\r\n{cookie}{body_headers}\r\n{form}");
    exchange_bytes_from(from, addr, request.as_bytes()).await.0
}

/// A GET with `Authorization: Bearer <token>`, as a bot reads history.
pub async fn get_bearer(addr: SocketAddr, path: &str, token: &str) -> HttpResponse {
    exchange(addr, &format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n")).await
}

/// Sends a raw request and reads the whole response.
pub async fn exchange(addr: SocketAddr, request: &str) -> HttpResponse {
    let (response, _) = exchange_bytes(addr, request.as_bytes()).await;
    response
}

/// POSTs `bytes` as the body (an upload), with the session cookie.
pub async fn post_bytes(addr: SocketAddr, path: &str, token: &str, bytes: &[u8]) -> HttpResponse {
    let mut request = format!(
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\nCookie: natter_session={token}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        bytes.len()
    )
    .into_bytes();
    request.extend_from_slice(bytes);
    exchange_bytes(addr, &request).await.0
}

/// A GET with the session cookie (or none), answering the response and the body's exact bytes.
pub async fn get_bytes(addr: SocketAddr, path: &str, token: Option<&str>) -> (HttpResponse, Vec<u8>) {
    let cookie = token.map(|token| format!("Cookie: natter_session={token}\r\n")).unwrap_or_default();
    exchange_bytes(addr, format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n{cookie}\r\n").as_bytes()).await
}

/// Sends a raw request from a chosen loopback address (any of 127.0.0.0/8) and reads the response.
pub async fn exchange_from(from: std::net::IpAddr, addr: SocketAddr, request: &str) -> HttpResponse {
    exchange_bytes_from(Some(from), addr, request.as_bytes()).await.0
}

async fn exchange_bytes(addr: SocketAddr, request: &[u8]) -> (HttpResponse, Vec<u8>) {
    exchange_bytes_from(None, addr, request).await
}

async fn exchange_bytes_from(
    from: Option<std::net::IpAddr>,
    addr: SocketAddr,
    request: &[u8],
) -> (HttpResponse, Vec<u8>) {
    let mut stream = connect_tcp(from, addr).await;
    // A server may answer (413) before reading the whole body and close: that is not a failure here.
    let _ = stream.write_all(request).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut response)).await.expect("response in time");
    let split = response.windows(4).position(|window| window == b"\r\n\r\n").map_or(response.len(), |at| at + 4);
    let raw_body = response[split..].to_vec();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("status line");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (HttpResponse { status, head: head.to_owned(), body: body.to_owned() }, raw_body)
}

/// A TCP connection to `addr`, from the loopback address `from` when given.
async fn connect_tcp(from: Option<std::net::IpAddr>, addr: SocketAddr) -> TcpStream {
    match from {
        None => TcpStream::connect(addr).await.expect("connect"),
        Some(from) => {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket.bind(SocketAddr::new(from, 0)).expect("bind a loopback source address");
            socket.connect(addr).await.expect("connect")
        }
    }
}

pub fn form_encode(text: &str) -> String {
    natter::text::url_encoding::percent_encode(text)
}

pub struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Opens `/ws` as a bot: with `Authorization: Bearer <token>`.
    pub async fn connect_bot(addr: SocketAddr, token: &str) -> Result<Self, u16> {
        Self::connect_with(addr, &[("authorization", format!("Bearer {token}"))]).await
    }

    /// Opens `/ws` with an optional session cookie and Origin; `Err` carries the refusal's HTTP status.
    pub async fn connect(addr: SocketAddr, token: Option<&str>, origin: Option<&str>) -> Result<Self, u16> {
        let mut headers = Vec::new();
        if let Some(token) = token {
            headers.push(("cookie", format!("natter_session={token}")));
        }
        if let Some(origin) = origin {
            headers.push(("origin", origin.to_owned()));
        }
        Self::connect_with(addr, &headers).await
    }

    async fn connect_with(addr: SocketAddr, headers: &[(&'static str, String)]) -> Result<Self, u16> {
        Self::connect_from(None, addr, headers).await
    }

    /// Opens `/ws` from the loopback address `from` (when given) with these headers, as a proxy
    /// would connect for a client; `Err` carries the refusal's HTTP status.
    pub async fn connect_from(
        from: Option<std::net::IpAddr>,
        addr: SocketAddr,
        headers: &[(&'static str, String)],
    ) -> Result<Self, u16> {
        let mut request = format!("ws://{addr}/ws").into_client_request().expect("request");
        for (name, value) in headers {
            request.headers_mut().append(*name, value.parse().expect("header"));
        }
        let tcp = connect_tcp(from, addr).await;
        match tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp)).await {
            Ok((socket, _)) => Ok(Self { socket }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(other) => panic!("websocket failed: {other}"),
        }
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_text(frame.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.socket.send(Message::text(text)).await.expect("send");
    }

    /// Writes one client frame byte by byte onto the connection, bypassing the websocket library
    /// (which would refuse to send invalid text), in `chunk`-sized writes: `opcode` 1 is text. The
    /// masking key is zero, so the payload goes as given. `Err` when the server reset the connection.
    pub async fn write_raw_frame(&mut self, opcode: u8, payload: &[u8], chunk: usize) -> std::io::Result<()> {
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            len if len < 126 => frame.push(0x80 | len as u8),
            len if len <= 0xFFFF => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(payload);
        let MaybeTlsStream::Plain(tcp) = self.socket.get_mut() else { unreachable!("tests speak plain ws") };
        for part in frame.chunks(chunk.max(1)) {
            tcp.write_all(part).await?;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }

    pub async fn send_message(&mut self, client_msg_id: &str, body: &str) {
        self.send(json!({ "type": "send", "client_msg_id": client_msg_id, "body": body })).await;
    }

    /// Sends a message to a room.
    pub async fn send_to(&mut self, room_id: i64, client_msg_id: &str, body: &str) {
        self.send(json!({ "type": "send", "room_id": room_id, "client_msg_id": client_msg_id, "body": body })).await;
    }

    /// Sends a message to a room and returns its ack.
    pub async fn post_to(&mut self, room_id: i64, client_msg_id: &str, body: &str) -> Value {
        self.send_to(room_id, client_msg_id, body).await;
        self.expect("ack").await
    }

    /// Every frame up to and including the first one `last` matches: what arrived before a sentinel.
    pub async fn frames_until(&mut self, last: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut frames = Vec::new();
        loop {
            let frame = self.next().await;
            let done = last(&frame);
            frames.push(frame);
            if done {
                return frames;
            }
        }
    }

    /// The next JSON frame, skipping pings.
    pub async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a frame in time")
                .expect("socket open")
                .expect("frame readable");
            match message {
                Message::Text(text) => return serde_json::from_str(text.as_str()).expect("frames are JSON"),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next JSON frame, or `None` once the server has closed the socket.
    pub async fn next_or_closed(&mut self) -> Option<Value> {
        loop {
            match tokio::time::timeout(PATIENCE, self.socket.next()).await.expect("a frame or a close in time") {
                Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(text.as_str()).expect("JSON")),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next frame of type `kind`, skipping others (presence chatter, the sender's own copies).
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Sends a message and returns its ack.
    pub async fn post(&mut self, client_msg_id: &str, body: &str) -> Value {
        self.send_message(client_msg_id, body).await;
        self.expect("ack").await
    }

    /// Waits for the server to close the socket and returns the close code.
    pub async fn closed(&mut self) -> Option<CloseCode> {
        self.closed_with_reason().await.map(|(code, _)| code)
    }

    /// Waits for the server to close the socket and returns the close code and reason.
    pub async fn closed_with_reason(&mut self) -> Option<(CloseCode, String)> {
        loop {
            match tokio::time::timeout(PATIENCE, self.socket.next()).await.expect("close in time") {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| (f.code, f.reason.to_string())),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Asserts nothing but pings arrives for a short while.
    pub async fn assert_quiet(&mut self) {
        if let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(Duration::from_millis(300), self.socket.next()).await
        {
            panic!("unexpected frame {text}");
        }
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

/// The error code of a refused server function call.
pub fn code(answer: &Value) -> &str {
    answer["Invalid"]["code"].as_str().unwrap_or_else(|| panic!("expected a refusal, got {answer}"))
}

/// Creates a room as the holder of `token` and returns its id.
pub async fn create_room(server: &TestServer, token: &str, name: &str, private: bool) -> i64 {
    let form = if private { format!("name={name}&private=on") } else { format!("name={name}") };
    let (status, room) = server.call("POST", "/api/create_room", Some(token), &form).await;
    assert_eq!(status, 200, "creating {name}: {room}");
    room["id"].as_i64().expect("a room id")
}

/// A server on a fresh database in a temp folder (kept as long as the returned folder lives).
pub async fn start() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(&dir.path().join("natter.db")).await;
    (dir, server)
}
