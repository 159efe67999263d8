//! Bad input, authentication, limits, negotiation and the operational routes.

use crate::conformance::encode;
use crate::support::{CURATOR_TOKEN, TOKEN, TestServer, send};
use std::io::Write;

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn count(server: &TestServer) -> usize {
    server.store.len().expect("count")
}

fn update(server: &TestServer, auth: Option<&str>, text: &str) -> crate::support::Reply {
    let mut headers = vec![("Content-Type", "application/sparql-update")];
    let auth = auth.map(bearer);
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    send(&server.agent, "POST", &server.url("/sparql"), &headers, Some(text.as_bytes().to_vec()))
}

/// 60 nodes all linked to each other: a five-step chain over it has 60^6 answers, hours of work,
/// and every step reads the store, where evaluation checks for cancellation.
fn load_dense_graph(server: &TestServer) {
    let data: String = (0..60)
        .flat_map(|i| (0..60).map(move |j| format!("<http://e/{i}> <http://e/p> <http://e/{j}> .\n")))
        .collect();
    server.store.oxigraph().load_from_slice(oxigraph::io::RdfFormat::NTriples, data.as_bytes()).unwrap();
}

const INSERT: &str = "INSERT DATA { <http://e/s> <http://e/p> <http://e/o> }";

#[test]
fn writes_need_an_admin_token() {
    let server = TestServer::start();
    let reply = update(&server, None, INSERT);
    assert_eq!(reply.status, 401);
    assert!(reply.headers.get("www-authenticate").is_some());
    assert_eq!(update(&server, Some("not-the-token-at-all-000"), INSERT).status, 401);
    assert_eq!(update(&server, Some(CURATOR_TOKEN), INSERT).status, 403);
    let put = send(
        &server.agent,
        "PUT",
        &server.url("/store?default"),
        &[("Content-Type", "text/turtle")],
        Some(b"<a> <b> <c> .".to_vec()),
    );
    assert_eq!(put.status, 401);
    let delete = send(&server.agent, "DELETE", &server.url("/store?default"), &[], None);
    assert_eq!(delete.status, 401);
    assert_eq!(count(&server), 0, "refused writes must change nothing");
    assert_eq!(update(&server, Some(TOKEN), INSERT).status, 204);
    assert_eq!(count(&server), 1);
}

#[test]
fn read_only_refuses_every_write() {
    let server = TestServer::start_with(|c| c.server.read_only = true);
    assert_eq!(update(&server, Some(TOKEN), INSERT).status, 403);
    let auth = bearer(TOKEN);
    let put = send(
        &server.agent,
        "PUT",
        &server.url("/store?default"),
        &[("Content-Type", "text/turtle"), ("Authorization", &auth)],
        Some(b"<a> <b> <c> .".to_vec()),
    );
    assert_eq!(put.status, 403);
    let query =
        send(&server.agent, "GET", &server.url(&format!("/sparql?query={}", encode("ASK {}"))), &[], None);
    assert_eq!(query.status, 200, "reads stay open");
    assert_eq!(count(&server), 0);
}

#[test]
fn malformed_query_is_located() {
    let server = TestServer::start();
    let reply = send(
        &server.agent,
        "POST",
        &server.url("/sparql"),
        &[("Content-Type", "application/sparql-query")],
        Some(b"SELECT * WHERE {\n  ?s ?p \n}".to_vec()),
    );
    assert_eq!(reply.status, 400);
    let text = reply.text();
    assert!(text.starts_with("SPARQL syntax error") && text.contains("3:"), "{text}");
    let reply = update(&server, Some(TOKEN), "INSERT DATA { <a> <b> }");
    assert_eq!(reply.status, 400);
    assert_eq!(count(&server), 0);
}

#[test]
fn wrong_content_types_are_refused() {
    let server = TestServer::start();
    let reply = send(
        &server.agent,
        "POST",
        &server.url("/sparql"),
        &[("Content-Type", "text/plain")],
        Some(b"ASK {}".to_vec()),
    );
    assert_eq!(reply.status, 415);
    let auth = bearer(TOKEN);
    let reply = send(
        &server.agent,
        "PUT",
        &server.url("/store?default"),
        &[("Content-Type", "image/png"), ("Authorization", &auth)],
        Some(b"<a> <b> <c> .".to_vec()),
    );
    assert_eq!(reply.status, 415);
    let reply = send(
        &server.agent,
        "GET",
        &server.url(&format!("/sparql?query={}", encode("SELECT * {}"))),
        &[("Accept", "image/png")],
        None,
    );
    assert_eq!(reply.status, 406);
    let reply = send(
        &server.agent,
        "GET",
        &server.url(&format!("/sparql?query={}", encode("ASK {}"))),
        &[("Accept", "text/turtle")],
        None,
    );
    assert_eq!(reply.status, 406, "a boolean has no Turtle form");
    assert_eq!(count(&server), 0);
}

#[test]
fn oversized_bodies_are_refused() {
    let server = TestServer::start_with(|c| {
        c.server.max_request_bytes = 1000;
        c.server.max_upload_bytes = 100_000;
    });
    let big_query = format!("ASK {{}} #{}", "x".repeat(2000));
    let reply = send(
        &server.agent,
        "POST",
        &server.url("/sparql"),
        &[("Content-Type", "application/sparql-query")],
        Some(big_query.into_bytes()),
    );
    assert_eq!(reply.status, 413);
    let auth = bearer(TOKEN);
    let triples: String = (0..5000).map(|i| format!("<http://e/{i}> <http://e/p> \"{i}\" .\n")).collect();
    let reply = send(
        &server.agent,
        "POST",
        &server.url("/store?default"),
        &[("Content-Type", "application/n-triples"), ("Authorization", &auth)],
        Some(triples.into_bytes()),
    );
    assert_eq!(reply.status, 413);
    assert_eq!(count(&server), 0, "a refused upload loads nothing");
}

#[test]
fn malformed_uploads_load_nothing() {
    let server = TestServer::start();
    let auth = bearer(TOKEN);
    let put = |body: Vec<u8>, headers: &[(&str, &str)]| {
        let mut all = vec![("Authorization", auth.as_str())];
        all.extend_from_slice(headers);
        send(&server.agent, "PUT", &server.url("/store?graph=http%3A%2F%2Fe%2Fg"), &all, Some(body))
    };
    assert_eq!(
        put(b"<http://e/a> <http://e/b> <http://e/c> .".to_vec(), &[("Content-Type", "text/turtle")]).status,
        201
    );
    // Small uploads: one transaction, the old graph survives a bad replacement.
    let reply = put(
        b"<http://e/a> <http://e/b> <http://e/d> .\n<http://e/a> <http://e/b> .".to_vec(),
        &[("Content-Type", "text/turtle")],
    );
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("upload:2:"), "{}", reply.text());
    assert_eq!(count(&server), 1);
    // Large uploads stream through the bulk loader, gzip-compressed here; an error at the end
    // still loads nothing.
    let mut big: String =
        (0..200_000).map(|i| format!("<http://e/s{i}> <http://e/p> \"value {i}\" .\n")).collect();
    big.push_str("<http://e/broken> <http://e/p> \"unterminated .\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(big.as_bytes()).unwrap();
    let reply = send(
        &server.agent,
        "POST",
        &server.url("/store?graph=http%3A%2F%2Fe%2Fg"),
        &[("Authorization", &auth), ("Content-Type", "application/n-triples"), ("Content-Encoding", "gzip")],
        Some(gz.finish().unwrap()),
    );
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("upload:200001:"), "{}", reply.text());
    assert_eq!(count(&server), 1);
    // The same upload without the broken line loads whole.
    let good: String =
        (0..200_000).map(|i| format!("<http://e/s{i}> <http://e/p> \"value {i}\" .\n")).collect();
    let reply = send(
        &server.agent,
        "POST",
        &server.url("/store?graph=http%3A%2F%2Fe%2Fg"),
        &[("Authorization", &auth), ("Content-Type", "application/n-triples")],
        Some(good.into_bytes()),
    );
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert_eq!(count(&server), 200_001);
    // A large PUT replaces the graph.
    let replacement: String = (0..150_000).map(|i| format!("<http://e/r{i}> <http://e/p> {i} .\n")).collect();
    let reply = put(replacement.into_bytes(), &[("Content-Type", "text/turtle")]);
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert_eq!(count(&server), 150_000);
}

#[test]
fn timeout_gives_503_and_stops_the_query() {
    let server = TestServer::start_with(|c| c.sparql.timeout_secs = 1);
    load_dense_graph(&server);
    let query = "SELECT (COUNT(*) AS ?n) { ?a <http://e/p> ?b . ?b <http://e/p> ?c . ?c <http://e/p> ?d . ?d <http://e/p> ?e . ?e <http://e/p> ?f }";
    let reply = send(
        &server.agent,
        "POST",
        &server.url("/sparql"),
        &[("Content-Type", "application/sparql-query")],
        Some(query.as_bytes().to_vec()),
    );
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert!(reply.text().contains("limit"), "{}", reply.text());
    let metrics = send(&server.agent, "GET", &server.url("/metrics"), &[], None).text();
    assert!(metrics.contains("sailkg_query_timeouts_total 1"), "{metrics}");
}

#[test]
fn results_in_every_format() {
    let server = TestServer::start();
    update(&server, Some(TOKEN), "INSERT DATA { <http://e/s> <http://e/p> \"v\"@en }");
    let select = format!("/sparql?query={}", encode("SELECT ?o { ?s ?p ?o }"));
    for (accept, expected_type, needle) in [
        ("application/sparql-results+json", "application/sparql-results+json", "\"xml:lang\":\"en\""),
        ("application/sparql-results+xml", "application/sparql-results+xml", "xml:lang=\"en\""),
        ("text/csv", "text/csv; charset=utf-8", "o\r\nv\r\n"),
        ("text/tab-separated-values", "text/tab-separated-values; charset=utf-8", "?o\n\"v\"@en"),
    ] {
        let reply = send(&server.agent, "GET", &server.url(&select), &[("Accept", accept)], None);
        assert_eq!(reply.status, 200);
        assert_eq!(reply.content_type, expected_type);
        assert!(reply.text().contains(needle), "{accept}: {}", reply.text());
    }
    let construct = format!("/sparql?query={}", encode("CONSTRUCT WHERE { ?s ?p ?o }"));
    for (accept, needle) in [
        ("text/turtle", "<http://e/s> <http://e/p> \"v\"@en"),
        ("application/n-triples", "<http://e/s> <http://e/p> \"v\"@en ."),
        ("application/rdf+xml", "rdf:RDF"),
        ("application/ld+json", "\"@language\""),
    ] {
        let reply = send(&server.agent, "GET", &server.url(&construct), &[("Accept", accept)], None);
        assert_eq!(reply.status, 200);
        assert!(reply.content_type.starts_with(accept), "{}", reply.content_type);
        assert!(reply.text().contains(needle), "{accept}: {}", reply.text());
    }
    let reply = send(&server.agent, "GET", &server.url(&format!("{select}&format=csv")), &[], None);
    assert!(reply.content_type.starts_with("text/csv"));
}

#[test]
fn large_results_stream() {
    let server = TestServer::start();
    let data: String = (0..50_000).map(|i| format!("<http://e/{i}> <http://e/p> \"{i}\" .\n")).collect();
    server.store.oxigraph().load_from_slice(oxigraph::io::RdfFormat::NTriples, data.as_bytes()).unwrap();
    let reply = send(
        &server.agent,
        "GET",
        &server.url(&format!("/sparql?query={}", encode("SELECT * { ?s ?p ?o }"))),
        &[("Accept", "text/csv")],
        None,
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text().lines().count(), 50_001);
    let reply = send(
        &server.agent,
        "GET",
        &server.url("/store?default"),
        &[("Accept", "application/n-triples")],
        None,
    );
    assert_eq!(reply.text().lines().count(), 50_000);
}

#[test]
fn row_limit_refuses_oversized_results() {
    let server = TestServer::start_with(|c| c.sparql.max_result_rows = 10);
    let reply = send(
        &server.agent,
        "GET",
        &server
            .url(&format!("/sparql?query={}", encode("SELECT ?x { VALUES ?x { 1 2 3 4 5 6 7 8 9 10 11 } }"))),
        &[],
        None,
    );
    assert_eq!(reply.status, 422);
    assert!(reply.text().contains("max_result_rows"));
}

#[test]
fn operational_routes() {
    let server = TestServer::start();
    let health = send(&server.agent, "GET", &server.url("/health"), &[], None);
    assert_eq!(health.status, 200);
    assert!(health.text().contains("\"status\":\"ok\""));
    let description = send(&server.agent, "GET", &server.url("/sparql"), &[("Accept", "text/turtle")], None);
    assert_eq!(description.status, 200);
    let text = description.text();
    assert!(text.contains("sparql-service-description#Service") || text.contains("sd:Service"), "{text}");
    assert!(text.contains("SPARQL11Update"));
    let page = send(&server.agent, "GET", &server.url("/"), &[], None);
    assert!(page.text().contains("<title>SAIL-KG</title>"));
    let metrics = send(&server.agent, "GET", &server.url("/metrics"), &[], None).text();
    assert!(
        metrics.contains("sailkg_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("sailkg_store_size_bytes"));
    assert_eq!(send(&server.agent, "PATCH", &server.url("/sparql"), &[], None).status, 405);
    let head = send(&server.agent, "HEAD", &server.url("/store?graph=http%3A%2F%2Fnone"), &[], None);
    assert_eq!(head.status, 404);
}

#[test]
fn cors_is_closed_unless_configured() {
    let closed = TestServer::start();
    let reply =
        send(&closed.agent, "GET", &closed.url("/health"), &[("Origin", "http://evil.example")], None);
    assert!(reply.headers.get("access-control-allow-origin").is_none());
    let open = TestServer::start_with(|c| c.server.cors_origins = vec!["http://app.example".into()]);
    let reply = send(&open.agent, "GET", &open.url("/health"), &[("Origin", "http://app.example")], None);
    assert_eq!(
        reply.headers.get("access-control-allow-origin").and_then(|v| v.to_str().ok()),
        Some("http://app.example")
    );
    let preflight = send(
        &open.agent,
        "OPTIONS",
        &open.url("/sparql"),
        &[("Origin", "http://app.example"), ("Access-Control-Request-Method", "POST")],
        None,
    );
    assert_eq!(preflight.status, 204);
    let reply = send(&open.agent, "GET", &open.url("/health"), &[("Origin", "http://evil.example")], None);
    assert!(reply.headers.get("access-control-allow-origin").is_none());
}

#[test]
fn client_disconnect_stops_the_query() {
    let server = TestServer::start_with(|c| c.sparql.timeout_secs = 3600);
    load_dense_graph(&server);
    let running = || {
        let metrics = send(&server.agent, "GET", &server.url("/metrics"), &[], None).text();
        metrics.lines().find_map(|l| l.strip_prefix("sailkg_queries_running ")).unwrap_or("").to_owned()
    };
    // A client that gives up after half a second, long before the query could end.
    let impatient: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_millis(500)))
        .build()
        .into();
    let query = "SELECT (COUNT(*) AS ?n) { ?a <http://e/p> ?b . ?b <http://e/p> ?c . ?c <http://e/p> ?d . ?d <http://e/p> ?e . ?e <http://e/p> ?f }";
    let result =
        impatient.post(&server.url("/sparql")).header("Content-Type", "application/sparql-query").send(query);
    assert!(result.is_err(), "the client should have timed out");
    // The server notices the closed connection and cancels the evaluation; poll for it rather
    // than asserting a time.
    let mut polls = 0;
    while running() != "0" {
        polls += 1;
        assert!(polls < 600, "the query kept running after its client left");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
