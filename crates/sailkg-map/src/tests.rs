use super::*;
use oxigraph::model::dataset::CanonicalizationAlgorithm;
use oxigraph::model::{Dataset, Quad};

fn shared() -> PathBuf {
    match std::env::var_os("SAILKG_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn no_catalogue(name: &str) -> std::result::Result<PathBuf, String> {
    Err(format!("no catalogue table {name}"))
}

fn run(mapping: &Mapping) -> Result<Vec<Quad>> {
    let mut quads = Vec::new();
    mapping.run(&no_catalogue, &mut |q| {
        quads.push(q.into_owned());
        Ok(())
    })?;
    Ok(quads)
}

fn canonical(quads: impl IntoIterator<Item = Quad>) -> Dataset {
    let mut dataset: Dataset = quads.into_iter().collect();
    dataset.canonicalize(CanonicalizationAlgorithm::Unstable);
    dataset
}

/// A directory with the given files.
fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn yarrrml_with_a_join_gives_what_the_rml_case_gives() {
    let case = shared().join("conformance/rml/core/RMLTC0009a-JSON");
    let yarrrml = r#"
prefixes:
  foaf: http://xmlns.com/foaf/0.1/
  rdfs: http://www.w3.org/2000/01/rdf-schema#
mappings:
  student:
    sources: [student.json~jsonpath, "$.students[*]"]
    s: http://example.com/resource/student_$(ID)
    po:
      - [foaf:name, $(Name)]
      - p: http://example.com/ontology/practises
        o:
          mapping: sport
          condition:
            function: equal
            parameters:
              - [str1, $(Sport)]
              - [str2, $(ID)]
  sport:
    sources: [sport.json~jsonpath, "$.sports[*]"]
    s: http://example.com/resource/sport_$(ID)
    po:
      - [rdfs:label, $(Name)]
"#;
    let dir = tempfile::tempdir().unwrap();
    for name in ["student.json", "sport.json"] {
        std::fs::copy(case.join(name), dir.path().join(name)).unwrap();
    }
    std::fs::write(dir.path().join("mapping.yml"), yarrrml).unwrap();
    let mapping = Mapping::from_file(&dir.path().join("mapping.yml"), &MapOptions::default()).unwrap();
    let expected: Vec<Quad> = RdfParser::from_format(RdfFormat::NQuads)
        .for_slice(&std::fs::read(case.join("output.nq")).unwrap())
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    assert_eq!(canonical(run(&mapping).unwrap()), canonical(expected));
}

#[test]
fn yarrrml_datatypes_languages_iris_and_templates() {
    let dir = dir_with(&[
        ("people.csv", "id,name,lang,home,age\n1,Ann,en,http://ann.example/,41\n2,Bo {x},ko,,\n"),
        (
            "m.yaml",
            r#"
prefixes: {ex: "http://example.com/"}
mappings:
  person:
    sources: [people.csv~csv]
    s: ex:person/$(id)
    po:
      - [a, ex:Person]
      - [ex:name, $(name), $(lang)~lang]
      - [ex:label, "Person $(name)"]
      - [ex:age, $(age), xsd:integer]
      - [ex:home, $(home)~iri]
      - [ex:motto, "hello", en~lang]
"#,
        ),
    ]);
    let mapping = Mapping::from_file(&dir.path().join("m.yaml"), &MapOptions::default()).unwrap();
    let text: Vec<String> = run(&mapping).unwrap().iter().map(|q| q.to_string()).collect();
    let has = |s: &str| assert!(text.iter().any(|t| t == s), "{s} not in {text:#?}");
    has(
        "<http://example.com/person/1> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://example.com/Person>",
    );
    has("<http://example.com/person/1> <http://example.com/name> \"Ann\"@en");
    has("<http://example.com/person/2> <http://example.com/name> \"Bo {x}\"@ko");
    has("<http://example.com/person/2> <http://example.com/label> \"Person Bo {x}\"");
    has(
        "<http://example.com/person/1> <http://example.com/age> \"41\"^^<http://www.w3.org/2001/XMLSchema#integer>",
    );
    has("<http://example.com/person/1> <http://example.com/home> <http://ann.example/>");
    has("<http://example.com/person/1> <http://example.com/motto> \"hello\"@en");
    // Current RML: an empty CSV field is an empty string, not a missing value.
    has("<http://example.com/person/2> <http://example.com/home> <http://example.com/>");
}

#[test]
fn parquet_columns_keep_their_natural_datatypes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(shared().join("data/demo/flights-100k.parquet"), dir.path().join("flights.parquet"))
        .unwrap();
    std::fs::write(
        dir.path().join("m.yml"),
        "mappings:\n  flight:\n    sources: [flights.parquet~parquet]\n    s: http://example.com/flight/$(origin)-$(destination)-$(date)\n    po:\n      - [http://example.com/delay, $(delay)]\n      - [http://example.com/origin, http://example.com/airport/$(origin)~iri]\n",
    )
    .unwrap();
    let mapping = Mapping::from_file(&dir.path().join("m.yml"), &MapOptions::default()).unwrap();
    let mut count = 0u64;
    let mut sample = None;
    let report = mapping
        .run(&no_catalogue, &mut |q| {
            count += 1;
            if sample.is_none() && q.predicate.as_str().ends_with("delay") {
                sample = Some(q.object.to_string());
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(report.records, 100_000);
    assert_eq!(count, report.quads);
    assert_eq!(count, 200_000);
    let sample = sample.unwrap();
    assert!(sample.ends_with("^^<http://www.w3.org/2001/XMLSchema#integer>"), "{sample}");
}

#[test]
fn bad_mappings_fail_with_their_location_before_any_output() {
    let source = "id,name\n1,a\n";
    let cases: [(&str, &str, &str); 8] = [
        (
            "missing file",
            "mappings:\n  m:\n    sources: [nothere.csv~csv]\n    s: http://e/$(id)\n    po: [[http://e/p, $(name)]]\n",
            "nothere.csv",
        ),
        (
            "missing column",
            "mappings:\n  m:\n    sources: [data.csv~csv]\n    s: http://e/$(id)\n    po: [[http://e/p, $(nope)]]\n",
            "no column \"nope\"",
        ),
        (
            "invalid JSONPath",
            "mappings:\n  m:\n    sources: [data.json~jsonpath, \"$.a[*]]\"]\n    s: http://e/$(id)\n",
            "invalid JSONPath",
        ),
        (
            "invalid XPath",
            "mappings:\n  m:\n    sources: [data.xml~xpath, \"/a/b[\"]\n    s: http://e/$(id)\n",
            "invalid XPath",
        ),
        (
            "unclosed template",
            "mappings:\n  m:\n    sources: [data.csv~csv]\n    s: \"http://e/$(id\"\n",
            "unclosed",
        ),
        ("malformed YAML", "mappings:\n  m: [\n", "not valid YAML"),
        (
            "unknown join key",
            "mappings:\n  m:\n    sources: [data.csv~csv]\n    s: http://e/$(id)\n    po:\n      - p: http://e/p\n        o:\n          mapping: n\n          condition:\n            function: equal\n            parameters: [[str1, $(nokey)], [str2, $(id)]]\n  n:\n    sources: [data.csv~csv]\n    s: http://e/n/$(id)\n",
            "no column \"nokey\"",
        ),
        (
            "unknown parent",
            "mappings:\n  m:\n    sources: [data.csv~csv]\n    s: http://e/$(id)\n    po:\n      - p: http://e/p\n        o: {mapping: ghost}\n",
            "ghost",
        ),
    ];
    for (what, yarrrml, expected) in cases {
        let dir = dir_with(&[
            ("data.csv", source),
            ("data.json", "{\"a\": []}"),
            ("data.xml", "<a/>"),
            ("m.yml", yarrrml),
        ]);
        let result =
            Mapping::from_file(&dir.path().join("m.yml"), &MapOptions::default()).and_then(|m| run(&m));
        let error = result.expect_err(what).to_string();
        assert!(error.contains(expected), "{what}: {error}");
        assert!(error.contains("m.yml"), "{what}: the error names the mapping file: {error}");
    }
    // A Turtle mapping error names the triples map and the term map.
    let dir = dir_with(&[
        ("data.csv", source),
        (
            "m.ttl",
            "@prefix rml: <http://w3id.org/rml/> .\n<#T> rml:logicalSource [ rml:source [ rml:path \"data.csv\" ] ; rml:referenceFormulation rml:CSV ] ;\n  rml:subjectMap [ rml:template \"http://e/{id}\" ] ;\n  rml:predicateObjectMap [ rml:predicate <http://e/p> ; rml:objectMap [ rml:reference \"gone\" ] ] .\n",
        ),
    ]);
    let error = Mapping::from_file(&dir.path().join("m.ttl"), &MapOptions::default())
        .and_then(|m| run(&m))
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("m.ttl") && text.contains("#T>") && text.contains("object map 1"), "{text}");
}
