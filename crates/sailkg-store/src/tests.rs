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

#[test]
fn shacl_engine_validates_the_targets_it_gathers() {
    let (_dir, store) = open();
    let load = |graph: &str, text: &str| {
        let graph = GraphName::NamedNode(NamedNode::new(graph).unwrap());
        store.load_small(vec![input("t.ttl", RdfFormat::Turtle, text)], &graph, false).unwrap();
    };
    load(
        sailkg_core::vocab::GRAPH_ONTOLOGY,
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
         <http://e/Storm> rdfs:subClassOf <http://e/Event> .",
    );
    load(
        "urn:sailkg:graph:source/events/1",
        "@prefix e: <http://e/> .
         e:s1 a e:Storm ; e:speed 30 ; e:name \"Ana\" ; e:station e:st1 ; e:where [ e:lat 95 ] .
         e:s2 a e:Storm ; e:speed 61 ; e:station e:st2 .
         e:q1 a e:Quake ; e:speed 5 ; e:name \"Q\" .
         e:st1 a e:Station .
         e:st2 a e:Buoy .
         e:x e:observedBy e:st1 .",
    );
    let shapes = "@prefix sh: <http://www.w3.org/ns/shacl#> .
        @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        @prefix e: <http://e/> .
        e:EventShape a sh:NodeShape ; sh:targetClass e:Event ;
            sh:property [ sh:path e:speed ; sh:maxInclusive 50 ; sh:datatype xsd:integer ] ;
            sh:property [ sh:path e:name ; sh:minCount 1 ] ;
            sh:property [ sh:path e:station ; sh:class e:Station ] ;
            sh:property [ sh:path e:where ; sh:node e:Place ] .
        e:Place a sh:NodeShape ; sh:property [ sh:path e:lat ; sh:maxInclusive 90 ] .
        e:StationShape a sh:NodeShape ; sh:targetObjectsOf e:station ;
            sh:property [ sh:path [ sh:inversePath e:observedBy ] ; sh:minCount 1 ] .";
    load(sailkg_core::vocab::GRAPH_SHAPES, shapes);
    let run = |scope: Option<&shacl::Scope>, limits: &shacl::Limits| {
        shacl::validate(
            &store,
            &shacl::shapes_graph(&store).unwrap(),
            &shacl::hierarchy(&store).unwrap(),
            scope,
            limits,
        )
        .unwrap()
    };
    let report = run(None, &shacl::Limits::default());
    assert!(!report.conforms);
    let found: Vec<(String, String)> =
        report.findings.iter().map(|f| (f.focus.replace("http://e/", ""), f.constraint())).collect();
    // Storms are events through the hierarchy; the quake is not an event.
    assert!(found.contains(&("s2".into(), "maxInclusive".into())), "{found:?}");
    assert!(found.contains(&("s2".into(), "minCount".into())), "{found:?}");
    assert!(found.contains(&("s2".into(), "class".into())), "a buoy is no station: {found:?}");
    assert!(found.contains(&("s1".into(), "node".into())), "latitude 95 through a blank node: {found:?}");
    assert!(found.contains(&("st2".into(), "minCount".into())), "nothing observed by st2: {found:?}");
    assert!(!found.iter().any(|(f, _)| f == "q1" || f == "st1"), "{found:?}");
    assert_eq!(found.len(), 5, "{found:?}");
    assert_eq!(report.focus_nodes, 4, "s1, s2, st1, st2");
    assert!(!report.truncated);
    let s2 = report.findings.iter().find(|f| f.constraint() == "maxInclusive").unwrap();
    assert_eq!((s2.path.as_str(), s2.value.as_str()), ("http://e/speed", "61"));

    // A scope gathers only its shapes' targets.
    let scope: shacl::Scope = [NamedNode::new("http://e/StationShape").unwrap().into()].into_iter().collect();
    let scoped = run(Some(&scope), &shacl::Limits::default());
    assert_eq!(scoped.focus_nodes, 2, "{scoped:?}");
    // A limit cuts the gathering short and says so.
    let cut = run(None, &shacl::Limits { focus_nodes: 1, ..shacl::Limits::default() });
    assert!(cut.truncated && cut.focus_nodes == 1, "{cut:?}");
    let cut = run(None, &shacl::Limits { triples: 3, ..shacl::Limits::default() });
    assert!(cut.truncated && cut.triples <= 4, "three statements and the hierarchy: {cut:?}");

    // A shapes graph the engine cannot compile is a located user error, not a panic.
    let (bad, sh) = (NamedNode::new("http://e/Bad").unwrap(), "http://www.w3.org/ns/shacl#");
    let triple = |p: &str, o: oxigraph::model::Term| {
        oxigraph::model::Triple::new(bad.clone(), NamedNode::new(format!("{sh}{p}")).unwrap(), o)
    };
    let broken = vec![
        triple("targetClass", NamedNode::new("http://e/Event").unwrap().into()),
        triple("path", oxigraph::model::Literal::new_simple_literal("speed").into()),
    ];
    let shapes_with_error: Vec<_> = shacl::shapes_graph(&store).unwrap().into_iter().chain(broken).collect();
    match shacl::validate(&store, &shapes_with_error, &[], None, &shacl::Limits::default()) {
        Err(e @ StoreError::Shacl(_)) => assert!(e.is_user_error(), "{e}"),
        other => panic!("{other:?}"),
    }
}
