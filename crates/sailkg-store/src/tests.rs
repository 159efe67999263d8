use super::*;
use oxigraph::model::{GraphName, NamedNode};
use oxigraph::sparql::results::QueryResultsFormat;
use std::io::Cursor;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), sailkg_core::LoadConfig::default()).unwrap();
    (dir, store)
}

fn input(name: &str, format: RdfFormat, text: &str) -> LoadInput {
    LoadInput {
        name: name.into(),
        format,
        reader: Box::new(Cursor::new(text.as_bytes().to_vec())),
        base_iri: Some("http://example.com/".into()),
    }
}

fn select_csv(store: &Store, query: &str) -> String {
    csv(store, &QueryRequest { query, ..Default::default() })
}

fn csv(store: &Store, request: &QueryRequest<'_>) -> String {
    let budget = store.budget(std::time::Duration::from_secs(10));
    let results = store.query(request, &budget).unwrap();
    let mut out = Vec::new();
    write_results(
        results,
        ResultsFormat::Sparql(QueryResultsFormat::Csv),
        RdfFormat::NTriples,
        &mut out,
        1000,
        &budget,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn formats_are_told_by_extension() {
    assert_eq!(detect_format("a/b.nt.gz"), Some(RdfFormat::NTriples));
    assert_eq!(detect_format("x.TTL"), Some(RdfFormat::Turtle));
    assert_eq!(detect_format("x.owl"), Some(RdfFormat::RdfXml));
    assert_eq!(detect_format("x.trig"), Some(RdfFormat::TriG));
    assert!(matches!(detect_format("x.jsonld"), Some(RdfFormat::JsonLd { .. })));
    assert_eq!(detect_format("x.csv"), None);
}

#[test]
fn bulk_load_reports_and_targets_the_graph() {
    let (_dir, store) = open();
    let g = GraphName::from(NamedNode::new("http://example.com/g").unwrap());
    let report =
        store.bulk_load(vec![input("a.ttl", RdfFormat::Turtle, "<s> <p> <o1>, <o2> .")], &g, None).unwrap();
    assert_eq!(report.triples, 2);
    assert_eq!(
        select_csv(&store, "SELECT (COUNT(*) AS ?n) { GRAPH <http://example.com/g> { ?s ?p ?o } }"),
        "n\r\n2\r\n"
    );
}

#[test]
fn malformed_input_loads_nothing_and_is_located() {
    let (_dir, store) = open();
    let good = input("good.nt", RdfFormat::NTriples, "<http://a> <http://b> <http://c> .\n");
    let bad = input(
        "bad.nt",
        RdfFormat::NTriples,
        "<http://a> <http://b> <http://d> .\n<http://a> <http://b> \"unclosed .\n",
    );
    let err = store.bulk_load(vec![good, bad], &GraphName::DefaultGraph, None).unwrap_err();
    let StoreError::Parse { source_name, line, column, .. } = &err else { panic!("unexpected error {err}") };
    assert_eq!((source_name.as_str(), *line), ("bad.nt", 2));
    assert!(*column > 0);
    assert!(store.is_empty().unwrap(), "a failed load must leave nothing behind");
}

#[test]
fn small_load_replaces_atomically() {
    let (_dir, store) = open();
    let g = GraphName::from(NamedNode::new("http://example.com/g").unwrap());
    store.load_small(vec![input("a", RdfFormat::Turtle, "<s> <p> <o> .")], &g, false).unwrap();
    let err =
        store.load_small(vec![input("b", RdfFormat::Turtle, "<s> <p> <o2> . oops")], &g, true).unwrap_err();
    assert!(matches!(err, StoreError::Parse { line: 1, .. }), "{err}");
    assert_eq!(store.len().unwrap(), 1);
    store.load_small(vec![input("c", RdfFormat::Turtle, "<s> <p> <o3> .")], &g, true).unwrap();
    assert_eq!(select_csv(&store, "SELECT ?o { GRAPH ?g { ?s ?p ?o } }"), "o\r\nhttp://example.com/o3\r\n");
}

#[test]
fn timeout_stops_the_query() {
    let (_dir, store) = open();
    // A dense graph walked by a long chain of lookups: each step reads the store, where
    // evaluation checks for cancellation.
    let data: String = (0..60)
        .flat_map(|i| (0..60).map(move |j| format!("<http://e/{i}> <http://p> <http://e/{j}> .\n")))
        .collect();
    store.bulk_load(vec![input("d.nt", RdfFormat::NTriples, &data)], &GraphName::DefaultGraph, None).unwrap();
    let budget = store.budget(std::time::Duration::from_millis(200));
    let query = "SELECT (COUNT(*) AS ?n) { ?a <http://p> ?b . ?b <http://p> ?c . ?c <http://p> ?d . ?d <http://p> ?e . ?e <http://p> ?f }";
    let start = std::time::Instant::now();
    let err = store
        .query(&QueryRequest { query, ..Default::default() }, &budget)
        .and_then(|r| {
            write_results(r, ResultsFormat::Table, RdfFormat::NTriples, std::io::sink(), 10, &budget)
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Timeout(_)), "{err}");
    // 60^6 bindings would take hours; stopping at all shows the work itself was cancelled.
    assert!(start.elapsed() < std::time::Duration::from_secs(120));
}

#[test]
fn row_limit_is_an_error_not_a_silent_cut() {
    let (_dir, store) = open();
    let budget = store.budget(std::time::Duration::from_secs(10));
    let results = store
        .query(&QueryRequest { query: "SELECT ?x { VALUES ?x { 1 2 3 } }", ..Default::default() }, &budget)
        .unwrap();
    let err = write_results(
        results,
        ResultsFormat::Sparql(QueryResultsFormat::Json),
        RdfFormat::NTriples,
        std::io::sink(),
        2,
        &budget,
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::TooManyRows(2)));
}

#[test]
fn failed_update_changes_nothing() {
    let (_dir, store) = open();
    let budget = store.budget(std::time::Duration::from_secs(10));
    let update = "INSERT DATA { <http://a> <http://b> <http://c> } ; CREATE GRAPH <http://g> ; CREATE GRAPH <http://g>";
    let err = store.update(&UpdateRequest { update, ..Default::default() }, &budget).unwrap_err();
    assert!(err.is_user_error(), "{err}");
    assert!(store.is_empty().unwrap());
}

#[test]
fn protocol_dataset_overrides_from() {
    let (_dir, store) = open();
    store
        .load_small(
            vec![input("a", RdfFormat::TriG, "<a> <p> 1 . <g1> { <a> <p> 2 } <g2> { <a> <p> 3 }")],
            &GraphName::DefaultGraph,
            false,
        )
        .unwrap();
    let request = QueryRequest {
        query: "SELECT ?o FROM <http://example.com/g1> { ?s ?p ?o }",
        default_graphs: vec![NamedNode::new("http://example.com/g2").unwrap()],
        ..Default::default()
    };
    assert_eq!(csv(&store, &request), "o\r\n3\r\n");
    let union = QueryRequest {
        query: "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
        union_default_graph: true,
        ..Default::default()
    };
    assert_eq!(csv(&store, &union), "n\r\n3\r\n");
}

#[test]
fn backup_and_restore_round_trip() {
    let (dir, store) = open();
    store
        .load_small(vec![input("a", RdfFormat::Turtle, "<s> <p> <o> .")], &GraphName::DefaultGraph, false)
        .unwrap();
    let target = dir.path().join("backup-1");
    let manifest = store.backup(&target).unwrap();
    assert_eq!(manifest.quads, 1);
    assert!(store.backup(&target).is_err(), "backing up over a backup must fail");
    store
        .load_small(vec![input("b", RdfFormat::Turtle, "<s> <p> <o2> .")], &GraphName::DefaultGraph, false)
        .unwrap();
    let err = restore(&target, dir.path()).unwrap_err();
    assert!(err.to_string().contains("in use"), "{err}");
    drop(store);
    restore(&target, dir.path()).unwrap();
    let store = Store::open(dir.path(), sailkg_core::LoadConfig::default()).unwrap();
    assert_eq!(store.len().unwrap(), 1);
    assert!(restore(dir.path(), dir.path()).is_err(), "a folder without manifest is refused");
}
