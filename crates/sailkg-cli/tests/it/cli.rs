//! The commands and their exit codes.

use crate::{run, shared, stderr, stdout};
use std::io::Write;
use std::path::Path;

fn count(data: &std::path::Path, query: &str) -> String {
    let output = run(data, &["query", query, "--format", "csv"]);
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output).lines().nth(1).unwrap_or_default().to_owned()
}

#[test]
fn load_query_update_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("people.ttl");
    std::fs::write(&file, "@prefix e: <http://e/> .\ne:alice e:knows e:bob .\ne:bob e:name \"Bob\"@en .\n")
        .unwrap();
    let output = run(&data, &["load", file.to_str().unwrap(), "--graph", "http://e/g"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("loaded 2 triples"), "{}", stdout(&output));
    assert_eq!(count(&data, "SELECT (COUNT(*) AS ?n) { GRAPH <http://e/g> { ?s ?p ?o } }"), "2");

    let table = run(&data, &["query", "SELECT ?o { GRAPH ?g { ?s <http://e/name> ?o } }"]);
    assert_eq!(stdout(&table), "?o\n--------\n\"Bob\"@en\n(1 row)\n");
    let json = run(&data, &["query", "ASK { GRAPH ?g { ?s ?p ?o } }", "--format", "json"]);
    assert!(stdout(&json).contains("\"boolean\":true"), "{}", stdout(&json));
    let xml = run(&data, &["query", "SELECT * { GRAPH ?g { ?s ?p ?o } }", "--format", "xml"]);
    assert!(stdout(&xml).contains("<sparql"));
    let tsv = run(&data, &["query", "SELECT ?s { GRAPH ?g { ?s <http://e/knows> ?o } }", "--format", "tsv"]);
    assert_eq!(stdout(&tsv), "?s\n<http://e/alice>\n");
    let graph = run(
        &data,
        &["query", "CONSTRUCT { ?s <http://e/knows> ?o } WHERE { GRAPH ?g { ?s <http://e/knows> ?o } }"],
    );
    assert!(
        stdout(&graph).contains("<http://e/alice> <http://e/knows> <http://e/bob>"),
        "{}",
        stdout(&graph)
    );

    let update_file = dir.path().join("u.ru");
    std::fs::write(&update_file, "DELETE WHERE { GRAPH <http://e/g> { ?s <http://e/knows> ?o } }").unwrap();
    let output = run(&data, &["update", &format!("@{}", update_file.display())]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(count(&data, "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"), "1");
}

#[test]
fn gzip_and_formats_load() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let output = run(&data, &["load", shared().join("bench/lubm/lubm1.nt.gz").to_str().unwrap(), "--quiet"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("loaded 100573 triples"), "{}", stdout(&output));
    let owl = shared().join("bench/lubm/univ-bench.owl");
    let output = run(&data, &["load", owl.to_str().unwrap(), "--graph", "urn:sailkg:graph:ontology"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        count(&data, "SELECT (COUNT(*) AS ?n) { GRAPH <urn:sailkg:graph:ontology> { ?s ?p ?o } }"),
        "293"
    );
    let jsonld = dir.path().join("x.jsonld");
    std::fs::write(&jsonld, r#"{"@id": "http://e/x", "http://e/p": "v"}"#).unwrap();
    let trig = dir.path().join("x.trig");
    std::fs::write(&trig, "<http://e/g2> { <http://e/x> <http://e/p> 1 }").unwrap();
    let output = run(&data, &["load", jsonld.to_str().unwrap(), trig.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        count(
            &data,
            "SELECT (COUNT(*) AS ?n) { { ?s <http://e/p> ?o } UNION { GRAPH <http://e/g2> { ?s ?p ?o } } }"
        ),
        "2"
    );
}

#[test]
fn malformed_rdf_is_located_and_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let good = dir.path().join("good.nt");
    std::fs::write(&good, "<http://e/a> <http://e/b> <http://e/c> .\n").unwrap();
    let bad = dir.path().join("bad.ttl");
    std::fs::write(&bad, "@prefix e: <http://e/> .\ne:a e:b e:c .\ne:a e:b \"open .\n").unwrap();
    let output = run(&data, &["load", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains(&format!("{}:3:", bad.display())), "{message}");
    assert_eq!(count(&data, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"), "0", "nothing of the load may remain");

    let unknown = dir.path().join("x.csv");
    std::fs::write(&unknown, "a,b\n").unwrap();
    let output = run(&data, &["load", unknown.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("unknown RDF format"), "{}", stderr(&output));
    let output = run(&data, &["load", "/no/such/file.nt"]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn bad_queries_and_config_are_user_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let output = run(&data, &["query", "SELECT * WHERE { ?s ?p }"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("SPARQL syntax error"), "{}", stderr(&output));
    let output = run(&data, &["update", "INSERT DATA { <a> }"]);
    assert_eq!(output.status.code(), Some(1));
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[server]\nbind = \"127.0.0.1:1\"\ntimeuot = 3\n").unwrap();
    let output = run(&data, &["--config", config.to_str().unwrap(), "query", "ASK {}"]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("timeuot") && message.contains("line 3"), "{message}");
    let output = crate::sailkg(&data)
        .args(["query", "ASK {}"])
        .env("SAILKG_QUERY_TIMEOUT_SECS", "soon")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("SAILKG_QUERY_TIMEOUT_SECS"));
    let help = run(&data, &["--help"]);
    assert!(stdout(&help).contains("serve") && stdout(&help).contains("Exit codes"));
}

#[test]
fn backup_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let output = run(&data, &["init", "--demo"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let airports = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?a a <http://schema.org/Airport> } }";
    assert_eq!(count(&data, airports), "40");
    let backup = dir.path().join("backup");
    let output = run(&data, &["backup", backup.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run(&data, &["update", "DROP ALL"]);
    assert!(output.status.success());
    assert_eq!(count(&data, airports), "0");
    let output = run(&data, &["restore", backup.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(count(&data, airports), "40");
    let output = run(&data, &["backup", backup.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "backing up over an existing folder is refused");
}

#[test]
fn query_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = crate::sailkg(&data)
        .args(["query", "@-", "--format", "csv"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"SELECT (1 + 1 AS ?two) {}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(stdout(&output), "two\r\n2\r\n");
}

#[test]
fn ingest_a_directory_and_browse_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sources = dir.path().join("sources");
    std::fs::create_dir(&sources).unwrap();
    std::fs::copy(shared().join("data/demo/lookup_people.csv"), sources.join("people.csv")).unwrap();
    std::fs::copy(shared().join("data/demo/earthquakes.json"), sources.join("quakes.json")).unwrap();
    std::fs::write(sources.join("notes.bin"), [0u8, 1, 2, 3]).unwrap();
    std::fs::write(sources.join("readme.md"), "# Quakes\n\nThe strongest earthquakes of the week.\n")
        .unwrap();
    std::fs::copy(shared().join("data/demo/images/gimp.png"), sources.join("gimp.png")).unwrap();
    std::fs::write(sources.join("ragged.csv"), "a,b\n1,2\n3\n").unwrap();
    let output = run(&data, &["ingest", sources.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("people") && text.contains("quakes") && text.contains("geojson"), "{text}");
    assert!(text.contains("skipped") && text.contains("notes.bin"), "{text}");
    assert!(text.contains("readme") && text.contains("gimp") && text.contains("image"), "{text}");
    assert!(text.contains("rejects:") && text.contains(".rejects.csv"), "{text}");
    let again = run(&data, &["ingest", sources.join("people.csv").to_str().unwrap()]);
    assert!(stdout(&again).contains("unchanged"), "{}", stdout(&again));
    let list = stdout(&run(&data, &["catalog"]));
    assert!(list.contains("people") && list.contains("1707"), "{list}");
    let show = run(&data, &["catalog", "show", "quakes"]);
    assert!(stdout(&show).contains("geometry"), "{}", stdout(&show));
    assert_eq!(run(&data, &["catalog", "show", "nothing"]).status.code(), Some(1));
    // The catalogue is in the store: SPARQL sees it.
    assert_eq!(
        count(
            &data,
            "SELECT (COUNT(*) AS ?n) { GRAPH <urn:sailkg:graph:catalog> { ?v a <urn:sailkg:vocab#SourceVersion> } }"
        ),
        "5"
    );
    let garbage = dir.path().join("garbage.csv");
    std::fs::write(&garbage, b"\x00\x01\x02\x03").unwrap();
    let output = run(&data, &["ingest", garbage.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("binary"), "{}", stderr(&output));
    let output = run(&data, &["ingest", "--name", "x", sources.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    // The format names of the contract, `xlsx` among them.
    let workbook = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sailkg-ingest/tests/fixtures/quakes.xlsx");
    let output = run(&data, &["ingest", "--format", "xlsx", "--name", "sheet", workbook.to_str().unwrap()]);
    assert!(output.status.success() && stdout(&output).contains("xlsx"), "{}", stderr(&output));
}

#[test]
fn map_catalogued_tables_into_the_store_with_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let demo = shared().join("data/demo");
    let output = run(&data, &["ingest", demo.join("airports.csv").to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mapping = dir.path().join("airports.yml");
    std::fs::write(
        &mapping,
        r#"prefixes:
  ap: http://example.com/airport/
  schema: http://schema.org/
mappings:
  airport:
    sources: [airports~table]
    s: ap:$(iata)
    po:
      - [a, schema:Airport]
      - [schema:name, $(name)]
      - [schema:iataCode, $(iata)]
      - [schema:latitude, $(latitude)]
"#,
    )
    .unwrap();
    let output = run(&data, &["map", mapping.to_str().unwrap(), "--into-store"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("urn:sailkg:graph:source/airports/"), "{}", stdout(&output));
    let airports = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?a a <http://schema.org/Airport> } }";
    assert_eq!(count(&data, airports), "3376");
    // Typed from the table's column types.
    let typed = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?a <http://schema.org/latitude> ?l FILTER(datatype(?l) = <http://www.w3.org/2001/XMLSchema#double>) } }";
    assert_eq!(count(&data, typed), "3376");
    let provenance = "SELECT (COUNT(*) AS ?n) { GRAPH <urn:sailkg:graph:catalog> { ?run a <urn:sailkg:vocab#MappingRun> ; <http://www.w3.org/ns/prov#generated> ?g ; <http://www.w3.org/ns/prov#used> ?version . ?g <http://www.w3.org/ns/prov#wasDerivedFrom> ?version . ?version a <urn:sailkg:vocab#SourceVersion> } }";
    assert_eq!(count(&data, provenance), "1");
    // A rerun replaces the graph: no duplicates.
    let output = run(&data, &["map", mapping.to_str().unwrap(), "--into-store"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(count(&data, airports), "3376");
    // To a file, and errors located and exit code 1 with nothing written.
    let out = dir.path().join("airports.ttl");
    let output = run(&data, &["map", mapping.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(std::fs::read_to_string(&out).unwrap().contains("<http://example.com/airport/ORD>"));
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "mappings:\n  x:\n    sources: [airports~table]\n    s: http://e/$(nope)\n")
        .unwrap();
    let before = count(&data, "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }");
    let output = run(&data, &["map", bad.to_str().unwrap(), "--into-store"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("bad.yml") && stderr(&output).contains("nope"), "{}", stderr(&output));
    assert_eq!(count(&data, "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"), before);
}

#[test]
fn link_flights_to_airports_and_refuse_bad_specs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let demo = shared().join("data/demo");
    std::fs::copy(demo.join("airports.csv"), dir.path().join("airports.csv")).unwrap();
    std::fs::copy(demo.join("flights-5k.json"), dir.path().join("flights.json")).unwrap();
    for (name, yarrrml) in [
        (
            "airports.yml",
            "mappings:\n  a:\n    sources: [airports.csv~csv]\n    s: http://e/airport/$(iata)\n    po: [[a, http://e/Airport], [http://e/iata, $(iata)]]\n",
        ),
        (
            "flights.yml",
            "mappings:\n  f:\n    sources: [flights.json~jsonpath, \"$[*]\"]\n    s: http://e/flight/$(date)/$(origin)/$(destination)/$(delay)\n    po: [[a, http://e/Flight], [http://e/origin, $(origin)]]\n",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, yarrrml).unwrap();
        let output = run(&data, &["map", path.to_str().unwrap(), "--into-store"]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let spec = dir.path().join("link.toml");
    std::fs::write(
        &spec,
        "name = \"origin\"\n[source]\nclass = \"http://e/Flight\"\n[target]\nclass = \"http://e/Airport\"\n[[blocking]]\nsource = \"http://e/origin\"\ntarget = \"http://e/iata\"\nkey = \"exact\"\n[[compare]]\nsource = \"http://e/origin\"\ntarget = \"http://e/iata\"\nmethod = \"exact\"\n",
    )
    .unwrap();
    let output = run(&data, &["link", spec.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("skos:closeMatch") && text.contains("sameAs 1.000"), "{text}");
    let flights = count(&data, "SELECT (COUNT(DISTINCT ?f) AS ?n) { GRAPH ?g { ?f a <http://e/Flight> } }");
    let linked = count(
        &data,
        "SELECT (COUNT(DISTINCT ?f) AS ?n) { GRAPH <urn:sailkg:graph:links> { ?f <http://www.w3.org/2002/07/owl#sameAs> ?a } }",
    );
    assert_eq!(linked, flights);
    std::fs::write(
        &spec,
        std::fs::read_to_string(&spec).unwrap().replace("http://e/Airport", "http://e/Nothing"),
    )
    .unwrap();
    let output = run(&data, &["link", spec.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("link.toml") && stderr(&output).contains("Nothing"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn suggest_a_mapping_that_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let schema = shared().join("ontologies/schemaorg-current-https.ttl");
    let output =
        run(&data, &["load", "--graph", "urn:sailkg:graph:ontology", "-q", schema.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run(&data, &["ingest", shared().join("data/demo/airports.csv").to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run(&data, &["map", "suggest", "airports", "--ontology", "https://schema.org/"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mapping = stdout(&output);
    for expected in [
        "rml:template \"http://example.com/airports/{iata}\" ; rml:class <https://schema.org/Airport>",
        "rml:predicate <https://schema.org/iataCode> ; rml:objectMap [ rml:reference \"iata\" ]",
        "rml:predicate <https://schema.org/name> ;",
        "rml:predicate <https://schema.org/latitude> ; rml:objectMap [ rml:reference \"latitude\" ; rml:datatype xsd:double ]",
        "# rml:predicateObjectMap [ rml:predicate <http://example.com/airports#city>",
    ] {
        assert!(mapping.contains(expected), "{expected} not in\n{mapping}");
    }
    let path = dir.path().join("suggested.ttl");
    std::fs::write(&path, &mapping).unwrap();
    let out = dir.path().join("airports.nt");
    let output = run(&data, &["map", path.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().filter(|l| l.ends_with("<https://schema.org/Airport> .")).count(), 3376);
    let output = run(&data, &["map", "suggest", "airports", "--ontology", "http://nothing.example/"]);
    assert_eq!(output.status.code(), Some(1));
    let output = run(&data, &["map", "suggest", "nosuch", "--ontology", "https://schema.org/"]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn search_the_catalogue_and_the_entities() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(&data, &["init", "--demo"]).status.success());
    let output = run(&data, &["ingest", shared().join("data/demo/airports.csv").to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run(&data, &["search", "chicago hare"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("urn:sailkg:demo:airport:ORD"), "{}", stdout(&output));
    // The catalogue is searchable: the ingested source and its columns.
    let output = run(&data, &["search", "latitude", "--kind", "column", "--json"]);
    let results: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(results["total"].as_u64().unwrap() >= 1, "{results}");
    assert!(results["hits"].as_array().unwrap().iter().all(|h| h["kind"] == "column"));
    // An update that deletes an entity removes it from the index.
    let output = run(&data, &["update", "DELETE WHERE { GRAPH ?g { <urn:sailkg:demo:airport:ORD> ?p ?o } }"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stdout(&run(&data, &["search", "chicago hare"])).contains("airport:ORD"));
    // Text documents are found by their content.
    let note = dir.path().join("notes.md");
    std::fs::write(&note, "# Field notes\n\nThe seismograph recorded a swarm of small tremors.\n").unwrap();
    assert!(run(&data, &["ingest", note.to_str().unwrap()]).status.success());
    let output = run(&data, &["search", "seismograph", "--kind", "document"]);
    assert!(stdout(&output).contains("Field notes"), "{}", stdout(&output));
    let output = run(&data, &["index", "rebuild"]);
    assert!(output.status.success() && stdout(&output).contains("indexed"), "{}", stderr(&output));
    assert!(stdout(&run(&data, &["search", "atlanta"])).contains("airport:ATL"));
}

#[test]
fn sql_over_tables_catalogue_and_graph() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(&data, &["init", "--demo"]).status.success());
    assert!(
        run(&data, &["ingest", shared().join("data/demo/airports.csv").to_str().unwrap()]).status.success()
    );
    let output = run(&data, &["sql", "SELECT count(*) AS n FROM source.airports", "--format", "csv"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "n\n3376\n");
    let join = "SELECT a.city FROM sparql('SELECT ?code WHERE { ?a <http://schema.org/iataCode> ?code }') AS g \
                JOIN airports AS a ON a.iata = g.code WHERE a.iata = 'ORD'";
    let output = run(&data, &["sql", join, "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "[{\"city\":\"Chicago\"}]");
    let output = run(&data, &["sql", "SELECT name, rows FROM meta.datasets"]);
    assert!(stdout(&output).contains("airports") && stdout(&output).contains("3376"), "{}", stdout(&output));
    let output = run(&data, &["sql", "DROP TABLE source.airports"]);
    assert_eq!(output.status.code(), Some(1));
    let output = run(&data, &["sql", "SELECT nope FROM source.airports"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("nope"), "{}", stderr(&output));
}

#[test]
fn generate_the_rarest_class_with_provenance_and_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let disasters = shared().join("data/demo/disasters.csv");
    let rare = "Entity = 'Mass movement (dry)'";
    let mut outputs = Vec::new();
    for (name, method) in
        [("rare_a", "copula"), ("rare_b", "copula"), ("rare_boot", "bootstrap"), ("rare_smote", "smote")]
    {
        let out = dir.path().join(format!("{name}.csv"));
        let output = run(
            &data,
            &[
                "generate",
                "--from",
                disasters.to_str().unwrap(),
                "--method",
                method,
                "--n",
                "500",
                "--where",
                rare,
                "--seed",
                "7",
                "--name",
                name,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stdout(&output).contains("500 rows"), "{}", stdout(&output));
        assert!(stdout(&output).contains("fidelity"), "{}", stdout(&output));
        let report = data.join(format!("tables/synthetic/{name}.report.json"));
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
        let fidelity = report["against_real_rows_in_condition"]["fidelity"].as_f64().unwrap();
        assert!(fidelity > 0.5, "{name}: {report}");
        if method == "copula" {
            assert!(report["against_all_real_rows"]["exact_copy_share"].as_f64().unwrap() < 0.05, "{report}");
        }
        let text = std::fs::read_to_string(&out).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), 500);
        assert!(
            rows.iter().all(|r| r.starts_with("Mass movement (dry),")),
            "{}",
            &text[..200.min(text.len())]
        );
        outputs.push(text);
    }
    assert_eq!(outputs[0], outputs[1], "the same seed gives the same rows");
    // A saved model samples the same rows without refitting.
    let model = dir.path().join("model.json");
    let saved = dir.path().join("saved.csv");
    for (name, flag, file) in [("save_a", "--model-out", &model), ("load_a", "--model-in", &model)] {
        let output = run(
            &data,
            &[
                "generate",
                "--from",
                disasters.to_str().unwrap(),
                "--n",
                "50",
                "--seed",
                "9",
                "--where",
                rare,
                "--name",
                name,
                flag,
                file.to_str().unwrap(),
                "--out",
                saved.to_str().unwrap(),
            ],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        outputs.push(std::fs::read_to_string(&saved).unwrap());
    }
    assert_eq!(outputs[outputs.len() - 1], outputs[outputs.len() - 2]);
    // The synthetic table is in SQL and the run in the catalogue.
    let output = run(
        &data,
        &[
            "sql",
            "SELECT count(*) AS n, min(\"Year\") >= 1900 AS ok FROM synthetic.rare_a",
            "--format",
            "csv",
        ],
    );
    assert_eq!(stdout(&output), "n,ok\n500,true\n", "{}", stderr(&output));
    assert_eq!(
        count(
            &data,
            "SELECT (COUNT(*) AS ?n) { GRAPH <urn:sailkg:graph:catalog> { ?run a <urn:sailkg:vocab#GenerationRun> ; \
             <urn:sailkg:vocab#condition> ?c ; <http://www.w3.org/ns/prov#generated> ?table } }"
        ),
        "6"
    );
    // Bad input: a located condition error, an impossible condition, an unknown source.
    let output =
        run(&data, &["generate", "--from", disasters.to_str().unwrap(), "--n", "5", "--where", "Deaths >"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("column 9"), "{}", stderr(&output));
    let output = run(
        &data,
        &["generate", "--from", disasters.to_str().unwrap(), "--n", "5", "--where", "Entity = 'Meteor'"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("Entity"), "{}", stderr(&output));
    let output = run(&data, &["generate", "--from", "no-such-source", "--n", "5"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn generate_from_a_class_view_keeps_its_shacl_constraints() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut turtle = String::from("@prefix ex: <http://example.org/kg#> .\n");
    for i in 0..40 {
        turtle.push_str(&format!(
            "ex:s{i} a ex:Storm ; ex:category {} ; ex:peakGust {}.5 ; ex:minGust {} ; ex:basin \"{}\" .\n",
            1 + i % 5,
            100 + i * 5,
            90 + i * 5 - i % 7,
            if i % 10 == 0 { "south" } else { "north" }
        ));
    }
    turtle.push_str("ex:s0 ex:tag \"rare\", \"coastal\" .\n");
    let storms = dir.path().join("storms.ttl");
    std::fs::write(&storms, turtle).unwrap();
    let shapes = dir.path().join("shapes.ttl");
    std::fs::write(
        &shapes,
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/kg#> .\n\
         ex:StormShape a sh:NodeShape ; sh:targetClass ex:Storm ;\n\
           sh:property [ sh:path ex:peakGust ; sh:maxExclusive 240 ; sh:minCount 1 ] ,\n\
                       [ sh:path ex:basin ; sh:in ( \"north\" \"south\" ) ] ,\n\
                       [ sh:path ex:minGust ; sh:lessThan ex:peakGust ] .\n",
    )
    .unwrap();
    for (file, graph) in [(&storms, "urn:sailkg:graph:source/storms/1"), (&shapes, "urn:sailkg:graph:shapes")]
    {
        let output = run(&data, &["load", file.to_str().unwrap(), "--graph", graph]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    for method in ["copula", "mh"] {
        let out = dir.path().join(format!("storms-{method}.csv"));
        let output = run(
            &data,
            &[
                "generate",
                "--from",
                "kg.storm",
                "--method",
                method,
                "--n",
                "400",
                "--seed",
                "3",
                "--where",
                "basin = 'south'",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        let text = std::fs::read_to_string(&out).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let at = |name: &str| {
            header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("{name} in {header:?}"))
        };
        let (iri, gust, low, basin) = (at("iri"), at("peak_gust"), at("min_gust"), at("basin"));
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        assert_eq!(rows.len(), 400);
        for row in &rows {
            let gust: f64 = row[gust].parse().unwrap_or_else(|_| panic!("{row:?}"));
            let low: f64 = row[low].parse().unwrap_or_else(|_| panic!("{row:?}"));
            assert!(gust < 240.0, "{method}: peak_gust {gust} breaks sh:maxExclusive 240");
            assert!(low < gust, "{method}: min_gust {low} breaks sh:lessThan peak_gust {gust}");
            assert_eq!(row[basin], "south");
            assert!(row[iri].starts_with("syn-"), "a fresh identifier, not a real IRI: {}", row[iri]);
        }
    }
}

#[test]
fn tail_mcmc_tilting_series_evaluation_and_transfer_entropy() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let disasters = shared().join("data/demo/disasters.csv");
    let gapminder = shared().join("data/demo/gapminder.json");
    let disasters = disasters.to_str().unwrap();
    let report = |name: &str| -> serde_json::Value {
        let path = data.join(format!("tables/synthetic/{name}.report.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let sql = |statement: &str| {
        let output = run(&data, &["sql", statement, "--format", "csv"]);
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
    };
    // MCMC past the largest observed value (3.7 million deaths in a year): the kernels' tail.
    for (name, extra) in
        [("mh1", vec!["--method", "mh"]), ("ula1", vec!["--method", "langevin", "--unadjusted"])]
    {
        let mut args = vec!["generate", "--from", disasters, "--n", "300", "--seed", "5", "--name", name];
        args.extend(["--where", "Deaths >= 5000000 and Year >= 1950"]);
        args.extend(extra);
        let output = run(&data, &args);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stderr(&output).contains("extrapolation"), "{}", stderr(&output));
        let r = report(name);
        assert!(r["mcmc"]["chains"].as_u64().unwrap() >= 4, "{r}");
        assert!(r["mcmc"]["r_hat"].as_array().is_some_and(|a| !a.is_empty()), "{r}");
        assert_eq!(
            sql(&format!(
                "SELECT count(*) AS n, min(\"Deaths\") >= 5000000 AND min(\"Year\") >= 1950 AS inside FROM synthetic.{name}"
            )),
            "n,inside\n300,true\n"
        );
        assert!(data.join(format!("tables/synthetic/{name}.report.html")).exists());
    }
    // Tilting toward a tail region: weights, and the estimate with its variance reduction.
    let output = run(
        &data,
        &[
            "generate",
            "--from",
            disasters,
            "--method",
            "tilt",
            "--n",
            "2000",
            "--seed",
            "1",
            "--name",
            "tilt1",
            "--where",
            "Deaths >= 1000000",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let tilt = &report("tilt1")["tilt"];
    assert!(
        tilt["probability"].as_f64().unwrap() > 0.0 && tilt["variance_reduction"].as_f64().unwrap() > 1.0,
        "{tilt}"
    );
    assert_eq!(sql("SELECT round(avg(importance_weight), 6) AS w FROM synthetic.tilt1"), "w\n1.0\n");
    // A series model with a level to reach: paths with likelihood ratios.
    let output = run(
        &data,
        &[
            "generate",
            "--from",
            disasters,
            "--method",
            "sde",
            "--model",
            "ar",
            "--series",
            "Deaths",
            "--time",
            "Year",
            "--by",
            "Entity",
            "--n",
            "400",
            "--length",
            "50",
            "--seed",
            "2",
            "--name",
            "sde1",
            "--where",
            "Deaths >= 2000000",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("plain Monte Carlo"), "{}", stdout(&output));
    let event = &report("sde1")["event"];
    assert!(event["paths_reaching_share"].as_f64().unwrap() > 0.2, "{event}");
    assert_eq!(
        sql(
            "SELECT count(DISTINCT path) AS paths, count(*) AS n, min(likelihood_ratio) > 0 AS ok FROM synthetic.sde1"
        ),
        "paths,n,ok\n400,20000,true\n"
    );
    // A block bootstrap of two series keeps their lead-lag structure in the report.
    let output = run(
        &data,
        &[
            "generate",
            "--from",
            gapminder.to_str().unwrap(),
            "--method",
            "block-bootstrap",
            "--series",
            "fertility,life_expect",
            "--time",
            "year",
            "--by",
            "country",
            "--block",
            "3",
            "--n",
            "100",
            "--seed",
            "3",
            "--name",
            "blocks1",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let r = report("blocks1");
    assert!(r["transfer_entropy"]["synthetic"]["p_value"].is_number(), "{r}");
    assert!(r["series_measures"][0]["synthetic"]["autocorrelation"].is_array(), "{r}");
    // Evaluation of any synthetic table, with an HTML page.
    let page = dir.path().join("eval.html");
    let output = run(&data, &["eval", disasters, "synthetic.mh1", "--html", page.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let evaluation: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(evaluation["privacy"]["share_closer_than_baseline_median"].is_number(), "{evaluation}");
    assert!(std::fs::read_to_string(&page).unwrap().contains("<svg"));
    // Transfer entropy both ways, two estimators.
    let output = run(
        &data,
        &[
            "analyze",
            "te",
            &format!("{}:fertility", gapminder.display()),
            &format!("{}:life_expect", gapminder.display()),
            "--permutations",
            "10",
            "--json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let te: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(te.as_array().unwrap().len(), 4);
    assert!(te[0]["estimate"]["p_value"].as_f64().unwrap() > 0.0);
    // Misused flags and levels are user errors.
    for args in [
        vec!["generate", "--from", disasters, "--n", "5", "--series", "Deaths"],
        vec![
            "generate",
            "--from",
            disasters,
            "--n",
            "5",
            "--method",
            "sde",
            "--series",
            "Deaths",
            "--where",
            "Entity = 'x'",
        ],
        vec![
            "generate",
            "--from",
            disasters,
            "--n",
            "5",
            "--method",
            "block-bootstrap",
            "--series",
            "Deaths",
            "--where",
            "Deaths >= 1",
        ],
        vec!["generate", "--from", disasters, "--n", "5", "--method", "tilt"],
        vec!["analyze", "te", "nofile", "x:y"],
    ] {
        let output = run(&data, &args);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", stderr(&output));
    }
}

#[test]
fn generate_the_rarest_class_and_the_top_percent_of_every_demo_table() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let demo = shared().join("data/demo");
    let output = run(&data, &["ingest", demo.join("earthquakes.json").to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let path = |file: &str| demo.join(file).to_str().unwrap().to_owned();
    // (from, the rarest class, the top 1 % (the real q99), both again as SQL).
    let cases = [
        (
            path("disasters.csv"),
            "Entity = 'Mass movement (dry)'",
            "Deaths >= 2003396",
            "\"Entity\" = 'Mass movement (dry)'",
            "\"Deaths\" >= 2003396",
        ),
        (
            path("movies.json"),
            "`Major Genre` = 'Concert/Performance'",
            "`Worldwide Gross` >= 783705001",
            "\"Major Genre\" = 'Concert/Performance'",
            "\"Worldwide Gross\" >= 783705001",
        ),
        // A class with a single row (one flight from Bozeman).
        (path("flights-5k.json"), "origin = 'BZN'", "delay >= 136", "origin = 'BZN'", "delay >= 136"),
        ("earthquakes".to_owned(), "magType = 'mw'", "mag >= 5.3", "\"magType\" = 'mw'", "mag >= 5.3"),
    ];
    let mut k = 0;
    for (from, rare, tail, rare_sql, tail_sql) in &cases {
        for (condition, check) in [(rare, rare_sql), (tail, tail_sql)] {
            for method in ["copula", "mh"] {
                k += 1;
                let name = format!("demo{k}");
                let output = run(
                    &data,
                    &[
                        "generate", "--from", from, "--method", method, "--n", "200", "--where", condition,
                        "--seed", "1", "--name", &name,
                    ],
                );
                assert!(output.status.success(), "{from} {condition} {method}: {}", stderr(&output));
                let report: serde_json::Value = serde_json::from_str(
                    &std::fs::read_to_string(data.join(format!("tables/synthetic/{name}.report.json")))
                        .unwrap(),
                )
                .unwrap();
                assert_eq!(report["rows"], 200, "{from} {condition} {method}");
                let copies = report["against_all_real_rows"]["exact_copy_share"].as_f64().unwrap();
                assert_eq!(copies, 0.0, "{from} {condition} {method}: exact copies");
                let output = run(
                    &data,
                    &[
                        "sql",
                        &format!("SELECT count(*) AS n FROM synthetic.{name} WHERE NOT ({check})"),
                        "--format",
                        "csv",
                    ],
                );
                assert_eq!(stdout(&output), "n\n0\n", "{from} {condition} {method}: {}", stderr(&output));
            }
        }
    }
}

#[test]
fn generate_with_a_conditional_tvae() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let disasters = shared().join("data/demo/disasters.csv");
    let disasters = disasters.to_str().unwrap();
    let model = dir.path().join("tvae.json");
    let (first, second) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    let rare = "Entity = 'Mass movement (dry)'";
    let output = run(
        &data,
        &[
            "generate",
            "--from",
            disasters,
            "--method",
            "tvae",
            "--epochs",
            "20",
            "--n",
            "300",
            "--where",
            rare,
            "--seed",
            "4",
            "--name",
            "tvae1",
            "--model-out",
            model.to_str().unwrap(),
            "--out",
            first.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("300 rows by tvae"), "{}", stdout(&output));
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("tables/synthetic/tvae1.report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["training"]["epochs_run"], 20, "{report}");
    assert!(
        report["training"]["last_loss"].as_f64().unwrap()
            < report["training"]["first_loss"].as_f64().unwrap()
    );
    let text = std::fs::read_to_string(&first).unwrap();
    assert_eq!(text.lines().count(), 301);
    assert!(text.lines().skip(1).all(|l| l.starts_with("Mass movement (dry),")), "{}", &text[..200]);
    // The saved model samples the same rows again, without training.
    let output = run(
        &data,
        &[
            "generate",
            "--from",
            disasters,
            "--model-in",
            model.to_str().unwrap(),
            "--n",
            "300",
            "--where",
            rare,
            "--seed",
            "4",
            "--name",
            "tvae2",
            "--out",
            second.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(&second).unwrap(), text);
    // LoRA fine-tuning of the saved model on the rare class.
    let output = run(
        &data,
        &[
            "generate",
            "--from",
            disasters,
            "--model-in",
            model.to_str().unwrap(),
            "--fine-tune",
            "lora",
            "--rank",
            "4",
            "--epochs",
            "10",
            "--n",
            "100",
            "--where",
            rare,
            "--seed",
            "4",
            "--name",
            "tvae3",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("fine-tuned (lora) on 32 rows"), "{}", stdout(&output));
    // A checkpointed training resumes; a resume asking for no more epochs says why.
    let checkpoint = dir.path().join("checkpoint");
    let base =
        ["generate", "--from", disasters, "--method", "tvae", "--n", "10", "--seed", "4", "--checkpoint"];
    let at = checkpoint.to_str().unwrap();
    let output = run(&data, &[&base[..], &[at, "--epochs", "4", "--name", "ck1"]].concat());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(checkpoint.join("config.json").exists());
    let output = run(&data, &[&base[..], &[at, "--epochs", "6", "--resume", "--name", "ck2"]].concat());
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run(&data, &[&base[..], &[at, "--epochs", "6", "--resume", "--name", "ck3"]].concat());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("epochs already"), "{}", stderr(&output));
    // CUDA is refused with a clear message in a CPU build.
    let output =
        run(&data, &["generate", "--from", disasters, "--method", "tvae", "--device", "cuda", "--n", "5"]);
    if !cfg!(feature = "cuda") {
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(stderr(&output).contains("--features cuda"), "{}", stderr(&output));
    }
}

#[test]
fn generate_with_ctgan_diffusion_and_the_transformer() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let disasters = shared().join("data/demo/disasters.csv");
    let disasters = disasters.to_str().unwrap();
    let rare = "Entity = 'Mass movement (dry)'";
    for (method, extra) in [("ctgan", &[][..]), ("diffusion", &["--guidance", "2"][..])] {
        let out = dir.path().join(format!("{method}.csv"));
        let args = [
            "generate",
            "--from",
            disasters,
            "--method",
            method,
            "--epochs",
            "5",
            "--n",
            "120",
            "--where",
            rare,
            "--seed",
            "4",
            "--name",
            method,
            "--out",
            out.to_str().unwrap(),
        ];
        let output = run(&data, &[&args[..], extra].concat());
        assert!(output.status.success(), "{method}: {}", stderr(&output));
        assert!(stdout(&output).contains(&format!("120 rows by {method}")), "{}", stdout(&output));
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text.lines().count(), 121);
        assert!(text.lines().skip(1).all(|l| l.starts_with("Mass movement (dry),")), "{method}: {text}");
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(data.join(format!("tables/synthetic/{method}.report.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(report["training"]["epochs_run"], 5, "{report}");
        let output =
            run(&data, &["sql", &format!("SELECT count(*) AS n FROM synthetic.{method}"), "--format", "csv"]);
        assert_eq!(stdout(&output), "n\n120\n", "{}", stderr(&output));
    }
    // A series: one path per entity learnt, 30 paths of 40 steps generated (checkpointed).
    let checkpoint = dir.path().join("transformer-checkpoint");
    let series = ["--series", "Deaths", "--time", "Year", "--by", "Entity", "--epochs", "3", "--n", "30"];
    let output = run(
        &data,
        &[
            &["generate", "--from", disasters, "--method", "transformer"][..],
            &series[..],
            &[
                "--length",
                "40",
                "--seed",
                "2",
                "--name",
                "tseries",
                "--checkpoint",
                checkpoint.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("30 paths × 40 steps by transformer"), "{}", stdout(&output));
    let output = run(
        &data,
        &[
            "sql",
            "SELECT count(*) AS n, min(\"Deaths\") >= 0 AS ok FROM synthetic.tseries",
            "--format",
            "csv",
        ],
    );
    assert_eq!(stdout(&output), "n,ok\n1200,true\n", "{}", stderr(&output));
    let resume = ["--epochs", "5", "--resume", "--seed", "2", "--name", "tseries2", "--checkpoint"];
    let output = run(
        &data,
        &[
            &["generate", "--from", disasters, "--method", "transformer"][..],
            &series[..6],
            &["--n", "3"],
            &resume[..],
            &[checkpoint.to_str().unwrap()],
        ]
        .concat(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    // Text after its class: movie titles of a rare genre.
    let movies = shared().join("data/demo/movies.json");
    let model = dir.path().join("titles.json");
    let titles =
        ["generate", "--from", movies.to_str().unwrap(), "--method", "transformer", "--text", "Title"];
    let output = run(
        &data,
        &[
            &titles[..],
            &[
                "--by",
                "Major Genre",
                "--where",
                "`Major Genre` = 'Western'",
                "--epochs",
                "2",
                "--top-k",
                "10",
            ],
            &["--temperature", "0.9", "--n", "20", "--seed", "3", "--name", "titles"],
            &["--model-out", model.to_str().unwrap()],
        ]
        .concat(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("20 texts by transformer"), "{}", stdout(&output));
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("tables/synthetic/titles.report.json")).unwrap(),
    )
    .unwrap();
    assert!(report["text_measures"]["character_similarity"].as_f64().unwrap() > 0.0, "{report}");
    let output =
        run(&data, &["sql", "SELECT DISTINCT \"Major Genre\" AS g FROM synthetic.titles", "--format", "csv"]);
    assert_eq!(stdout(&output), "g\nWestern\n", "{}", stderr(&output));
    // The saved model generates again without training; a condition on another column is refused.
    let reload =
        ["--by", "Major Genre", "--model-in", model.to_str().unwrap(), "--n", "5", "--name", "titles2"];
    let output = run(&data, &[&titles[..], &reload[..]].concat());
    assert!(output.status.success(), "{}", stderr(&output));
    for (args, says) in [
        (
            vec![
                "--method",
                "transformer",
                "--text",
                "Title",
                "--by",
                "Major Genre",
                "--where",
                "`IMDB Rating` > 8",
            ],
            "names the class column",
        ),
        (vec!["--method", "transformer"], "either series"),
        (vec!["--method", "copula", "--text", "Title"], "--text applies to transformer"),
        (vec!["--method", "copula", "--guidance", "3"], "--guidance applies to diffusion"),
    ] {
        let output = run(
            &data,
            &[&["generate", "--from", movies.to_str().unwrap(), "--n", "5"][..], &args[..]].concat(),
        );
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(says), "{args:?}: {}", stderr(&output));
    }
}

#[test]
fn validate_the_store_with_shacl() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let storms = write(
        "storms.ttl",
        "@prefix ex: <http://example.org/kg#> .\n\
         ex:s1 a ex:Storm ; ex:peakGust 120 ; ex:basin \"north\" .\n\
         ex:s2 a ex:Storm ; ex:peakGust 250 ; ex:basin \"east\" .\n\
         ex:s3 a ex:Hurricane ; ex:basin \"south\" .\n\
         ex:q1 a ex:Quake ; ex:peakGust 999 .\n",
    );
    let ontology = write(
        "ontology.ttl",
        "<http://example.org/kg#Hurricane> <http://www.w3.org/2000/01/rdf-schema#subClassOf> <http://example.org/kg#Storm> .\n",
    );
    let shapes = write(
        "shapes.ttl",
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/kg#> .\n\
         ex:StormShape a sh:NodeShape ; sh:targetClass ex:Storm ;\n\
           sh:property [ sh:path ex:peakGust ; sh:maxExclusive 240 ; sh:minCount 1 ] ,\n\
                       [ sh:path ex:basin ; sh:in ( \"north\" \"south\" ) ] .\n",
    );
    for (file, graph) in [
        (&storms, "urn:sailkg:graph:source/storms/1"),
        (&ontology, "urn:sailkg:graph:ontology"),
        (&shapes, "urn:sailkg:graph:shapes"),
    ] {
        let output = run(&data, &["load", file, "--graph", graph]);
        assert!(output.status.success(), "{}", stderr(&output));
    }

    // Against the shapes graph: s2 breaks two constraints, the hurricane (a storm by the
    // hierarchy) has no gust; the quake is not a storm.
    let output = run(&data, &["validate"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains("maxExclusive on http://example.org/kg#peakGust: 1"), "{text}");
    assert!(text.contains("http://example.org/kg#s2 = 250"), "{text}");
    assert!(text.contains("in on http://example.org/kg#basin: 1"), "{text}");
    assert!(text.contains("minCount on http://example.org/kg#peakGust: 1"), "{text}");
    assert!(text.contains("3 focus nodes") && text.contains("3 violations"), "{text}");
    assert!(!text.contains("q1"), "{text}");
    assert!(stderr(&output).contains("does not conform"), "{}", stderr(&output));

    let json = run(&data, &["validate", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["conforms"], false);
    assert_eq!(report["findings"].as_array().unwrap().len(), 3, "{report}");
    assert!(report["findings"].as_array().unwrap().iter().any(|f| f["focus"] == "http://example.org/kg#s3"));

    // Against a file of shapes instead: the quakes' gusts are fine.
    let loose = write(
        "loose.ttl",
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/kg#> .\n\
         ex:QuakeShape a sh:NodeShape ; sh:targetClass ex:Quake ; sh:property [ sh:path ex:peakGust ; sh:maxInclusive 1000 ] .\n",
    );
    let output = run(&data, &["validate", "--shapes", &loose]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("1 focus nodes") && stdout(&output).contains("the data conforms"));
    // Only the shapes of a class (or its superclasses): hurricanes are storms.
    let output = run(&data, &["validate", "--class", "http://example.org/kg#Hurricane", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["focus_nodes"], 3, "{report}");
    let output = run(&data, &["validate", "--class", "http://example.org/kg#Quake"]);
    assert!(output.status.success() && stdout(&output).contains("0 focus nodes"), "{}", stdout(&output));

    // Bad input: a located parse error, a shapes graph that does not compile, a bad IRI.
    let broken =
        write("broken.ttl", "@prefix sh: <http://www.w3.org/ns/shacl#> .\n<http://e/S> sh:path <oops\n");
    let output = run(&data, &["validate", "--shapes", &broken]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("broken.ttl:2:"), "{}", stderr(&output));
    let wrong = write(
        "wrong.ttl",
        "<http://e/S> <http://www.w3.org/ns/shacl#targetClass> <http://example.org/kg#Storm> ; <http://www.w3.org/ns/shacl#path> \"gust\" .\n",
    );
    let output = run(&data, &["validate", "--shapes", &wrong]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("SHACL"), "{}", stderr(&output));
    let output = run(&data, &["validate", "--class", "not an iri"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("--class"), "{}", stderr(&output));
}
