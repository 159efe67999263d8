//! Entity linking on the demo corpus: flights to airports by IATA code, and movies across two
//! sources (the second a perturbed copy made here), with precision and recall.

use crate::shared;
use oxigraph::model::NamedNode;
use sailkg_map::link::{LinkSpec, find_links, write_links};
use sailkg_map::{MapOptions, Mapping, map_into_store};
use sailkg_store::Store;
use std::collections::{HashMap, HashSet};
use std::path::Path;

fn store(dir: &Path) -> Store {
    Store::open(&dir.join("data"), sailkg_core::LoadConfig::default()).unwrap()
}

fn map(store: &Store, dir: &Path, name: &str, yarrrml: &str) {
    let path = dir.join(name);
    std::fs::write(&path, yarrrml).unwrap();
    let mapping = Mapping::from_file(&path, &MapOptions::default()).unwrap();
    let graph = NamedNode::new(format!("urn:sailkg:graph:source/{name}/1")).unwrap();
    map_into_store(&mapping, store, &graph, &[], &|n| Err(format!("no table {n}"))).unwrap();
}

fn count(store: &Store, query: &str) -> usize {
    let budget = store.budget(std::time::Duration::from_secs(60));
    let request = sailkg_store::QueryRequest { query, union_default_graph: true, ..Default::default() };
    match store.query(&request, &budget).unwrap() {
        oxigraph::sparql::QueryResults::Solutions(s) => s.count(),
        _ => panic!("not a SELECT"),
    }
}

#[test]
fn flights_link_to_their_origin_airports() {
    let dir = tempfile::tempdir().unwrap();
    let demo = shared().join("data/demo");
    std::fs::copy(demo.join("airports.csv"), dir.path().join("airports.csv")).unwrap();
    std::fs::copy(demo.join("flights-5k.json"), dir.path().join("flights.json")).unwrap();
    let store = store(dir.path());
    map(
        &store,
        dir.path(),
        "airports.yml",
        "prefixes: {ex: \"http://example.com/\"}\nmappings:\n  airport:\n    sources: [airports.csv~csv]\n    s: ex:airport/$(iata)\n    po:\n      - [a, ex:Airport]\n      - [ex:iata, $(iata)]\n      - [ex:name, $(name)]\n",
    );
    map(
        &store,
        dir.path(),
        "flights.yml",
        "prefixes: {ex: \"http://example.com/\"}\nmappings:\n  flight:\n    sources: [flights.json~jsonpath, \"$[*]\"]\n    s: ex:flight/$(date)/$(origin)/$(destination)/$(delay)\n    po:\n      - [a, ex:Flight]\n      - [ex:originCode, $(origin)]\n",
    );
    let spec = LinkSpec::from_toml(
        r#"name = "flight-origin"
accept = 1.0
review = 1.0
[source]
class = "http://example.com/Flight"
[target]
class = "http://example.com/Airport"
[[blocking]]
source = "http://example.com/originCode"
target = "http://example.com/iata"
key = "exact"
[[compare]]
source = "http://example.com/originCode"
target = "http://example.com/iata"
method = "exact"
"#,
        "flight-origin.toml",
    )
    .unwrap();
    let report = find_links(&store, &spec, "flight-origin.toml").unwrap();
    assert_eq!(report.accepted(), report.sources, "every flight links to its origin airport");
    assert!(report.sources > 4000, "{}", report.sources);
    assert!(
        report.comparisons < report.cross_product / 1000,
        "{} of {}",
        report.comparisons,
        report.cross_product
    );
    write_links(&store, &report, Path::new("flight-origin.toml")).unwrap();
    let linked = "SELECT ?f WHERE { GRAPH <urn:sailkg:graph:links> { ?f <http://www.w3.org/2002/07/owl#sameAs> ?a } ?f <http://example.com/originCode> ?c . ?a <http://example.com/iata> ?c }";
    assert_eq!(count(&store, linked), report.sources);
    // Running the specification again replaces its links.
    write_links(&store, &report, Path::new("flight-origin.toml")).unwrap();
    assert_eq!(count(&store, linked), report.sources);
    let scored = "SELECT ?l WHERE { GRAPH <urn:sailkg:graph:links> { ?l <urn:sailkg:vocab#linkSpec> \"flight-origin\" ; <urn:sailkg:vocab#score> ?s ; <http://www.w3.org/ns/prov#wasGeneratedBy> ?run } GRAPH <urn:sailkg:graph:catalog> { ?run a <urn:sailkg:vocab#LinkRun> } }";
    assert_eq!(count(&store, scored), report.sources);
}

/// A deterministic pseudo-random sequence.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// One typo: a character dropped, doubled or two swapped.
fn typo(title: &str, random: &mut Lcg) -> String {
    let mut chars: Vec<char> = title.chars().collect();
    if chars.len() < 4 {
        return title.to_owned();
    }
    let at = 1 + random.next() as usize % (chars.len() - 2);
    match random.next() % 3 {
        0 => {
            chars.remove(at);
        }
        1 => chars.insert(at, chars[at]),
        _ => chars.swap(at, at + 1),
    }
    chars.into_iter().collect()
}

#[test]
fn movies_link_across_sources_with_high_precision_and_recall() {
    let dir = tempfile::tempdir().unwrap();
    let movies: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(shared().join("data/demo/movies.json")).unwrap()).unwrap();
    // Movies with a title and a release year, each title once.
    let mut seen = HashSet::new();
    let usable: Vec<(String, String)> = movies
        .iter()
        .filter_map(|m| {
            let title = m.get("Title")?.as_str()?.to_owned();
            let date = m.get("Release Date")?.as_str()?.to_owned();
            seen.insert(title.to_lowercase()).then_some((title, date))
        })
        .collect();
    let (shared_part, extra) = usable.split_at(1000);
    let extra = &extra[..200];
    // Source A: the movies as they are.
    let a: Vec<serde_json::Value> = shared_part
        .iter()
        .enumerate()
        .map(|(i, (t, d))| serde_json::json!({"id": format!("a{i}"), "title": t, "released": d}))
        .collect();
    // Source B: the same movies perturbed, plus movies A does not have.
    let mut random = Lcg(42);
    let mut b = Vec::new();
    let mut truth: HashMap<String, String> = HashMap::new();
    for (i, (title, date)) in shared_part.iter().enumerate() {
        let mut title = title.clone();
        match random.next() % 10 {
            0..=2 => title = typo(&title, &mut random),
            3..=4 => title = title.to_uppercase(),
            5 => title = title.to_lowercase(),
            _ => {}
        }
        let year: Option<i64> = date.rsplit(' ').next().and_then(|y| y.parse().ok());
        let year = match random.next() % 10 {
            0..=1 => year.map(|y| y + if random.next().is_multiple_of(2) { 1 } else { -1 }),
            2 => None,
            _ => year,
        };
        let mut record = serde_json::json!({"key": format!("b{i}"), "name": title});
        if let Some(year) = year {
            record["year"] = serde_json::json!(year);
        }
        b.push(record);
        truth.insert(format!("http://example.com/b/b{i}"), format!("http://example.com/a/a{i}"));
    }
    for (i, (title, date)) in extra.iter().enumerate() {
        let year = date.rsplit(' ').next().unwrap_or("");
        b.push(serde_json::json!({"key": format!("x{i}"), "name": title, "year": year}));
    }
    std::fs::write(dir.path().join("a.json"), serde_json::to_vec(&a).unwrap()).unwrap();
    std::fs::write(dir.path().join("b.json"), serde_json::to_vec(&b).unwrap()).unwrap();
    let store = store(dir.path());
    map(
        &store,
        dir.path(),
        "a.yml",
        "prefixes: {ex: \"http://example.com/\"}\nmappings:\n  movie:\n    sources: [a.json~jsonpath, \"$[*]\"]\n    s: ex:a/$(id)\n    po:\n      - [a, ex:MovieA]\n      - [ex:title, $(title)]\n      - [ex:released, $(released)]\n",
    );
    map(
        &store,
        dir.path(),
        "b.yml",
        "prefixes: {ex: \"http://example.com/\"}\nmappings:\n  film:\n    sources: [b.json~jsonpath, \"$[*]\"]\n    s: ex:b/$(key)\n    po:\n      - [a, ex:MovieB]\n      - [ex:name, $(name)]\n      - [ex:year, $(year)]\n",
    );
    let spec = LinkSpec::from_toml(
        r#"name = "movies"
accept = 0.9
review = 0.75
[source]
class = "http://example.com/MovieB"
[target]
class = "http://example.com/MovieA"
[[blocking]]
source = "http://example.com/name"
target = "http://example.com/title"
key = "tokens"
[[blocking]]
source = "http://example.com/name"
target = "http://example.com/title"
key = "prefix"
length = 4
[[compare]]
source = "http://example.com/name"
target = "http://example.com/title"
method = "jaro_winkler"
weight = 3
[[compare]]
source = "http://example.com/year"
target = "http://example.com/released"
method = "date"
max_difference = 1100
"#,
        "movies.toml",
    )
    .unwrap();
    let report = find_links(&store, &spec, "movies.toml").unwrap();
    let accepted: Vec<_> = report.links.iter().filter(|l| l.accepted).collect();
    let correct = accepted
        .iter()
        .filter(|l| truth.get(l.source.as_str()) == Some(&l.target.as_str().to_owned()))
        .count();
    let precision = correct as f64 / accepted.len() as f64;
    let recall = correct as f64 / truth.len() as f64;
    let review = report.links.len() - accepted.len();
    eprintln!(
        "movies: {} accepted, {review} for review, precision {precision:.3}, recall {recall:.3}, {} comparisons of {}",
        accepted.len(),
        report.comparisons,
        report.cross_product
    );
    assert!(precision >= 0.95, "precision {precision}");
    assert!(recall >= 0.9, "recall {recall}");
    assert!(report.comparisons * 10 < report.cross_product);
}
