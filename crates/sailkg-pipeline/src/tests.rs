use super::*;

/// A folder with the files a pipeline names, and the pipeline's path in it.
fn folder() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for file in
        ["disasters.csv", "movies.json", "demo.ttl", "shapes.ttl", "map.yml", "links.toml", "rules.toml"]
    {
        std::fs::write(dir.path().join(file), "x").unwrap();
    }
    let path = dir.path().join("pipeline.toml");
    (dir, path)
}

const GOOD: &str = r#"[pipeline]
name = "demo"

[[source]]
name = "disasters"
path = "disasters.csv"
rules = "rules.toml"

[[source]]
name = "movies"
path = "movies.json"
format = "json"

[[ontology]]
path = "demo.ttl"

[[shapes]]
path = "shapes.ttl"

[[mapping]]
path = "map.yml"

[[link]]
path = "links.toml"

[[generate]]
name = "rare_disasters"
from = "disasters"
where = "Entity = 'Mass movement (dry)'"
n = 200
seed = 1

[[generate]]
name = "storms"
from = "kg.storm"
method = "tvae"
n = 50
epochs = 20
"#;

#[test]
fn a_good_pipeline_is_read_and_planned() {
    let (dir, path) = folder();
    let pipeline = Pipeline::parse(&path, GOOD).unwrap();
    assert_eq!(pipeline.name, "demo");
    assert_eq!(pipeline.sources[0].path, dir.path().join("disasters.csv"));
    assert_eq!(pipeline.sources[0].format, "auto");
    assert_eq!(pipeline.sources[1].format, "json");
    assert_eq!(pipeline.jobs[0].method, "copula");
    assert_eq!(pipeline.jobs[1].epochs, Some(20));
    let plan = pipeline.plan();
    let ids: Vec<&str> = plan.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "ingest:disasters",
            "ingest:movies",
            "ontology:demo.ttl",
            "shapes:shapes.ttl",
            "map:map.yml",
            "link:links.toml",
            "generate:rare_disasters",
            "generate:storms"
        ]
    );
    // Every step comes after the steps it waits for.
    for (i, step) in plan.iter().enumerate() {
        for after in &step.after {
            let j = ids.iter().position(|id| id == after).unwrap();
            assert!(j < i, "{} waits for {after}", step.id);
        }
    }
    assert_eq!(plan[6].after, ["ingest:disasters"]);
    assert_eq!(plan[7].after, ["map:map.yml", "link:links.toml", "shapes:shapes.ttl"]);
    assert_eq!(plan[0].inputs, [dir.path().join("disasters.csv"), dir.path().join("rules.toml")]);
}

#[test]
fn every_mistake_is_reported_at_its_place_with_a_hint() {
    let (_dir, path) = folder();
    let text = GOOD
        .replace("path = \"movies.json\"", "path = \"films.json\"")
        .replace("format = \"json\"", "format = \"jsn\"")
        .replace("from = \"disasters\"", "from = \"disaster\"")
        .replace("method = \"tvae\"", "method = \"tvea\"")
        .replace("n = 200", "n = 0")
        .replace("Entity = 'Mass movement (dry)'", "Entity = 'Mass movement");
    let errors = Pipeline::parse(&path, &text).unwrap_err().0;
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let find = |needle: &str| {
        errors.iter().find(|e| e.message.contains(needle)).unwrap_or_else(|| panic!("{needle}: {errors:#?}"))
    };
    let missing = find("\"films.json\" does not exist");
    assert_eq!((missing.line, missing.column), (line_of("films.json"), 8));
    assert!(find("unknown format \"jsn\"").hint.as_ref().unwrap().contains("did you mean \"json\""));
    let source = find("no source \"disaster\"");
    assert_eq!(source.line, line_of("from = \"disaster\""));
    assert!(source.hint.as_ref().unwrap().contains("did you mean \"disasters\""));
    assert!(find("unknown method \"tvea\"").hint.as_ref().unwrap().contains("did you mean \"tvae\""));
    assert_eq!(find("n = 0").line, line_of("n = 0"));
    let condition = find("where:");
    assert_eq!(condition.line, line_of("where ="));
    assert!(condition.column > 9, "inside the string: {condition:?}");
    assert_eq!(errors.len(), 6, "{errors:#?}");
    // The whole report reads file:line:column: message, with the hint below.
    let report = Invalid(errors).to_string();
    assert!(
        report.contains(&format!("{}:{}:8: source file", path.display(), line_of("films.json"))),
        "{report}"
    );
    assert!(report.contains("\n  hint: "));
}

#[test]
fn syntax_and_unknown_keys_are_located_too() {
    let (_dir, path) = folder();
    let error =
        Pipeline::parse(&path, "[pipeline]\nname = \"x\"\n[[source]]\nname = \"a\"\npath = \n").unwrap_err();
    assert_eq!(error.0[0].line, 5, "{error}");
    let error = Pipeline::parse(
        &path,
        "[pipeline]\nname = \"x\"\n\n[[generate]]\nname = \"a\"\nfrom = \"kg.x\"\nn = 1\nrows = 3\n",
    )
    .unwrap_err();
    assert_eq!(error.0[0].line, 8, "{error}");
    assert!(error.0[0].message.contains("unknown field `rows`"), "{error}");
    let error = Pipeline::parse(&path, "[[source]]\nname = \"a b\"\npath = \"disasters.csv\"\n[[source]]\nname = \"c\"\npath = \"disasters.csv\"\n[[source]]\nname = \"c\"\npath = \"disasters.csv\"\n").unwrap_err();
    let messages: Vec<&str> = error.0.iter().map(|e| e.message.as_str()).collect();
    assert!(messages.contains(&"no [pipeline] table"), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("source name \"a b\"")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("a second source named \"c\"")), "{messages:?}");
    assert!(
        Pipeline::read(&path.with_file_name("missing.toml")).unwrap_err().to_string().contains("cannot read")
    );
}

#[test]
fn the_example_pipeline_in_config_is_valid_where_its_files_are() {
    let text = include_str!("../../../config/pipeline.example.toml");
    let (dir, path) = folder();
    for file in [
        "data/disasters.csv",
        "data/movies.json",
        "ontologies/demo.ttl",
        "ontologies/demo-shapes.ttl",
        "mappings/disasters.yml",
        "links/airports.toml",
    ] {
        let at = dir.path().join(file);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(at, "x").unwrap();
    }
    let pipeline = Pipeline::parse(&path, text).unwrap_or_else(|e| panic!("{e}"));
    assert!(!pipeline.jobs.is_empty() && !pipeline.sources.is_empty());
}
