//! The ontology API for curation: trees with use in the data, one entity in full, typeahead.

use crate::support::{TestServer, send};
use oxigraph::io::RdfFormat;
use oxigraph::model::{GraphName, NamedNode};
use sailkg_core::{Role, TokenConfig};
use serde_json::{Value, json};

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

fn load(server: &TestServer) {
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
}

#[test]
fn the_ontology_api_gives_trees_entities_and_typeahead() {
    let server = TestServer::start();
    load(&server);
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

const TOKENS: [(&str, &str, Role); 5] = [
    ("alice", "curator-alice-0123456789abcdef", Role::Curator),
    ("bob", "reviewer-bob-0123456789abcdef", Role::Reviewer),
    ("erin", "reviewer-erin-0123456789abcdef", Role::Reviewer),
    ("dave", "reader-dave-0123456789abcdef", Role::Reader),
    ("root", "admin-root-0123456789abcdef", Role::Admin),
];

/// A server whose tokens are `TOKENS`, with the test ontology, shapes and data.
fn curation_server() -> TestServer {
    let server = TestServer::start_with(|config| {
        config.auth.tokens = TOKENS
            .iter()
            .map(|(name, token, role)| TokenConfig {
                name: (*name).into(),
                token: (*token).into(),
                role: *role,
            })
            .collect();
    });
    load(&server);
    server
}

/// A JSON request as `who` (a name of `TOKENS`): the status and the JSON (or text) answer.
fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    who: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = who.map(|w| format!("Bearer {}", token(w)));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    let reply =
        send(&server.agent, method, &server.url(path), &headers, body.map(|b| b.to_string().into_bytes()));
    (reply.status, serde_json::from_slice(&reply.body).unwrap_or(Value::String(reply.text())))
}

fn token(name: &str) -> &'static str {
    TOKENS.iter().find(|t| t.0 == name).unwrap().1
}

#[test]
fn change_sets_are_proposed_reviewed_applied_recorded_and_reverted_by_role() {
    let server = curation_server();
    let call = |method: &str, path: &str, who: Option<&str>, body: Option<Value>| {
        call(&server, method, path, who, body)
    };
    let propose = |who: Option<&str>, body: Value| call("POST", "/api/ontology/changesets", who, Some(body));
    let ask = |query: &str| -> Vec<String> {
        let reply = send(
            &server.agent,
            "POST",
            &server.url("/sparql"),
            &[("Content-Type", "application/sparql-query"), ("Accept", "text/csv")],
            Some(query.as_bytes().to_vec()),
        );
        reply.text().lines().skip(1).map(str::to_owned).collect()
    };
    let label = |lang: &str| {
        ask(&format!(
            "SELECT ?l WHERE {{ GRAPH <urn:sailkg:graph:ontology> {{ <http://e/Storm> <http://www.w3.org/2000/01/rdf-schema#label> ?l FILTER(LANG(?l) = '{lang}') }} }}"
        ))
    };
    let max_speed = || {
        ask(
            "SELECT ?v WHERE { GRAPH <urn:sailkg:graph:shapes> { ?p <http://www.w3.org/ns/shacl#path> <http://e/windSpeed> ; <http://www.w3.org/ns/shacl#maxInclusive> ?v } }",
        )
    };

    let proposal = json!({"title": "Korean label and a lower speed limit", "changes": [
        {"op": "set_label", "iri": "http://e/Storm", "language": "ko", "text": "태풍"},
        {"op": "add_constraint", "class": "http://e/Storm", "path": "http://e/windSpeed", "constraint": "maxInclusive", "value": "50"},
    ]});
    // Roles: a proposal needs a curator, reviewer or admin token.
    assert_eq!(propose(None, proposal.clone()).0, 401);
    let (status, refused) = propose(Some("dave"), proposal.clone());
    assert_eq!(status, 403, "{refused}");
    assert!(refused.to_string().contains("reader"), "{refused}");
    let (status, first) = propose(Some("alice"), proposal);
    assert_eq!(status, 201, "{first}");
    let id = first["id"].as_u64().unwrap();
    assert_eq!(first["status"], "proposed");
    assert_eq!(first["author"], "alice");
    // The diff and the impact are there before anyone approves.
    let diff = first["diff"].to_string();
    assert!(diff.contains("폭풍") && diff.contains("태풍") && diff.contains("maxInclusive"), "{diff}");
    assert_eq!(first["impact"]["instances"], 2, "{first}");
    let violation = &first["impact"]["violations"][0];
    assert_eq!(violation["count"], 1, "61.0 is over 50: {first}");
    assert!(violation["examples"][0].as_str().unwrap().contains("http://e/s2"), "{violation}");
    assert_eq!(violation["constraint"], "maxInclusive", "{violation}");
    assert_eq!(violation["value"], "50", "{violation}");
    assert_eq!(violation["class"], "http://e/Storm", "{violation}");
    assert_eq!(first["impact"]["engine"], "rudof shacl 0.3.37", "{first}");
    assert_eq!(first["impact"]["resolved"], 0, "{first}");
    // Nothing changed yet.
    assert_eq!(label("ko"), ["폭풍"]);

    // A curator cannot approve; nobody approves their own change set.
    assert_eq!(call("POST", &format!("/api/ontology/changesets/{id}/approve"), Some("alice"), None).0, 403);
    let (_, own) = propose(
        Some("bob"),
        json!({"title": "t", "changes": [{"op": "set_definition", "iri": "http://e/Event", "text": "Something that happens."}]}),
    );
    let own_id = own["id"].as_u64().unwrap();
    let (status, refused) =
        call("POST", &format!("/api/ontology/changesets/{own_id}/approve"), Some("bob"), None);
    assert_eq!(status, 403, "{refused}");
    assert!(refused.to_string().contains("another reviewer"), "{refused}");

    // Approval applies the whole change set at once and records who, when and why.
    let (status, approved) = call(
        "POST",
        &format!("/api/ontology/changesets/{id}/approve"),
        Some("bob"),
        Some(json!({"comment": "checked with the forecasters"})),
    );
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["review"]["by"], "bob");
    assert_eq!(label("ko"), ["태풍"]);
    assert_eq!(max_speed(), ["50"]);
    let (_, entity) = call("GET", "/api/ontology/entity?iri=http%3A%2F%2Fe%2FStorm", None, None);
    assert_eq!(entity["labels"]["ko"], json!(["태풍"]));
    let recorded = ask(
        "SELECT ?who ?why WHERE { GRAPH <urn:sailkg:graph:curation> { ?a a <http://www.w3.org/ns/prov#Activity> ; <http://www.w3.org/ns/prov#used> ?set ; <urn:sailkg:vocab#agent> ?who ; <http://www.w3.org/2000/01/rdf-schema#comment> ?why ; <http://www.w3.org/ns/prov#endedAtTime> ?t } }",
    );
    assert_eq!(recorded, ["bob,checked with the forecasters"]);
    // Loosening the limit again resolves the violation it made, and adds none.
    let (status, loosen) = propose(
        Some("alice"),
        json!({"title": "gusts", "changes": [
            {"op": "add_constraint", "class": "http://e/Storm", "path": "http://e/windSpeed", "constraint": "maxInclusive", "value": "70"},
        ]}),
    );
    assert_eq!(status, 201, "{loosen}");
    assert_eq!(loosen["impact"]["resolved"], 1, "{loosen}");
    assert_eq!(loosen["impact"]["violations"], json!([]), "{loosen}");
    assert_eq!(
        call("POST", &format!("/api/ontology/changesets/{}/reject", loosen["id"]), Some("bob"), None).0,
        200
    );
    // Deciding twice is a conflict of state.
    assert_eq!(call("POST", &format!("/api/ontology/changesets/{id}/approve"), Some("erin"), None).0, 409);

    // Two change sets on the same entity: the second approval sees the first and asks for a rebase.
    let rename = |text: &str| json!({"title": format!("call it {text}"), "changes": [{"op": "set_label", "iri": "http://e/Storm", "text": text}]});
    let (_, windstorm) = propose(Some("alice"), rename("windstorm"));
    let (_, gale) = propose(Some("alice"), rename("gale"));
    let (windstorm, gale) = (windstorm["id"].as_u64().unwrap(), gale["id"].as_u64().unwrap());
    assert_eq!(
        call("POST", &format!("/api/ontology/changesets/{windstorm}/approve"), Some("bob"), None).0,
        200
    );
    let (status, conflict) =
        call("POST", &format!("/api/ontology/changesets/{gale}/approve"), Some("erin"), None);
    assert_eq!(status, 409, "{conflict}");
    assert!(conflict.to_string().contains("rebase"), "{conflict}");
    assert_eq!(label("en"), ["windstorm"], "nothing overwritten");
    // Nothing touched the first one since: its revert restores the label.
    assert_eq!(
        call("POST", &format!("/api/ontology/changesets/{windstorm}/revert"), Some("erin"), None).0,
        200
    );
    assert_eq!(label("en"), ["storm"]);
    assert_eq!(
        call("POST", &format!("/api/ontology/changesets/{windstorm}/revert"), Some("erin"), None).0,
        409
    );
    // Reverting the first change set restores the old label and constraint.
    let (status, reverted) = call(
        "POST",
        &format!("/api/ontology/changesets/{id}/revert"),
        Some("root"),
        Some(json!({"comment": "too strict"})),
    );
    assert_eq!(status, 200, "{reverted}");
    assert_eq!(reverted["status"], "reverted");
    assert_eq!(label("ko"), ["폭풍"]);
    assert_eq!(max_speed(), ["120"]);
    // A rejected proposal changes nothing.
    let (status, rejected) = call(
        "POST",
        &format!("/api/ontology/changesets/{gale}/reject"),
        Some("erin"),
        Some(json!({"comment": "stale"})),
    );
    assert_eq!((status, rejected["status"].as_str()), (200, Some("rejected")));
    assert_eq!(label("en"), ["storm"]);

    // Rename: the new IRI takes the statements and the references; the old one stays, deprecated.
    let (status, renamed) = propose(
        Some("alice"),
        json!({"title": "the agreed name", "changes": [{"op": "rename", "iri": "http://e/Storm", "to": "http://e/Cyclone"}]}),
    );
    assert_eq!(status, 201, "{renamed}");
    let renamed = renamed["id"].as_u64().unwrap();
    assert_eq!(
        call("POST", &format!("/api/ontology/changesets/{renamed}/approve"), Some("bob"), None).0,
        200
    );
    let (_, cyclone) = call("GET", "/api/ontology/entity?iri=http%3A%2F%2Fe%2FCyclone", None, None);
    assert_eq!(cyclone["parents"], json!(["http://e/Event"]));
    assert_eq!(cyclone["labels"]["ko"], json!(["폭풍"]));
    let (_, storm) = call("GET", "/api/ontology/entity?iri=http%3A%2F%2Fe%2FStorm", None, None);
    assert_eq!(
        (storm["deprecated"].clone(), storm["replaced_by"].clone()),
        (json!(true), json!(["http://e/Cyclone"]))
    );
    assert_eq!(storm["usage"]["instances"], 2, "instances are never touched");
    let (_, speed) = call("GET", "/api/ontology/entity?iri=http%3A%2F%2Fe%2FwindSpeed", None, None);
    assert_eq!(speed["domain"], json!(["http://e/Cyclone"]), "references follow the new name");

    // Mistakes are refused, located by change, and leave nothing behind.
    for (body, says) in [
        (
            json!({"title": "x", "changes": [{"op": "set_label", "iri": "http://e/Nothing", "text": "y"}]}),
            "change 1: the ontology has no",
        ),
        (
            json!({"title": "x", "changes": [{"op": "add_constraint", "class": "http://e/Event", "path": "http://e/windSpeed", "constraint": "maxInclusive", "value": "fast"}]}),
            "needs a number",
        ),
        (
            json!({"title": "x", "changes": [{"op": "add_constraint", "class": "http://e/Event", "path": "http://e/windSpeed", "constraint": "maxSpeed", "value": "1"}]}),
            "unknown constraint",
        ),
        (json!({"title": "x", "changes": [{"op": "delete", "iri": "http://e/Event"}]}), "unknown variant"),
        (json!({"title": "", "changes": [{"op": "deprecate", "iri": "http://e/Event"}]}), "title"),
        (
            json!({"title": "x", "changes": [{"op": "add_class", "iri": "http://e/Event", "label": "again"}]}),
            "exists already",
        ),
    ] {
        let (status, error) = propose(Some("alice"), body.clone());
        assert_eq!(status, 400, "{body}: {error}");
        assert!(error.to_string().contains(says), "{body}: {error}");
    }
    let (status, list) = call("GET", "/api/ontology/changesets", None, None);
    assert_eq!(status, 200);
    assert_eq!(list["changesets"].as_array().unwrap().len(), 6, "{list}");
    assert_eq!(call("GET", "/api/ontology/changesets/99", None, None).0, 404);
    assert_eq!(call("POST", &format!("/api/ontology/changesets/{id}/merge"), Some("bob"), None).0, 404);
}

#[test]
fn merge_split_link_review_import_and_export() {
    let server = curation_server();
    let links = r#"
@prefix e: <http://e/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix sail: <urn:sailkg:vocab#> .
e:s1 skos:closeMatch e:s2 .
e:s1 skos:closeMatch e:q1 .
e:link1 a sail:Link ; sail:linkSource e:s1 ; sail:linkTarget e:s2 ; sail:linkRelation skos:closeMatch .
"#;
    let graph = GraphName::from(NamedNode::new(sailkg_core::vocab::GRAPH_LINKS).unwrap());
    server
        .store
        .oxigraph()
        .load_from_slice(
            oxigraph::io::RdfParser::from_format(RdfFormat::Turtle).with_default_graph(graph),
            links.as_bytes(),
        )
        .unwrap();
    let call = |method: &str, path: &str, who: Option<&str>, body: Option<Value>| {
        call(&server, method, path, who, body)
    };
    let propose = |who: Option<&str>, body: Value| call("POST", "/api/ontology/changesets", who, Some(body));
    let approve = |changes: Value| -> Value {
        let (status, set) = propose(Some("alice"), json!({"title": "t", "changes": changes}));
        assert_eq!(status, 201, "{set}");
        let id = set["id"].as_u64().unwrap();
        let (status, done) =
            call("POST", &format!("/api/ontology/changesets/{id}/approve"), Some("bob"), None);
        assert_eq!(status, 200, "{done}");
        done
    };
    let entity = |iri: &str| {
        call(
            "GET",
            &format!("/api/ontology/entity?iri={}", iri.replace(':', "%3A").replace('/', "%2F")),
            None,
            None,
        )
        .1
    };

    // Merge: Tempest folds into Event; its label becomes an alternative label.
    approve(json!([{"op": "merge", "from": ["http://e/Tempest"], "into": "http://e/Event"}]));
    assert_eq!(entity("http://e/Event")["alt_labels"]["en"], json!(["tempest"]));
    assert_eq!(entity("http://e/Tempest")["replaced_by"], json!(["http://e/Event", "http://e/Storm"]));
    // Split: Storm into two classes under Event; Storm stays, deprecated.
    approve(json!([{"op": "split", "iri": "http://e/Storm", "into": [
        {"iri": "http://e/Hurricane", "label": "hurricane"}, {"iri": "http://e/Blizzard", "label": "blizzard"}]}]));
    let hurricane = entity("http://e/Hurricane");
    assert_eq!(
        (hurricane["parents"].clone(), hurricane["labels"]["en"].clone()),
        (json!(["http://e/Event"]), json!(["hurricane"]))
    );
    assert_eq!(entity("http://e/Storm")["deprecated"], true);
    assert_eq!(entity("http://e/Storm")["usage"]["instances"], 2);

    // The review band of the links: one accepted, one rejected, a missing one refused.
    approve(json!([
        {"op": "accept_link", "source": "http://e/s1", "target": "http://e/s2"},
        {"op": "reject_link", "source": "http://e/s1", "target": "http://e/q1"},
    ]));
    let ask = |query: &str| {
        let reply = send(
            &server.agent,
            "POST",
            &server.url("/sparql"),
            &[("Content-Type", "application/sparql-query"), ("Accept", "text/csv")],
            Some(query.as_bytes().to_vec()),
        );
        reply.text().lines().skip(1).map(str::to_owned).collect::<Vec<_>>()
    };
    let in_links =
        "SELECT ?p ?o WHERE { GRAPH <urn:sailkg:graph:links> { <http://e/s1> ?p ?o } } ORDER BY ?p ?o";
    assert_eq!(ask(in_links), ["http://www.w3.org/2002/07/owl#sameAs,http://e/s2"]);
    assert_eq!(
        ask(
            "SELECT ?r ?v WHERE { GRAPH <urn:sailkg:graph:links> { <http://e/link1> <urn:sailkg:vocab#linkRelation> ?r ; <urn:sailkg:vocab#review> ?v } }"
        ),
        ["http://www.w3.org/2002/07/owl#sameAs,accepted"]
    );
    let (status, error) = propose(
        Some("alice"),
        json!({"title": "t", "changes": [{"op": "accept_link", "source": "http://e/s1", "target": "http://e/q1"}]}),
    );
    assert_eq!(status, 400, "{error}");
    assert!(error.to_string().contains("no suggested link"), "{error}");

    // Import, through review like any change: a SKOS concept scheme in RDF/XML and shapes in Turtle.
    let rdfxml = r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:skos="http://www.w3.org/2004/02/skos/core#">
  <skos:Concept rdf:about="http://e/Drought"><skos:prefLabel xml:lang="en">drought</skos:prefLabel><skos:broader rdf:resource="http://e/Hazard"/></skos:Concept>
</rdf:RDF>"#;
    let done = approve(json!([{"op": "import", "format": "rdfxml", "text": rdfxml}]));
    assert_eq!(done["diff"]["added"].as_array().unwrap().len(), 3, "{done}");
    let (_, trees) = call("GET", "/api/ontology", None, None);
    let drought = trees["concepts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["iri"] == "http://e/Drought")
        .unwrap()
        .clone();
    assert_eq!(drought["parents"], json!(["http://e/Hazard"]));
    let (status, error) = propose(
        Some("alice"),
        json!({"title": "t", "changes": [{"op": "import", "format": "turtle", "text": "<a> <b"}]}),
    );
    assert_eq!(status, 400, "{error}");
    assert!(error.to_string().contains("import"), "{error}");

    // A pattern with quotes and a line break is a value, never query text.
    let (status, pattern) = propose(
        Some("alice"),
        json!({"title": "t", "changes": [{"op": "add_constraint", "class": "http://e/Event", "path": "http://e/windSpeed", "constraint": "pattern", "value": "^[0-9]\"}\n UNION"}]}),
    );
    assert_eq!(status, 201, "{pattern}");
    // Storm is a subclass of Event: the engine checks both storms, and neither speed matches.
    let violation = &pattern["impact"]["violations"][0];
    assert_eq!(violation["count"], 2, "{pattern}");
    assert_eq!(violation["value"], "^[0-9]\"}\n UNION", "{pattern}");

    // Export in every format, and back: the Turtle export parses to the same graph.
    for (format, media) in [
        ("turtle", "text/turtle"),
        ("rdfxml", "application/rdf+xml"),
        ("jsonld", "application/ld+json"),
        ("ntriples", "application/n-triples"),
    ] {
        let reply = send(
            &server.agent,
            "GET",
            &server.url(&format!("/api/ontology/export?format={format}")),
            &[],
            None,
        );
        assert_eq!(reply.status, 200, "{format}");
        assert!(reply.content_type.starts_with(media), "{format}: {}", reply.content_type);
        assert!(reply.text().contains("Drought"), "{format}");
    }
    let turtle = send(&server.agent, "GET", &server.url("/api/ontology/export"), &[], None).text();
    let exported = oxigraph::store::Store::new().unwrap();
    exported.load_from_slice(RdfFormat::Turtle, turtle.as_bytes()).unwrap();
    let ontology = NamedNode::new(sailkg_core::vocab::GRAPH_ONTOLOGY).unwrap();
    let stored =
        server.store.oxigraph().quads_for_pattern(None, None, None, Some(ontology.as_ref().into())).count();
    assert_eq!(exported.len().unwrap(), stored);
    let shapes =
        send(&server.agent, "GET", &server.url("/api/ontology/export?graph=shapes&format=turtle"), &[], None);
    assert!(shapes.text().contains("StormShape"));
    assert_eq!(
        send(&server.agent, "GET", &server.url("/api/ontology/export?format=csv"), &[], None).status,
        400
    );
}

#[test]
fn class_views_in_sql_follow_approved_changes_at_once() {
    let server = curation_server();
    let call = |method: &str, path: &str, who: Option<&str>, body: Option<Value>| {
        call(&server, method, path, who, body)
    };
    let propose = |who: Option<&str>, body: Value| call("POST", "/api/ontology/changesets", who, Some(body));
    let header = || {
        let reply = send(
            &server.agent,
            "POST",
            &server.url("/sql"),
            &[("Content-Type", "text/plain"), ("Accept", "text/csv")],
            Some(b"SELECT * FROM kg.storm".to_vec()),
        );
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.text().lines().next().unwrap_or_default().to_owned()
    };
    let before = header();
    assert!(before.contains("wind_speed") && !before.contains("category"), "{before}");
    let declaration = "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <http://e/category> a <http://www.w3.org/2002/07/owl#DatatypeProperty> ;
            rdfs:domain <http://e/Storm> ; rdfs:range <http://www.w3.org/2001/XMLSchema#integer> .";
    let (status, set) = propose(
        Some("alice"),
        json!({"title": "storms have a category", "changes": [{"op": "import", "format": "turtle", "text": declaration}]}),
    );
    assert_eq!(status, 201, "{set}");
    let id = set["id"].as_u64().unwrap();
    assert_eq!(header(), before, "a proposal changes no view");
    assert_eq!(call("POST", &format!("/api/ontology/changesets/{id}/approve"), Some("bob"), None).0, 200);
    let after = header();
    assert!(
        after.contains("category") && after.contains("wind_speed"),
        "the declared column at once: {after}"
    );
    assert_eq!(call("POST", &format!("/api/ontology/changesets/{id}/revert"), Some("erin"), None).0, 200);
    assert_eq!(header(), before, "and gone after the revert");
}
