//! `sailkg run`: a pipeline validated, run, skipped when unchanged, resumed after a failure and
//! recorded as PROV.

use crate::{run, stderr, stdout};
use std::path::Path;

fn count(data: &Path, query: &str) -> String {
    let output = run(data, &["query", query, "--format", "csv"]);
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output).lines().nth(1).unwrap_or_default().to_owned()
}

const PIPELINE: &str = r#"[pipeline]
name = "small"

[[source]]
name = "airports"
path = "data/airports.csv"

[[source]]
name = "disasters"
path = "data/disasters.csv"

[[source]]
name = "gapminder"
path = "data/gapminder.json"

[[ontology]]
path = "ontology.ttl"

[[mapping]]
path = "mappings/airports.yml"

[[mapping]]
source = "gapminder"
ontology = "urn:sailkg:demo:gapminder#"

[[generate]]
name = "rare_disasters"
from = "disasters"
method = "copula"
where = "Entity = 'Mass movement (dry)'"
n = 50
seed = 1
holdout = 0.25
target = "Entity"
out = "out/rare.csv"

[[generate]]
name = "alaska"
from = "kg.airport"
where = "address_region = 'AK'"
n = 20
seed = 2
"#;

#[test]
fn run_skips_unchanged_steps_resumes_after_a_failure_and_records_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data-dir");
    // The demo's own files, as `sailkg demo` has them.
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo");
    let project = dir.path().join("project");
    for file in [
        "data/airports.csv",
        "data/disasters.csv",
        "data/gapminder.json",
        "ontology.ttl",
        "mappings/airports.yml",
    ] {
        std::fs::create_dir_all(project.join(file).parent().unwrap()).unwrap();
        std::fs::copy(demo.join(file), project.join(file)).unwrap();
    }
    let path = project.join("pipeline.toml");
    let file = path.to_str().unwrap();

    // Every mistake at once, located, exit 1, nothing done.
    std::fs::write(
        &path,
        PIPELINE.replace("\"copula\"", "\"copola\"").replace("data/disasters.csv", "nope.csv"),
    )
    .unwrap();
    let output = run(&data, &["run", file]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let error = stderr(&output);
    assert!(error.contains("pipeline.toml:10:8") && error.contains("nope.csv"), "{error}");
    assert!(!error.contains("gapminder"), "{error}");
    assert!(error.contains("copola") && error.contains("copula"), "{error}");
    assert!(!data.join("store").exists());

    // A mapping that fails: the sources and the source job are done, the class job waits.
    std::fs::write(&path, PIPELINE).unwrap();
    let mapping = project.join("mappings/airports.yml");
    let good = std::fs::read_to_string(&mapping).unwrap();
    std::fs::write(&mapping, good.replace("$(iata)", "$(no_such_column)")).unwrap();
    let output = run(&data, &["run", file]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("map:airports.yml FAILED") && text.contains("no_such_column"), "{text}");
    assert!(text.contains("generate:alaska blocked"), "{text}");
    assert!(text.contains("generate:rare_disasters done"), "{text}");
    assert!(stderr(&output).contains("again resumes"), "{}", stderr(&output));

    // Fixed, the rerun does only what is left.
    std::fs::write(&mapping, &good).unwrap();
    let output = run(&data, &["run", file]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("ingest:airports skipped") && text.contains("generate:rare_disasters skipped"),
        "{text}"
    );
    assert!(text.contains("map:airports.yml done") && text.contains("generate:alaska done"), "{text}");
    let sql = |statement: &str| {
        let output = run(&data, &["sql", statement, "--format", "csv"]);
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output).lines().nth(1).unwrap_or_default().to_owned()
    };
    assert_eq!(
        sql("SELECT count(*) FROM synthetic.rare_disasters WHERE \"Entity\" = 'Mass movement (dry)'"),
        "50"
    );
    assert_eq!(sql("SELECT count(*) FROM synthetic.alaska WHERE address_region = 'AK'"), "20");
    // The suggested mapping, kept for review, put gapminder's rows into the graph.
    assert!(data.join("pipelines/small/gapminder.suggested.ttl").exists());
    let rows = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?r a <urn:sailkg:demo:gapminder#CountryYear> ; <urn:sailkg:demo:gapminder#lifeExpectancy> ?l } }";
    assert_eq!(count(&data, rows), "682");
    // The job's output file and its evaluation on held-out rows.
    let out = std::fs::read_to_string(project.join("out/rare.csv")).unwrap();
    assert_eq!(out.lines().count(), 51, "{out}");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data.join("tables/synthetic/rare_disasters.report.json")).unwrap(),
    )
    .unwrap();
    assert!(report["holdout_rows"].as_u64().unwrap() > 100 && !report["utility"].is_null(), "{report}");

    // Nothing changed: a dry run and a run do nothing.
    let output = run(&data, &["run", file, "--dry-run"]);
    assert!(output.status.success() && !stdout(&output).contains("would run"), "{}", stdout(&output));
    let output = run(&data, &["run", file, "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report["steps"].as_array().unwrap().iter().all(|s| s["outcome"] == "skipped"), "{report}");

    // A changed job replaces its rows; the other steps stay.
    std::fs::write(&path, PIPELINE.replace("n = 50", "n = 70")).unwrap();
    let output = run(&data, &["run", file, "--dry-run"]);
    let text = stdout(&output);
    assert!(
        text.contains("generate:rare_disasters would run") && !text.contains("ingest:airports would run"),
        "{text}"
    );
    assert_eq!(sql("SELECT count(*) FROM synthetic.rare_disasters"), "50", "a dry run changes nothing");
    let output = run(&data, &["run", file]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(sql("SELECT count(*) FROM synthetic.rare_disasters"), "70");
    let runs = "SELECT (COUNT(*) AS ?n) { GRAPH <urn:sailkg:graph:catalog> { <urn:sailkg:run:generate/rare_disasters> <http://www.w3.org/ns/prov#startedAtTime> ?t } }";
    assert_eq!(count(&data, runs), "1", "the replaced run's provenance is gone");

    // Each run is PROV: four runs with their steps, the failed one too.
    let prov = "PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX sail: <urn:sailkg:vocab#> \
        SELECT (COUNT(DISTINCT ?run) AS ?n) { GRAPH <urn:sailkg:graph:catalog> { \
        ?run a sail:PipelineRun ; prov:used ?file ; prov:startedAtTime ?t . \
        ?step <http://purl.org/dc/terms/isPartOf> ?run ; sail:outcome ?o } }";
    assert_eq!(count(&data, prov), "4");
    let failed = "PREFIX sail: <urn:sailkg:vocab#> SELECT (COUNT(*) AS ?n) { GRAPH <urn:sailkg:graph:catalog> { \
        ?run sail:status \"failed\" . ?step <http://purl.org/dc/terms/isPartOf> ?run ; sail:outcome \"failed\" } }";
    assert_eq!(count(&data, failed), "1");
    let informed = "SELECT (COUNT(*) AS ?n) { GRAPH <urn:sailkg:graph:catalog> { \
        <urn:sailkg:run:generate/rare_disasters> <http://www.w3.org/ns/prov#wasInformedBy> ?step } }";
    assert_eq!(count(&data, informed), "1");
}
