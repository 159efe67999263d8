//! The W3C Reconciliation Service API at /reconcile, as OpenRefine calls it.

use crate::support::{TestServer, send};
use oxigraph::io::RdfFormat;
use oxigraph::model::GraphName;
use serde_json::Value;

const DATA: &str = r#"
@prefix e: <http://e/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema: <http://schema.org/> .
e:Airport rdfs:label "Airport" .
e:ORD a e:Airport ; schema:name "Chicago O'Hare International" ; e:city "Chicago" .
e:MDW a e:Airport ; schema:name "Chicago Midway" ; e:city "Chicago" .
e:ORF a e:Airport ; schema:name "Norfolk International" ; e:city "Norfolk" .
e:PDX a e:Airport ; schema:name "Portland International" ; e:city "Portland" .
e:PWM a e:Airport ; schema:name "Portland International Jetport" ; e:city "Portland" .
e:chicago a e:City ; rdfs:label "Chicago" .
e:evil a e:City ; rdfs:label "<script>alert(1)</script> Town" .
"#;

fn server() -> TestServer {
    let server = TestServer::start();
    let input = sailkg_store::LoadInput {
        name: "data.ttl".into(),
        format: RdfFormat::Turtle,
        reader: Box::new(std::io::Cursor::new(DATA.as_bytes().to_vec())),
        base_iri: None,
    };
    server.store.load_small(vec![input], &GraphName::DefaultGraph, false).unwrap();
    server
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn manifest_queries_suggest_and_preview() {
    let server = server();
    let manifest = send(&server.agent, "GET", &server.url("/reconcile"), &[], None);
    assert_eq!(manifest.status, 200);
    let manifest = json(&manifest.text());
    assert_eq!(manifest["versions"][1], "0.2");
    assert!(manifest["defaultTypes"].as_array().unwrap().iter().any(|t| t["id"] == "http://e/Airport"));
    assert!(manifest["preview"]["url"].as_str().unwrap().contains("{{id}}"));

    let queries = r#"{"q0": {"query": "chicago o'hare intl", "type": "http://e/Airport", "limit": 3},
        "q1": {"query": "Portland International", "properties": [{"pid": "http://e/city", "v": "Portland"}]},
        "q2": {"query": "Nowhere At All"}}"#;
    let body: String =
        form_urlencoded::Serializer::new(String::new()).append_pair("queries", queries).finish();
    let reply = send(
        &server.agent,
        "POST",
        &server.url("/reconcile"),
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(body.into_bytes()),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let results = json(&reply.text());
    let q0 = &results["q0"]["result"];
    assert_eq!(q0[0]["id"], "http://e/ORD", "{results}");
    assert_eq!(q0[0]["type"][0]["name"], "Airport");
    assert!(q0.as_array().unwrap().len() <= 3);
    assert!(
        q0.as_array().unwrap().iter().all(|c| c["id"] != "http://e/chicago"),
        "the type constraint holds"
    );
    let q1 = &results["q1"]["result"];
    assert_eq!(q1[0]["id"], "http://e/PDX");
    assert_eq!(q1[0]["match"], true, "{q1}");
    assert_eq!(results["q2"]["result"].as_array().unwrap().len(), 0);

    // GET with JSONP, as browsers call it.
    let url = format!(
        "{}?callback=cb&queries={}",
        server.url("/reconcile"),
        form_urlencoded::byte_serialize(br#"{"q0":{"query":"Norfolk"}}"#).collect::<String>()
    );
    let reply = send(&server.agent, "GET", &url, &[], None);
    assert!(reply.content_type.starts_with("application/javascript"));
    assert!(reply.text().starts_with("cb(") && reply.text().contains("http://e/ORF"), "{}", reply.text());

    let suggest = send(&server.agent, "GET", &server.url("/reconcile/suggest/entity?prefix=chic"), &[], None);
    let names: Vec<String> = json(&suggest.text())["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.iter().any(|n| n == "Chicago Midway") && names.iter().any(|n| n == "Chicago"), "{names:?}");
    let types = send(&server.agent, "GET", &server.url("/reconcile/suggest/type?prefix=air"), &[], None);
    assert_eq!(json(&types.text())["result"][0]["id"], "http://e/Airport");

    let preview = send(&server.agent, "GET", &server.url("/reconcile/preview?id=http://e/evil"), &[], None);
    assert_eq!(preview.status, 200);
    assert!(preview.text().contains("&lt;script&gt;") && !preview.text().contains("<script>"));

    for bad in [
        "/reconcile?queries=nope",
        "/reconcile/preview?id=not%20an%20iri",
        "/reconcile/suggest/nothing?prefix=a",
    ] {
        let reply = send(&server.agent, "GET", &server.url(bad), &[], None);
        assert!(matches!(reply.status, 400 | 404), "{bad}: {}", reply.status);
    }
}

/// Data written through the server reaches the search index, and reconciliation then takes its
/// candidates from the index: a typo in the longest word, which the label scan cannot match,
/// still finds the entity.
#[test]
fn candidates_come_from_the_search_index_once_it_has_caught_up() {
    let server = TestServer::start();
    let authorization = format!("Bearer {}", crate::support::TOKEN);
    let reply = send(
        &server.agent,
        "PUT",
        &server.url("/store?default"),
        &[("content-type", "text/turtle"), ("authorization", authorization.as_str())],
        Some(DATA.as_bytes().to_vec()),
    );
    assert!(matches!(reply.status, 201 | 204), "{}: {}", reply.status, reply.text());
    let indexed = (0..200).any(|_| {
        let hits = send(&server.agent, "GET", &server.url("/search?q=Norfolk"), &[], None).text();
        hits.contains("http://e/ORF") || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            false
        }
    });
    assert!(indexed, "the index never caught up");
    let url = format!(
        "{}?queries={}",
        server.url("/reconcile"),
        form_urlencoded::byte_serialize(br#"{"q0":{"query":"Norfolk Internatonal"}}"#).collect::<String>()
    );
    let results = json(&send(&server.agent, "GET", &url, &[], None).text());
    assert_eq!(results["q0"]["result"][0]["id"], "http://e/ORF", "{results}");
}
