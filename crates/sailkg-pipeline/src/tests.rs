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

/// Records the steps it runs; fails the ones named in `fail`.
struct Recorder {
    ran: Vec<String>,
    fail: Vec<String>,
}

impl Executor for Recorder {
    fn execute(&mut self, _: &Pipeline, step: &Step) -> Result<String, String> {
        self.ran.push(step.id.clone());
        if self.fail.contains(&step.id) { Err("broken".into()) } else { Ok(format!("did {}", step.id)) }
    }
}

#[test]
fn unchanged_steps_are_skipped_and_a_failed_run_resumes() {
    let (dir, path) = folder();
    let state = dir.path().join("state").join("demo.json");
    let pipeline = Pipeline::parse(&path, GOOD).unwrap();
    let all: Vec<String> = pipeline.plan().into_iter().map(|s| s.id).collect();
    let mut events = 0;
    let run = |fail: &[&str], dry_run: bool, events: &mut usize| {
        let pipeline = Pipeline::parse(&path, GOOD).unwrap();
        let mut recorder = Recorder { ran: Vec::new(), fail: fail.iter().map(|s| (*s).to_owned()).collect() };
        let report = execute(&pipeline, &state, &mut recorder, dry_run, &mut |_| *events += 1).unwrap();
        (recorder.ran, report)
    };
    // The mapping fails: the link and the class job wait for it and are blocked; the source
    // job, which does not, runs.
    let (ran, report) = run(&["map:map.yml"], false, &mut events);
    assert!(!report.succeeded());
    let outcome =
        |report: &RunReport, id: &str| report.steps.iter().find(|s| s.id == id).unwrap().outcome.clone();
    assert_eq!(outcome(&report, "map:map.yml"), Outcome::Failed);
    assert_eq!(outcome(&report, "link:links.toml"), Outcome::Blocked);
    assert_eq!(outcome(&report, "generate:storms"), Outcome::Blocked);
    assert_eq!(outcome(&report, "generate:rare_disasters"), Outcome::Ran);
    assert!(!ran.contains(&"link:links.toml".to_owned()));
    assert!(events >= all.len());
    // The rerun resumes: only the failed step and those behind it run.
    let (ran, report) = run(&[], false, &mut events);
    assert!(report.succeeded());
    assert_eq!(ran, ["map:map.yml", "link:links.toml", "generate:storms"]);
    // Nothing changed: nothing runs; a dry run says so too.
    assert!(run(&[], false, &mut events).0.is_empty());
    let (ran, report) = run(&[], true, &mut events);
    assert!(ran.is_empty() && report.steps.iter().all(|s| s.outcome == Outcome::Skipped));
    // A changed source file reruns its ingest and everything downstream of it, not the rest.
    std::fs::write(dir.path().join("disasters.csv"), "y").unwrap();
    let (ran, _) = run(&[], true, &mut events);
    assert!(ran.is_empty(), "a dry run runs nothing");
    let (ran, _) = run(&[], false, &mut events);
    assert_eq!(
        ran,
        ["ingest:disasters", "map:map.yml", "link:links.toml", "generate:rare_disasters", "generate:storms"]
    );
    // A changed job setting reruns that job only.
    let edited = GOOD.replace("n = 50", "n = 60");
    let pipeline = Pipeline::parse(&path, &edited).unwrap();
    let mut recorder = Recorder { ran: Vec::new(), fail: Vec::new() };
    execute(&pipeline, &state, &mut recorder, false, &mut |_| {}).unwrap();
    assert_eq!(recorder.ran, ["generate:storms"]);
    // An input gone after validation is that step's failure, located by its path.
    let pipeline = Pipeline::parse(&path, GOOD).unwrap();
    std::fs::remove_file(dir.path().join("links.toml")).unwrap();
    let report =
        execute(&pipeline, &state, &mut Recorder { ran: Vec::new(), fail: Vec::new() }, false, &mut |_| {})
            .unwrap();
    let link = report.steps.iter().find(|s| s.id == "link:links.toml").unwrap();
    assert_eq!(link.outcome, Outcome::Failed);
    assert!(link.message.contains("links.toml"), "{}", link.message);
    // A damaged state file is an error that says how to recover.
    std::fs::write(&state, "{").unwrap();
    let error =
        execute(&pipeline, &state, &mut Recorder { ran: Vec::new(), fail: Vec::new() }, false, &mut |_| {})
            .unwrap_err();
    assert!(error.contains("delete it"), "{error}");
}

#[test]
fn suggested_mappings_and_job_outputs_are_checked_too() {
    let (dir, path) = folder();
    let text = GOOD.replace(
        "[[mapping]]\npath = \"map.yml\"\n",
        "[[mapping]]\npath = \"map.yml\"\n\n[[mapping]]\nsource = \"movies\"\nontology = \"http://schema.org/\"\n",
    );
    let text = text
        .replace("seed = 1\n", "seed = 1\nholdout = 0.2\ntarget = \"Entity\"\nout = \"out/rare.parquet\"\n");
    let pipeline = Pipeline::parse(&path, &text).unwrap();
    assert_eq!(
        pipeline.mappings[1],
        Mapping::Auto { source: "movies".into(), ontology: "http://schema.org/".into(), base: None }
    );
    let job = &pipeline.jobs[0];
    assert_eq!((job.holdout, job.target.as_deref()), (Some(0.2), Some("Entity")));
    assert_eq!(job.out.as_deref(), Some(dir.path().join("out/rare.parquet").as_path()));
    let plan = pipeline.plan();
    let auto = plan.iter().find(|s| s.id == "map:auto-movies").unwrap();
    assert!(auto.after.contains(&"ingest:movies".to_owned()) && auto.inputs.is_empty());
    // The class job waits for the suggested mapping too.
    assert!(plan.iter().find(|s| s.id == "generate:storms").unwrap().after.contains(&auto.id));

    let bad = GOOD
        .replace(
            "[[mapping]]\npath = \"map.yml\"\n",
            "[[mapping]]\nsource = \"movie\"\nontology = \"http://schema.org/\"\n\n[[mapping]]\nsource = \"movies\"\n\n[[mapping]]\npath = \"map.yml\"\nsource = \"movies\"\n\n[[mapping]]\npath = \"map.yml\"\nbase = \"http://e/\"\n",
        )
        .replace("seed = 1\n", "seed = 1\nholdout = 1.5\nout = \"rare.txt\"\n");
    let errors = Pipeline::parse(&path, &bad).unwrap_err().0;
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    for expected in [
        "no source \"movie\"",
        "needs ontology",
        "not both",
        "ontology and base belong to a suggested mapping",
        "holdout = 1.5",
        "out = \"rare.txt\"",
    ] {
        assert!(messages.iter().any(|m| m.contains(expected)), "{expected}: {messages:?}");
    }
    assert_eq!(errors.len(), 6, "{errors:#?}");
}
