//! A real server on a loopback port over a temporary RocksDB store, and an HTTP client.

use sailkg_core::{Config, Role, TokenConfig};
use sailkg_store::Store;
use std::path::PathBuf;
use std::time::Duration;

pub const TOKEN: &str = "test-admin-token-0123456789";
pub const CURATOR_TOKEN: &str = "test-curator-token-0123456789";

/// The shared test corpora: `SAILKG_SHARED`, or `../shared` beside the repository.
pub fn shared() -> PathBuf {
    match std::env::var_os("SAILKG_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

pub struct TestServer {
    pub url: String,
    /// Where the PostgreSQL wire protocol listens, when configured.
    pub pg_addr: Option<std::net::SocketAddr>,
    pub store: Store,
    pub agent: ureq::Agent,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    pub fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config { data_dir: dir.path().to_owned(), ..Config::default() };
        config.server.bind = "127.0.0.1:0".parse().expect("address");
        config.server.workers = 2;
        config.auth.tokens = vec![
            TokenConfig { name: "admin".into(), token: TOKEN.into(), role: Role::Admin },
            TokenConfig { name: "curator".into(), token: CURATOR_TOKEN.into(), role: Role::Curator },
        ];
        configure(&mut config);
        let store = Store::open(dir.path(), config.load.clone()).expect("open store");
        let server_store = store.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let running = sailkg_server::start(config, server_store).expect("bind");
                tx.send((running.addrs[0], running.pg_addr, running.handle.clone())).expect("send");
                let _ = running.server.await;
            });
        });
        let (addr, pg_addr, handle) = rx.recv().expect("server started");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .allow_non_standard_methods(true)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Self { url: format!("http://{addr}"), pg_addr, store, agent, handle, thread: Some(thread), _dir: dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // The stop command is sent when `stop` is called; the returned future only waits for it.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A response read whole.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: ureq::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = result.expect("HTTP exchange");
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let headers = response.headers().clone();
    let body = response.body_mut().with_config().limit(1 << 30).read_to_vec().unwrap_or_default();
    Reply { status, content_type, headers, body }
}

/// Sends a request built from parts.
pub fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Reply {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    match body {
        Some(body) => reply(agent.run(builder.body(body).expect("request"))),
        None => reply(agent.run(builder.body(()).expect("request"))),
    }
}
