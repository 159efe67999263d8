//! Search over HTTP, kept in step with SPARQL updates.

use crate::support::{TOKEN, TestServer, send};
use serde_json::Value;
use std::time::{Duration, Instant};

fn search(server: &TestServer, query: &str) -> Value {
    let reply = send(&server.agent, "GET", &server.url(&format!("/search?{query}")), &[], None);
    assert_eq!(reply.status, 200, "{}", reply.text());
    serde_json::from_str(&reply.text()).unwrap()
}

fn update(server: &TestServer, text: &str) {
    let bearer = format!("Bearer {TOKEN}");
    let reply = send(
        &server.agent,
        "POST",
        &server.url("/update"),
        &[("content-type", "application/sparql-update"), ("authorization", &bearer)],
        Some(text.as_bytes().to_vec()),
    );
    assert_eq!(reply.status, 204, "{}", reply.text());
}

/// Waits for the indexer to catch up with a condition.
fn eventually(mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < Duration::from_secs(20), "the index did not catch up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn updates_become_searchable_and_deletions_are_never_served() {
    let server = TestServer::start();
    update(
        &server,
        r#"PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
INSERT DATA { GRAPH <urn:sailkg:graph:source/places/1> {
  <http://e/seoul> a <http://e/City> ; rdfs:label "Seoul"@en, "서울특별시"@ko ; rdfs:comment "Capital of Korea" .
  <http://e/busan> a <http://e/City> ; rdfs:label "Busan"@en, "부산광역시"@ko .
} }"#,
    );
    eventually(|| search(&server, "q=seoul")["total"].as_u64() == Some(1));
    let found = search(&server, "q=%EC%84%9C%EC%9A%B8&source=places");
    assert_eq!(found["hits"][0]["id"], "http://e/seoul");
    let facets = &search(&server, "q=")["facets"];
    assert!(facets["language"].as_array().unwrap().iter().any(|v| v[0] == "ko" && v[1] == 2), "{facets}");
    // The search service inside SPARQL, joined with a graph pattern.
    let query = "PREFIX sail: <urn:sailkg:vocab#> SELECT ?hit ?score WHERE { SERVICE <urn:sailkg:search> { ?hit sail:query \"capital\" ; sail:score ?score } GRAPH ?g { ?hit a <http://e/City> } }";
    let url = format!(
        "{}?query={}",
        server.url("/sparql"),
        form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
    );
    let reply = send(&server.agent, "GET", &url, &[("accept", "application/sparql-results+json")], None);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let bindings: Value = serde_json::from_str(&reply.text()).unwrap();
    assert_eq!(bindings["results"]["bindings"][0]["hit"]["value"], "http://e/seoul", "{bindings}");
    let suggest: Value = serde_json::from_str(
        &send(&server.agent, "GET", &server.url("/search/suggest?q=bus"), &[], None).text(),
    )
    .unwrap();
    assert_eq!(suggest["result"][0]["id"], "http://e/busan");
    // Deleted: never served, even before the indexer has run.
    update(&server, "DELETE WHERE { GRAPH ?g { <http://e/seoul> ?p ?o } }");
    assert_eq!(search(&server, "q=seoul")["hits"].as_array().unwrap().len(), 0);
    eventually(|| search(&server, "q=seoul")["total"].as_u64() == Some(0));
    // Broken syntax degrades instead of failing; bad parameters are 400.
    assert_eq!(search(&server, "q=busan%20AND%20(")["hits"][0]["id"], "http://e/busan");
    let reply = send(&server.agent, "GET", &server.url("/search?q=x&size=lots"), &[], None);
    assert_eq!(reply.status, 400);
}
