//! The ontology API for curation: trees with use in the data, one entity in full, typeahead.

use crate::support::{TestServer, send};
use oxigraph::io::RdfFormat;
use oxigraph::model::{GraphName, NamedNode};

const ONTOLOGY: &str = r#"
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix e: <http://e/> .
e:Event a owl:Class ; rdfs:label "event"@en, "사건"@ko .
e:Storm a owl:Class ; rdfs:subClassOf e:Event ; rdfs:label "storm"@en, "폭풍"@ko ;
    skos:definition "A strong wind with rain."@en .
e:Tempest a owl:Class ; owl:deprecated true ; dcterms:isReplacedBy e:Storm ; rdfs:label "tempest"@en .
e:windSpeed a owl:DatatypeProperty ; rdfs:domain e:Storm ; rdfs:range xsd:double ; rdfs:label "wind speed"@en .
e:Hazard a skos:Concept ; skos:prefLabel "hazard"@en .
e:Flood a skos:Concept ; skos:broader e:Hazard ; skos:prefLabel "flood"@en .
"#;

const SHAPES: &str = r#"
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix e: <http://e/> .
e:StormShape a sh:NodeShape ; sh:targetClass e:Storm ;
    sh:property [ sh:path e:windSpeed ; sh:minInclusive 0 ; sh:maxInclusive 120 ] .
"#;

const DATA: &str = r#"
@prefix e: <http://e/> .
e:s1 a e:Storm ; e:windSpeed 30.5 .
e:s2 a e:Storm ; e:windSpeed 61.0 .
e:q1 a e:Event .
"#;

#[test]
fn the_ontology_api_gives_trees_entities_and_typeahead() {
    let server = TestServer::start();
    for (text, graph) in [
        (ONTOLOGY, sailkg_core::vocab::GRAPH_ONTOLOGY),
        (SHAPES, sailkg_core::vocab::GRAPH_SHAPES),
        (DATA, "http://e/data"),
    ] {
        let graph = GraphName::from(NamedNode::new(graph).unwrap());
        server
            .store
            .oxigraph()
            .load_from_slice(
                oxigraph::io::RdfParser::from_format(RdfFormat::Turtle).with_default_graph(graph),
                text.as_bytes(),
            )
            .unwrap();
    }
    let get = |path: &str| {
        let reply = send(&server.agent, "GET", &server.url(path), &[], None);
        let json = serde_json::from_slice::<serde_json::Value>(&reply.body).unwrap_or_default();
        (reply.status, json)
    };
    let (status, trees) = get("/api/ontology");
    assert_eq!(status, 200, "{trees}");
    let find = |list: &str, iri: &str| {
        trees[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["iri"] == iri)
            .cloned()
            .unwrap_or_else(|| panic!("{iri} in {list}: {trees}"))
    };
    let storm = find("classes", "http://e/Storm");
    assert_eq!(storm["parents"], serde_json::json!(["http://e/Event"]));
    assert_eq!(storm["uses"], 2);
    assert_eq!(storm["labels"]["ko"], "폭풍");
    assert_eq!(storm["label"], "storm");
    assert_eq!(find("classes", "http://e/Event")["uses"], 1, "instances of the class itself");
    assert_eq!(find("classes", "http://e/Tempest")["deprecated"], true);
    assert_eq!(find("properties", "http://e/windSpeed")["uses"], 2);
    assert_eq!(find("concepts", "http://e/Flood")["parents"], serde_json::json!(["http://e/Hazard"]));

    let (status, entity) = get("/api/ontology/entity?iri=http%3A%2F%2Fe%2FStorm");
    assert_eq!(status, 200, "{entity}");
    assert_eq!(entity["labels"]["ko"], serde_json::json!(["폭풍"]));
    assert_eq!(entity["definitions"]["en"], serde_json::json!(["A strong wind with rain."]));
    assert_eq!(entity["parents"], serde_json::json!(["http://e/Event"]));
    assert_eq!(entity["usage"]["instances"], 2);
    let constraints = entity["shapes"][0]["constraints"].as_array().unwrap();
    assert!(constraints.iter().any(|c| c["constraint"] == "maxInclusive" && c["value"] == "120"), "{entity}");
    let (_, property) = get("/api/ontology/entity?iri=http%3A%2F%2Fe%2FwindSpeed");
    assert_eq!(property["domain"], serde_json::json!(["http://e/Storm"]));
    assert_eq!(property["usage"]["triples"], 2);
    assert!(
        property["shapes"][0]["constraints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["constraint"] == "minInclusive")
    );
    let (_, old) = get("/api/ontology/entity?iri=http%3A%2F%2Fe%2FTempest");
    assert_eq!(
        (old["deprecated"].clone(), old["replaced_by"].clone()),
        (serde_json::json!(true), serde_json::json!(["http://e/Storm"]))
    );
    let (_, event) = get("/api/ontology/entity?iri=http%3A%2F%2Fe%2FEvent");
    assert_eq!(event["children"], serde_json::json!(["http://e/Storm"]));

    assert_eq!(get("/api/ontology/entity?iri=http%3A%2F%2Fe%2FNothing").0, 404);
    assert_eq!(get("/api/ontology/entity?iri=not%20an%20iri").0, 400);
    assert_eq!(get("/api/ontology/entity?iri=http%3A%2F%2Fe%2F%3E%20%7B").0, 400);

    let (status, hits) = get("/api/ontology/search?q=sto");
    assert_eq!(status, 200, "{hits}");
    assert_eq!(hits["result"][0]["iri"], "http://e/Storm", "{hits}");
    let (_, hits) = get("/api/ontology/search?q=%ED%8F%AD");
    assert_eq!(hits["result"][0]["iri"], "http://e/Storm", "Korean labels too: {hits}");
    let (_, hits) = get("/api/ontology/search?q=%22%7D%20UNION");
    assert_eq!(hits["result"], serde_json::json!([]), "quotes cannot break out of the string");
}
