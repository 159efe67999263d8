//! The W3C SPARQL 1.0 and 1.1 test suites, run as data through the HTTP endpoint.
//!
//! Each manifest is one test. Data is uploaded with the Graph Store Protocol, queries and updates
//! go through the SPARQL Protocol, results come back over HTTP and are compared as multisets up to
//! blank-node renaming. Tests that cannot pass are listed with a reason in `skip.txt`; a listed
//! test that passes fails the run, so the list cannot go stale.

use crate::manifest::*;
use crate::support::{TOKEN, TestServer, send, shared};
use oxigraph::model::*;
use oxigraph::sparql::results::QueryResultsFormat;
use std::collections::HashMap;

const SKIP_LIST: &str = include_str!("skip.txt");

fn skip_list() -> HashMap<String, String> {
    SKIP_LIST
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
        .collect()
}

/// The skip key of a test: its IRI relative to the conformance folder, so the list does not
/// depend on where `shared/` lives.
fn key(test_iri: &str) -> String {
    let root = file_url(&shared().join("conformance").canonicalize().expect("conformance"));
    test_iri.strip_prefix(&root).map_or(test_iri, |r| r.trim_start_matches('/')).to_owned()
}

pub fn run_manifest(relative: &str) {
    let skips = skip_list();
    if let Some(reason) = skips.get(relative) {
        eprintln!("skipping the whole manifest {relative}: {reason}");
        return;
    }
    let path = shared().join("conformance").join(relative);
    let manifest = Manifest::load(&path);
    let includes = manifest.list(manifest.object(manifest.root(), &iri(MF, "include")));
    if manifest.entries().is_empty() && !includes.is_empty() {
        for include in includes {
            if let Term::NamedNode(n) = include {
                run_manifest(&key(n.as_str()));
            }
        }
        return;
    }
    let server = TestServer::start();
    let (mut passed, mut skipped, mut failures, mut stale) = (0, 0, Vec::new(), Vec::new());
    let entries = manifest.entries();
    assert!(!entries.is_empty(), "{relative} has no entries");
    for entry in entries {
        let Some(test) = as_subject(&entry) else { continue };
        let name = match &test {
            NamedOrBlankNode::NamedNode(n) => key(n.as_str()),
            NamedOrBlankNode::BlankNode(b) => b.to_string(),
        };
        if manifest.object(test.clone(), &iri(DAWGT, "approval")) == Some(iri(DAWGT, "Withdrawn").into()) {
            continue;
        }
        clear(&server);
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_test(&server, &manifest, &test)))
                .unwrap_or_else(|panic| {
                    Err(panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_else(|| "panicked".into()))
                });
        match (skips.get(&name), outcome) {
            (Some(_), Ok(())) => stale.push(name),
            (Some(_), Err(_)) => skipped += 1,
            (None, Ok(())) => passed += 1,
            (None, Err(e)) => failures.push(format!("{name}: {e}")),
        }
    }
    eprintln!("{relative}: {passed} passed, {skipped} skipped, {} failed", failures.len());
    assert!(
        failures.is_empty() && stale.is_empty(),
        "{relative}: {} failures:\n{}\n{} skipped tests now pass (remove them from skip.txt):\n{}",
        failures.len(),
        failures.join("\n"),
        stale.len(),
        stale.join("\n")
    );
}

fn clear(server: &TestServer) {
    server.store.oxigraph().clear().expect("clear store");
}

fn run_test(server: &TestServer, manifest: &Manifest, test: &NamedOrBlankNode) -> Result<(), String> {
    let kind = manifest
        .object(test.clone(), &NamedNode::new_unchecked("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"));
    let kind = match kind {
        Some(Term::NamedNode(n)) => n.as_str().strip_prefix(MF).unwrap_or(n.as_str()).to_owned(),
        _ => return Err("the test has no type".into()),
    };
    let action = manifest.object(test.clone(), &iri(MF, "action")).ok_or("no mf:action")?;
    match kind.as_str() {
        "PositiveSyntaxTest" | "PositiveSyntaxTest11" => syntax(server, &action, true, false),
        "NegativeSyntaxTest" | "NegativeSyntaxTest11" => syntax(server, &action, false, false),
        "PositiveUpdateSyntaxTest11" => syntax(server, &action, true, true),
        "NegativeUpdateSyntaxTest11" => syntax(server, &action, false, true),
        "QueryEvaluationTest" | "CSVResultFormatTest" => {
            let result = manifest.object(test.clone(), &iri(MF, "result"));
            query_evaluation(server, manifest, &action, result)
        }
        "UpdateEvaluationTest" => {
            let result = manifest.object(test.clone(), &iri(MF, "result")).ok_or("no mf:result")?;
            update_evaluation(server, manifest, &action, &result)
        }
        "ProtocolTest" | "GraphStoreProtocolTest" => crate::protocol::run(server, manifest, test, &action),
        other => Err(format!("unsupported test type {other}")),
    }
}

fn url_of(term: &Term) -> Result<String, String> {
    match term {
        Term::NamedNode(n) => Ok(n.as_str().to_owned()),
        other => Err(format!("expected a file IRI, found {other}")),
    }
}

fn read_text(url: &str) -> Result<String, String> {
    std::fs::read_to_string(path_of(url)).map_err(|e| format!("{url}: {e}"))
}

/// Puts the query's own base first, since the endpoint resolves against its own URL.
fn with_base(text: &str, url: &str) -> String {
    format!("BASE <{url}>\n{text}")
}

fn is_syntax_error(reply: &crate::support::Reply) -> bool {
    reply.status == 400 && reply.text().starts_with("SPARQL syntax error")
}

fn syntax(server: &TestServer, action: &Term, positive: bool, update: bool) -> Result<(), String> {
    let url = url_of(action)?;
    let bytes = std::fs::read(path_of(&url)).map_err(|e| e.to_string())?;
    // Some negative tests are invalid UTF-8 on purpose; the server must refuse those too.
    let body = match String::from_utf8(bytes) {
        Ok(text) => with_base(&text, &url).into_bytes(),
        Err(e) => e.into_bytes(),
    };
    let (content_type, auth) = if update {
        ("application/sparql-update", format!("Bearer {TOKEN}"))
    } else {
        ("application/sparql-query", String::new())
    };
    let mut headers = vec![
        ("Content-Type", content_type),
        ("Accept", "application/sparql-results+json, application/n-triples"),
    ];
    if update {
        headers.push(("Authorization", auth.as_str()));
    }
    let reply = send(&server.agent, "POST", &server.url("/sparql"), &headers, Some(body));
    let refused = is_syntax_error(&reply) || reply.status == 415;
    match (positive, refused) {
        (true, false) | (false, true) => Ok(()),
        (true, true) => Err(format!("valid text refused: {}", reply.text().trim())),
        (false, false) => Err(format!("invalid text accepted with status {}", reply.status)),
    }
}

/// Uploads one graph through the Graph Store Protocol, as N-Triples parsed here with the file's
/// own base IRI.
fn put_graph(server: &TestServer, graph_url: &str, graph: Option<&str>) -> Result<(), String> {
    let data = serialize_ntriples(&read_graph(graph_url));
    let target = match graph {
        Some(name) => format!("/store?graph={}", encode(name)),
        None => "/store?default".to_owned(),
    };
    let auth = format!("Bearer {TOKEN}");
    let reply = send(
        &server.agent,
        "POST",
        &server.url(&target),
        &[("Content-Type", "application/n-triples"), ("Authorization", &auth)],
        Some(data),
    );
    if !(200..300).contains(&reply.status) {
        return Err(format!("upload of {graph_url} failed with {}: {}", reply.status, reply.text()));
    }
    Ok(())
}

/// Splits one CSV line into cells, honouring double quotes.
fn csv_cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().expect("a cell").push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(String::new()),
            (c, _) => cells.last_mut().expect("a cell").push(c),
        }
    }
    cells
}

pub fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn query_evaluation(
    server: &TestServer,
    manifest: &Manifest,
    action: &Term,
    result: Option<Term>,
) -> Result<(), String> {
    let action = as_subject(action).ok_or("bad action")?;
    if manifest.object(action.clone(), &iri(QT, "serviceData")).is_some() {
        return Err("needs remote SERVICE endpoints".into());
    }
    let query_url = url_of(&manifest.object(action.clone(), &iri(QT, "query")).ok_or("no qt:query")?)?;
    let query_text = read_text(&query_url)?;
    for data in manifest.objects(action.clone(), &iri(QT, "data")) {
        put_graph(server, &url_of(&data)?, None)?;
    }
    for data in manifest.objects(action.clone(), &iri(QT, "graphData")) {
        let url = url_of(&data)?;
        put_graph(server, &url, Some(&url))?;
    }
    // FROM and FROM NAMED name files: load each into the graph of that name.
    let parsed = oxigraph::sparql::SparqlEvaluator::new()
        .with_base_iri(query_url.as_str())
        .ok()
        .and_then(|e| e.parse_query(&query_text).ok());
    if let Some(parsed) = parsed {
        let dataset = parsed.dataset();
        let mut names: Vec<String> = Vec::new();
        if let Some(graphs) = dataset.default_graph_graphs() {
            names.extend(graphs.iter().filter_map(|g| match g {
                GraphName::NamedNode(n) => Some(n.as_str().to_owned()),
                _ => None,
            }));
        }
        if let Some(graphs) = dataset.available_named_graphs() {
            names.extend(graphs.iter().filter_map(|g| match g {
                NamedOrBlankNode::NamedNode(n) => Some(n.as_str().to_owned()),
                _ => None,
            }));
        }
        for name in names {
            if name.starts_with("file://") && path_of(&name).exists() {
                put_graph(server, &name, Some(&name))?;
            }
        }
    }
    let result_url = url_of(&result.ok_or("no mf:result")?)?;
    let csv_like = result_url.ends_with(".csv") || result_url.ends_with(".tsv");
    let accept = if result_url.ends_with(".csv") {
        "text/csv"
    } else if result_url.ends_with(".tsv") {
        "text/tab-separated-values"
    } else {
        "application/sparql-results+json, application/n-triples"
    };
    let reply = send(
        &server.agent,
        "POST",
        &server.url("/sparql"),
        &[("Content-Type", "application/sparql-query"), ("Accept", accept)],
        Some(with_base(&query_text, &query_url).into_bytes()),
    );
    if reply.status != 200 {
        return Err(format!("status {}: {}", reply.status, reply.text().trim()));
    }
    if csv_like && result_url.ends_with(".csv") {
        // CSV loses term types: compare the text cell by cell, keyed by column name (the column
        // order of SELECT * is the engine's choice), row order aside.
        let expected = read_text(&result_url)?;
        let normalise = |t: &str| {
            let lines: Vec<&str> = t.lines().map(|l| l.trim_end_matches('\r')).collect();
            let header: Vec<&str> = lines.first().map(|h| h.split(',').collect()).unwrap_or_default();
            let mut rows: Vec<Vec<(String, String)>> = lines[1.min(lines.len())..]
                .iter()
                .map(|line| {
                    // Blank node labels are the engine's choice: compare that a cell is one.
                    let mut row: Vec<(String, String)> = header
                        .iter()
                        .zip(csv_cells(line))
                        .map(|(h, c)| {
                            (h.to_string(), if c.starts_with("_:") { "_:".into() } else { c.to_owned() })
                        })
                        .collect();
                    row.sort();
                    row
                })
                .collect();
            rows.sort();
            rows
        };
        return if normalise(&expected) == normalise(&reply.text()) {
            Ok(())
        } else {
            Err(format!("CSV differs:\nexpected:\n{expected}\nactual:\n{}", reply.text()))
        };
    }
    let actual = actual_results(&reply)?;
    let expected = read_expected(&result_url);
    if same_results(&expected, &actual) {
        Ok(())
    } else {
        Err(format!("results differ\nexpected: {expected:?}\nactual: {actual:?}"))
    }
}

fn actual_results(reply: &crate::support::Reply) -> Result<Results, String> {
    let media = reply.content_type.split(';').next().unwrap_or("").trim();
    if let Some(format) = QueryResultsFormat::from_media_type(media) {
        return parse_results(&reply.body, format);
    }
    let format =
        oxigraph::io::RdfFormat::from_media_type(media).ok_or(format!("unexpected content type {media}"))?;
    parse_graph(&reply.body, format, None).map(|g| Results::Graph(Box::new(g)))
}

fn update_evaluation(
    server: &TestServer,
    manifest: &Manifest,
    action: &Term,
    result: &Term,
) -> Result<(), String> {
    let action = as_subject(action).ok_or("bad action")?;
    let request_url = url_of(&manifest.object(action.clone(), &iri(UT, "request")).ok_or("no ut:request")?)?;
    for data in manifest.objects(action.clone(), &iri(UT, "data")) {
        put_graph(server, &url_of(&data)?, None)?;
    }
    for (file, name) in graph_data(manifest, &action)? {
        put_graph(server, &file, Some(&name))?;
    }
    let auth = format!("Bearer {TOKEN}");
    let reply = send(
        &server.agent,
        "POST",
        &server.url("/update"),
        &[("Content-Type", "application/sparql-update"), ("Authorization", &auth)],
        Some(with_base(&read_text(&request_url)?, &request_url).into_bytes()),
    );
    let result = as_subject(result).ok_or("bad result")?;
    let mut expected = Dataset::new();
    for data in manifest.objects(result.clone(), &iri(UT, "data")) {
        for t in &read_graph(&url_of(&data)?) {
            expected.insert(t.in_graph(GraphNameRef::DefaultGraph));
        }
    }
    for (file, name) in graph_data(manifest, &result)? {
        let name = NamedNode::new(name).map_err(|e| e.to_string())?;
        for t in &read_graph(&file) {
            expected.insert(t.in_graph(name.as_ref()));
        }
    }
    if !(200..300).contains(&reply.status) {
        return Err(format!("update failed with {}: {}", reply.status, reply.text().trim()));
    }
    let actual = fetch_dataset(server)?;
    if isomorphic_datasets(&expected, &actual) {
        Ok(())
    } else {
        Err(format!("datasets differ\nexpected:\n{expected}\nactual:\n{actual}"))
    }
}

/// `ut:graphData [ ut:graph <file> ; rdfs:label "name" ]` pairs.
fn graph_data(manifest: &Manifest, node: &NamedOrBlankNode) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for entry in manifest.objects(node.clone(), &iri(UT, "graphData")) {
        let entry = as_subject(&entry).ok_or("bad graphData")?;
        let file = url_of(&manifest.object(entry.clone(), &iri(UT, "graph")).ok_or("no ut:graph")?)?;
        let name =
            manifest.string(entry, &NamedNode::new_unchecked(RDFS_LABEL)).unwrap_or_else(|| file.clone());
        pairs.push((file, name));
    }
    Ok(pairs)
}

/// Reads the whole dataset back over HTTP: the default graph and every non-empty named graph.
fn fetch_dataset(server: &TestServer) -> Result<Dataset, String> {
    let mut dataset = Dataset::new();
    let get = |target: &str| -> Result<Graph, String> {
        let reply =
            send(&server.agent, "GET", &server.url(target), &[("Accept", "application/n-triples")], None);
        if reply.status != 200 {
            return Err(format!("GET {target}: {}", reply.status));
        }
        parse_graph(&reply.body, oxigraph::io::RdfFormat::NTriples, None)
    };
    for t in &get("/store?default")? {
        dataset.insert(t.in_graph(GraphNameRef::DefaultGraph));
    }
    let reply = send(
        &server.agent,
        "GET",
        &server.url(&format!("/sparql?query={}", encode("SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }"))),
        &[("Accept", "application/sparql-results+json")],
        None,
    );
    let Results::Solutions(rows) = parse_results(&reply.body, QueryResultsFormat::Json)? else {
        return Err("graph listing did not return solutions".into());
    };
    for row in rows {
        for (_, term) in row {
            if let Term::NamedNode(name) = term {
                for t in &get(&format!("/store?graph={}", encode(name.as_str())))? {
                    dataset.insert(t.in_graph(name.as_ref()));
                }
            }
        }
    }
    Ok(dataset)
}

macro_rules! manifests {
    ($($name:ident => $path:literal,)*) => {
        $(
            #[test]
            fn $name() {
                run_manifest($path);
            }
        )*
        /// Every manifest of the suites must be listed above.
        #[test]
        fn every_manifest_is_listed() {
            let listed = [$($path),*];
            for suite in ["sparql11/manifest-all.ttl", "sparql10/manifest.ttl"] {
                let manifest = Manifest::load(&shared().join("conformance").join(suite));
                let root = NamedNode::new_unchecked(manifest.url.clone());
                for include in manifest.list(manifest.object(root, &iri(MF, "include"))) {
                    let Term::NamedNode(n) = include else { continue };
                    let relative = key(n.as_str());
                    assert!(listed.contains(&relative.as_str()), "{relative} is not run");
                }
            }
        }
    };
}

manifests! {
    sparql11_add => "sparql11/add/manifest.ttl",
    sparql11_aggregates => "sparql11/aggregates/manifest.ttl",
    sparql11_basic_update => "sparql11/basic-update/manifest.ttl",
    sparql11_bind => "sparql11/bind/manifest.ttl",
    sparql11_bindings => "sparql11/bindings/manifest.ttl",
    sparql11_cast => "sparql11/cast/manifest.ttl",
    sparql11_clear => "sparql11/clear/manifest.ttl",
    sparql11_construct => "sparql11/construct/manifest.ttl",
    sparql11_copy => "sparql11/copy/manifest.ttl",
    sparql11_csv_tsv_res => "sparql11/csv-tsv-res/manifest.ttl",
    sparql11_delete_data => "sparql11/delete-data/manifest.ttl",
    sparql11_delete_insert => "sparql11/delete-insert/manifest.ttl",
    sparql11_delete_where => "sparql11/delete-where/manifest.ttl",
    sparql11_delete => "sparql11/delete/manifest.ttl",
    sparql11_drop => "sparql11/drop/manifest.ttl",
    sparql11_entailment => "sparql11/entailment/manifest.ttl",
    sparql11_exists => "sparql11/exists/manifest.ttl",
    sparql11_functions => "sparql11/functions/manifest.ttl",
    sparql11_grouping => "sparql11/grouping/manifest.ttl",
    sparql11_json_res => "sparql11/json-res/manifest.ttl",
    sparql11_move => "sparql11/move/manifest.ttl",
    sparql11_negation => "sparql11/negation/manifest.ttl",
    sparql11_project_expression => "sparql11/project-expression/manifest.ttl",
    sparql11_property_path => "sparql11/property-path/manifest.ttl",
    sparql11_service => "sparql11/service/manifest.ttl",
    sparql11_subquery => "sparql11/subquery/manifest.ttl",
    sparql11_syntax_query => "sparql11/syntax-query/manifest.ttl",
    sparql11_syntax_update_1 => "sparql11/syntax-update-1/manifest.ttl",
    sparql11_syntax_update_2 => "sparql11/syntax-update-2/manifest.ttl",
    sparql11_update_silent => "sparql11/update-silent/manifest.ttl",
    sparql11_syntax_fed => "sparql11/syntax-fed/manifest.ttl",
    sparql11_service_description => "sparql11/service-description/manifest.ttl",
    sparql11_protocol => "sparql11/protocol/manifest.ttl",
    sparql11_graph_store_protocol => "sparql11/graph-store-protocol/manifest.ttl",
    sparql10_basic => "sparql10/basic/manifest.ttl",
    sparql10_triple_match => "sparql10/triple-match/manifest.ttl",
    sparql10_open_world => "sparql10/open-world/manifest.ttl",
    sparql10_algebra => "sparql10/algebra/manifest.ttl",
    sparql10_bnode_coreference => "sparql10/bnode-coreference/manifest.ttl",
    sparql10_optional => "sparql10/optional/manifest.ttl",
    sparql10_optional_filter => "sparql10/optional-filter/manifest.ttl",
    sparql10_graph => "sparql10/graph/manifest.ttl",
    sparql10_dataset => "sparql10/dataset/manifest.ttl",
    sparql10_type_promotion => "sparql10/type-promotion/manifest.ttl",
    sparql10_cast => "sparql10/cast/manifest.ttl",
    sparql10_boolean_effective_value => "sparql10/boolean-effective-value/manifest.ttl",
    sparql10_bound => "sparql10/bound/manifest.ttl",
    sparql10_expr_builtin => "sparql10/expr-builtin/manifest.ttl",
    sparql10_expr_ops => "sparql10/expr-ops/manifest.ttl",
    sparql10_expr_equals => "sparql10/expr-equals/manifest.ttl",
    sparql10_regex => "sparql10/regex/manifest.ttl",
    sparql10_i18n => "sparql10/i18n/manifest.ttl",
    sparql10_construct => "sparql10/construct/manifest.ttl",
    sparql10_ask => "sparql10/ask/manifest.ttl",
    sparql10_distinct => "sparql10/distinct/manifest.ttl",
    sparql10_sort => "sparql10/sort/manifest.ttl",
    sparql10_solution_seq => "sparql10/solution-seq/manifest.ttl",
    sparql10_reduced => "sparql10/reduced/manifest.ttl",
    sparql10_syntax_sparql1 => "sparql10/syntax-sparql1/manifest.ttl",
    sparql10_syntax_sparql2 => "sparql10/syntax-sparql2/manifest.ttl",
    sparql10_syntax_sparql3 => "sparql10/syntax-sparql3/manifest.ttl",
    sparql10_syntax_sparql4 => "sparql10/syntax-sparql4/manifest.ttl",
    sparql10_syntax_sparql5 => "sparql10/syntax-sparql5/manifest.ttl",
}
