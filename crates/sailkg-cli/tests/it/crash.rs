//! Crash safety: SIGKILL the server in the middle of a bulk load and of an update, reopen the
//! store, and find all or nothing of the operation.

use crate::{TOKEN, sailkg, shared};
use sailkg_store::Store;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A `sailkg serve` process with the admin token, killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub(crate) fn start(data: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = sailkg(data)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("SAILKG_ADMIN_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start server");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while ureq::get(&format!("{url}/health")).call().is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, url }
    }

    /// SIGKILL: no destructor, no flush, no graceful shutdown.
    fn kill(self) {
        drop(self);
    }
}

fn count(data: &Path, query: &str) -> usize {
    let store =
        Store::open(data, sailkg_core::LoadConfig::default()).expect("the store reopens after a crash");
    let budget = store.budget(Duration::from_secs(60));
    let results = store.query(&sailkg_store::QueryRequest { query, ..Default::default() }, &budget).unwrap();
    let mut out = Vec::new();
    sailkg_store::write_results(
        results,
        sailkg_store::ResultsFormat::Sparql(oxigraph::sparql::results::QueryResultsFormat::Csv),
        oxigraph::io::RdfFormat::NTriples,
        &mut out,
        10,
        &budget,
    )
    .unwrap();
    String::from_utf8(out).unwrap().lines().nth(1).unwrap().trim().parse().unwrap()
}

/// Waits until the server has worked on the request for a while, then kills it.
fn kill_during(server: Server, send: impl FnOnce(String) + Send + 'static, after: Duration) {
    let url = server.url.clone();
    let request = std::thread::spawn(move || send(url));
    std::thread::sleep(after);
    server.kill();
    let _ = request.join();
}

#[test]
fn killed_bulk_load_leaves_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let upload = std::fs::read(shared().join("bench/lubm/lubm1.nt.gz")).unwrap();
    for delay in [200, 1000] {
        std::fs::remove_dir_all(&data).ok();
        let server = Server::start(&data);
        let body = upload.clone();
        kill_during(
            server,
            move |url| {
                let _ = ureq::post(&format!("{url}/store?graph=urn%3Ax%3Alubm"))
                    .header("Authorization", &format!("Bearer {TOKEN}"))
                    .header("Content-Type", "application/n-triples")
                    .header("Content-Encoding", "gzip")
                    .send(&body[..]);
            },
            Duration::from_millis(delay),
        );
        let n = count(&data, "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }");
        assert!(n == 0 || n == 100_573, "after a kill at {delay} ms the store holds {n} triples");
        let leftovers = std::fs::read_dir(data.join("store"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("bulk-"))
            .count();
        assert_eq!(leftovers, 0, "abandoned bulk files are cleaned on open");
    }
}

#[test]
fn killed_update_leaves_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let output =
        crate::run(&data, &["load", "--quiet", shared().join("bench/lubm/lubm1.nt.gz").to_str().unwrap()]);
    assert!(output.status.success());
    for delay in [300, 1500] {
        let server = Server::start(&data);
        kill_during(
            server,
            |url| {
                let _ = ureq::post(&format!("{url}/update"))
                    .header("Authorization", &format!("Bearer {TOKEN}"))
                    .header("Content-Type", "application/sparql-update")
                    .send("INSERT { GRAPH <urn:x:copy> { ?s ?p ?o } } WHERE { ?s ?p ?o }");
            },
            Duration::from_millis(delay),
        );
        let n = count(&data, "SELECT (COUNT(*) AS ?n) { GRAPH <urn:x:copy> { ?s ?p ?o } }");
        assert!(n == 0 || n == 100_573, "after a kill at {delay} ms the copy holds {n} triples");
        crate::run(&data, &["update", "DROP SILENT GRAPH <urn:x:copy>"]);
    }
}
