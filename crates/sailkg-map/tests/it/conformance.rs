//! The RML test cases in `../shared/conformance/rml`, data-driven: each case's mapping runs with
//! the case directory as its base, and the output is compared with the expected N-Quads as RDF
//! datasets (blank nodes canonicalised). A case without expected output must fail. Cases in
//! `tests/rml-skip.txt` are skipped, each with its reason.

use crate::shared;
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::dataset::CanonicalizationAlgorithm;
use oxigraph::model::{Dataset, Quad};
use sailkg_map::{MapOptions, Mapping};
use std::collections::HashMap;
use std::path::Path;

fn skips() -> HashMap<String, String> {
    let text = include_str!("../rml-skip.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, reason) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            assert!(!reason.trim().is_empty(), "skip of {id} has no reason");
            (id.to_owned(), reason.trim().to_owned())
        })
        .collect()
}

fn canonical(quads: impl IntoIterator<Item = Quad>) -> Dataset {
    let mut dataset: Dataset = quads.into_iter().collect();
    dataset.canonicalize(CanonicalizationAlgorithm::Unstable);
    dataset
}

/// The legacy cases whose metadata says an error is expected (some ship an empty output file).
fn legacy_errors(root: &Path) -> Vec<String> {
    let mut reader = csv::Reader::from_path(root.join("metadata.csv")).unwrap();
    reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| r.get(8).map(str::trim) == Some("true"))
        .map(|r| r[0].to_owned())
        .collect()
}

/// Runs one case: `Ok(())` when it behaves as expected, else why not.
fn run_case(dir: &Path, expected: Option<&Path>, base: &str) -> Result<(), String> {
    let options = MapOptions { base: base.to_owned(), working_dir: Some(dir.to_path_buf()) };
    let result = Mapping::from_file(&dir.join("mapping.ttl"), &options).and_then(|mapping| {
        let mut quads = Vec::new();
        mapping.run(&|name| Err(format!("no catalogue table {name}")), &mut |q| {
            quads.push(q.into_owned());
            Ok(())
        })?;
        Ok(quads)
    });
    match (expected, result) {
        (None, Err(_)) => Ok(()),
        (None, Ok(quads)) => Err(format!("expected an error, got {} quads", quads.len())),
        (Some(_), Err(e)) => Err(format!("unexpected error: {e}")),
        (Some(expected), Ok(quads)) => {
            let text = std::fs::read(expected).map_err(|e| e.to_string())?;
            let wanted: Vec<Quad> = RdfParser::from_format(RdfFormat::NQuads)
                .for_slice(&text)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("expected output does not parse: {e}"))?;
            let (got, wanted) = (canonical(quads), canonical(wanted));
            if got == wanted {
                Ok(())
            } else {
                let missing: Vec<String> =
                    wanted.iter().filter(|q| !got.contains(*q)).map(|q| q.to_string()).collect();
                let extra: Vec<String> =
                    got.iter().filter(|q| !wanted.contains(*q)).map(|q| q.to_string()).collect();
                Err(format!("missing {missing:#?}\nextra {extra:#?}"))
            }
        }
    }
}

fn run_suite(suite: &str, base: &str, filter: impl Fn(&str) -> bool) {
    let root = shared().join("conformance/rml").join(suite);
    let skips = skips();
    let errors = if suite == "legacy-rmlio" { legacy_errors(&root) } else { Vec::new() };
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("mapping.ttl").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|id| filter(id))
        .collect();
    cases.sort();
    let (mut passed, mut skipped, mut failures) = (0, 0, Vec::new());
    for id in &cases {
        let key = format!("{suite}/{id}");
        if skips.contains_key(&key) {
            skipped += 1;
            continue;
        }
        let dir = root.join(id);
        let expected = ["output.nq", "default.nq"]
            .iter()
            .map(|name| dir.join(name))
            .find(|path| path.exists() && !errors.contains(id));
        match run_case(&dir, expected.as_deref(), base) {
            Ok(()) => passed += 1,
            Err(why) => failures.push(format!("{key}: {why}")),
        }
    }
    eprintln!("{suite}: {passed} passed, {skipped} skipped, {} failed of {}", failures.len(), cases.len());
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(passed > 0);
}

#[test]
fn rml_core() {
    run_suite("core", "http://example.com/", |_| true);
}

#[test]
fn rml_legacy_csv_json_xml() {
    // The legacy cases resolve relative IRIs against their mappings' @base.
    run_suite("legacy-rmlio", "http://example.com/base/", |_| true);
}

#[test]
fn rml_io_sources() {
    run_suite("io", "http://example.com/", |id| id.starts_with("RMLSTC"));
}
