use super::*;
use oxigraph::io::RdfFormat;
use oxigraph::model::{GraphName, NamedNode};
use sailkg_store::LoadInput;

const ENTITIES: &str = r#"
@prefix e: <http://e/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema: <http://schema.org/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
e:ORD a schema:Airport ; schema:name "Chicago O'Hare International" ; schema:description "The busiest airport of Chicago, Illinois." .
e:MDW a schema:Airport ; schema:name "Chicago Midway" .
e:ICN a schema:Airport ; rdfs:label "Incheon International Airport"@en, "인천국제공항"@ko ; skos:altLabel "Seoul Incheon" .
e:quake a schema:Event ; rdfs:label "지진 서울 근처"@ko ; rdfs:comment "A small earthquake near Seoul." .
"#;

const ONTOLOGY: &str = r#"
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
<http://schema.org/Airport> a owl:Class ; rdfs:label "Airport" ; rdfs:comment "An airport." .
"#;

fn load(store: &Store, graph: &str, text: &str) {
    let input = LoadInput {
        name: "test.ttl".into(),
        format: RdfFormat::Turtle,
        reader: Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        base_iri: None,
    };
    store.load_small(vec![input], &GraphName::NamedNode(NamedNode::new(graph).unwrap()), false).unwrap();
}

fn setup() -> (tempfile::TempDir, Store, SearchIndex) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), sailkg_core::LoadConfig::default()).unwrap();
    load(&store, "urn:sailkg:graph:source/airports/v1", ENTITIES);
    load(&store, vocab_ontology(), ONTOLOGY);
    let index = SearchIndex::open(&dir.path().join("index")).unwrap();
    let report = index.rebuild(&store).unwrap();
    assert_eq!(report.documents, 5);
    (dir, store, index)
}

fn vocab_ontology() -> &'static str {
    sailkg_core::vocab::GRAPH_ONTOLOGY
}

fn ids(results: &SearchResults) -> Vec<&str> {
    results.hits.iter().map(|h| h.id.as_str()).collect()
}

fn search(index: &SearchIndex, text: &str) -> SearchResults {
    index.search(&SearchQuery { text: text.into(), size: 10, ..Default::default() }).unwrap()
}

#[test]
fn finds_by_stem_language_typo_and_phrase() {
    let (_dir, _store, index) = setup();
    let airports = search(&index, "airports");
    assert!(
        ids(&airports).contains(&"http://e/ICN") && ids(&airports).contains(&"http://e/ORD"),
        "{airports:?}"
    );
    assert_eq!(ids(&search(&index, "공항")), ["http://e/ICN"]);
    assert_eq!(ids(&search(&index, "서울"))[0], "http://e/quake");
    assert_eq!(ids(&search(&index, "Chicgo")).len(), 2, "a typo still finds Chicago");
    assert_eq!(ids(&search(&index, "\"O'Hare International\"")), ["http://e/ORD"]);
    // Title matches rank above description matches.
    assert_eq!(ids(&search(&index, "chicago"))[..2].len(), 2);
    let hit = &search(&index, "busiest").hits[0];
    assert!(hit.highlight.contains("<b>busiest</b>"), "{hit:?}");
    assert_eq!(hit.source, "airports");
    // Broken syntax degrades to plain terms.
    assert!(!search(&index, "title:( chicago AND").hits.is_empty());
    assert!(search(&index, "\"unterminated").total <= 5);
}

#[test]
fn facets_filters_and_paging() {
    let (_dir, _store, index) = setup();
    let all = index.search(&SearchQuery { size: 2, ..Default::default() }).unwrap();
    assert_eq!(all.total, 5);
    assert_eq!(all.hits.len(), 2);
    let kinds: BTreeMap<&str, u64> = all.facets["kind"].iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(kinds.get("entity"), Some(&4));
    assert_eq!(kinds.get("class"), Some(&1));
    assert!(all.facets["language"].iter().any(|(l, n)| l == "ko" && *n == 2));
    let second = index.search(&SearchQuery { size: 2, page: 1, ..Default::default() }).unwrap();
    assert!(second.hits.iter().all(|h| !ids(&all).contains(&h.id.as_str())));
    let classes = index
        .search(&SearchQuery {
            text: "airport".into(),
            filters: vec![("kind".into(), "class".into())],
            size: 10,
            page: 0,
        })
        .unwrap();
    assert_eq!(ids(&classes), ["http://schema.org/Airport"]);
    let by_class = index
        .search(&SearchQuery {
            filters: vec![("class".into(), "http://schema.org/Airport".into())],
            size: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_class.total, 3);
}

#[test]
fn sync_replaces_a_graph_and_never_serves_deleted_entities() {
    let (_dir, store, index) = setup();
    let budget = store.budget(std::time::Duration::from_secs(10));
    store
        .update(
            &sailkg_store::UpdateRequest {
                update: "DELETE WHERE { GRAPH <urn:sailkg:graph:source/airports/v1> { <http://e/MDW> ?p ?o } }",
                ..Default::default()
            },
            &budget,
        )
        .unwrap();
    let report = index.sync(&store, &[Some("urn:sailkg:graph:source/airports/v1".into())]).unwrap();
    assert_eq!(report.documents, 3);
    assert_eq!(ids(&search(&index, "midway")), Vec::<&str>::new());
    assert_eq!(index.len(), 4);
    // Reopening finds the same index.
    drop(index);
    let index = SearchIndex::open(&_dir.path().join("index")).unwrap();
    assert_eq!(index.len(), 4);
}

#[test]
fn typeahead_completes_the_last_word() {
    let (_dir, _store, index) = setup();
    let hits = index.suggest("chic", 10).unwrap();
    let titles: Vec<&str> = hits.iter().map(|h| h.title.as_str()).collect();
    assert!(
        titles.contains(&"Chicago Midway") && titles.contains(&"Chicago O'Hare International"),
        "{titles:?}"
    );
    let hits = index.suggest("chicago mid", 10).unwrap();
    assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["http://e/MDW"]);
    assert!(index.suggest("인천국", 10).unwrap().iter().any(|h| h.id == "http://e/ICN"));
}

#[test]
fn updates_name_the_graphs_they_touch() {
    assert_eq!(
        graphs_touched(
            "INSERT DATA { GRAPH <http://g/1> { <http://a> <http://b> \"c\" } <http://a> <http://b> 1 }",
            None
        ),
        Some(vec![Some("http://g/1".to_owned()), None])
    );
    assert_eq!(
        graphs_touched("WITH <http://g/2> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", None),
        Some(vec![Some("http://g/2".to_owned())])
    );
    assert_eq!(
        graphs_touched("DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { GRAPH ?g { ?s ?p ?o } }", None),
        None
    );
    assert_eq!(graphs_touched("CLEAR ALL", None), None);
    assert_eq!(graphs_touched("DROP GRAPH <http://g/3>", None), Some(vec![Some("http://g/3".to_owned())]));
}

#[test]
fn sparql_joins_search_hits_with_graph_patterns() {
    let (_dir, store, index) = setup();
    store.register_service(
        NamedNode::new(SEARCH_SERVICE).unwrap(),
        sparql_service(std::sync::Arc::new(index)),
    );
    let query = r#"PREFIX sail: <urn:sailkg:vocab#>
SELECT ?hit ?score ?snippet WHERE {
  SERVICE <urn:sailkg:search> { ?hit sail:query "chicago" ; sail:score ?score ; sail:snippet ?snippet }
  GRAPH ?g { ?hit a <http://schema.org/Airport> }
} ORDER BY DESC(?score)"#;
    let budget = store.budget(std::time::Duration::from_secs(10));
    let oxigraph::sparql::QueryResults::Solutions(solutions) =
        store.query(&sailkg_store::QueryRequest { query, ..Default::default() }, &budget).unwrap()
    else {
        panic!("not solutions")
    };
    let hits: Vec<String> = solutions.map(|s| s.unwrap().get("hit").unwrap().to_string()).collect();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(hits.iter().all(|h| h == "<http://e/ORD>" || h == "<http://e/MDW>"));
    let bad = "SELECT * WHERE { SERVICE <urn:sailkg:search> { ?hit <urn:sailkg:vocab#nonsense> \"x\" } }";
    let error = store
        .query(&sailkg_store::QueryRequest { query: bad, ..Default::default() }, &budget)
        .and_then(|r| match r {
            oxigraph::sparql::QueryResults::Solutions(mut s) => {
                s.next().transpose().map_err(sailkg_store::StoreError::Query).map(|_| ())
            }
            _ => Ok(()),
        });
    assert!(error.unwrap_err().to_string().contains("nonsense"));
}
