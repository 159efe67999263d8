//! LUBM(1): load through the Graph Store Protocol, run the 14 queries over HTTP, compare counts.

use crate::conformance::encode;
use crate::manifest::{Results, parse_results};
use crate::support::{TOKEN, TestServer, send, shared};
use oxigraph::sparql::results::QueryResultsFormat;

#[test]
fn lubm1_queries_return_the_expected_counts() {
    let server = TestServer::start();
    let dir = shared().join("bench/lubm");
    let data = std::fs::read(dir.join("lubm1.nt.gz")).expect("lubm1.nt.gz");
    let auth = format!("Bearer {TOKEN}");
    let reply = send(
        &server.agent,
        "POST",
        &server.url("/store?default"),
        &[("Authorization", &auth), ("Content-Type", "application/n-triples"), ("Content-Encoding", "gzip")],
        Some(data),
    );
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert_eq!(server.store.len().unwrap(), 100_573, "LUBM(1) distinct triples");
    let expected = std::fs::read_to_string(dir.join("expected-counts-lubm1.csv")).expect("expected counts");
    let mut header = Vec::new();
    let mut checked = 0;
    for (i, line) in expected.lines().enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if i == 0 {
            header = cells.iter().map(|c| c.to_string()).collect();
            continue;
        }
        let column = |name: &str| header.iter().position(|h| h == name).map(|i| cells[i]);
        let query_name = column("query").expect("query column");
        let count: usize = column("no_inference").expect("no_inference column").parse().expect("count");
        let text =
            std::fs::read_to_string(dir.join("queries").join(format!("{}.rq", query_name.to_lowercase())))
                .expect("query file");
        let reply = send(
            &server.agent,
            "GET",
            &server.url(&format!("/sparql?query={}", encode(&text))),
            &[("Accept", "application/sparql-results+json")],
            None,
        );
        assert_eq!(reply.status, 200, "{query_name}: {}", reply.text());
        let Results::Solutions(rows) = parse_results(&reply.body, QueryResultsFormat::Json).unwrap() else {
            panic!("{query_name} did not return solutions")
        };
        assert_eq!(rows.len(), count, "{query_name}");
        checked += 1;
    }
    assert_eq!(checked, 14);
}
