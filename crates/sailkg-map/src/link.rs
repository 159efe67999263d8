//! Entity linking: two entity sets from the store, blocking keys that keep the comparisons far
//! below the cross product, weighted similarity measures, and links in two bands — `owl:sameAs`
//! above the accept threshold, `skos:closeMatch` in the review band — each with its score and
//! the specification that made it, in the links graph.

use oxigraph::model::vocab::{rdf, xsd};
use oxigraph::model::{GraphName, Literal, NamedNode, Quad, Term};
use oxigraph::sparql::QueryResults;
use sailkg_core::vocab::{GRAPH_LINKS, SAIL};
use sailkg_store::{QueryRequest, Store, UpdateRequest};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

const OWL_SAME_AS: &str = "http://www.w3.org/2002/07/owl#sameAs";
const SKOS_CLOSE_MATCH: &str = "http://www.w3.org/2004/02/skos/core#closeMatch";

/// A link specification (TOML).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// Names the links this specification makes; running it again replaces them.
    pub name: String,
    /// The entities to link from.
    pub source: EntitySet,
    /// The entities to link to.
    pub target: EntitySet,
    /// Pairs are compared only when they share a blocking key; none means every pair.
    #[serde(default)]
    pub blocking: Vec<BlockingKey>,
    /// The similarity measures.
    pub compare: Vec<Comparison>,
    /// Scores at or above this become `owl:sameAs`.
    #[serde(default = "default_accept")]
    pub accept: f64,
    /// Scores at or above this (and below `accept`) become `skos:closeMatch`, for review.
    #[serde(default = "default_review")]
    pub review: f64,
    /// How the measures' scores combine.
    #[serde(default)]
    pub aggregation: Aggregation,
    /// Keep only the best-scoring target of each source entity.
    #[serde(default = "yes")]
    pub best_only: bool,
}

fn default_accept() -> f64 {
    0.9
}
fn default_review() -> f64 {
    0.7
}
fn yes() -> bool {
    true
}

/// Entities of one class, optionally narrowed by a SPARQL graph pattern over `?e`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitySet {
    /// The class IRI.
    pub class: String,
    /// A graph pattern that further restricts `?e`, e.g. `?e <http://ex.org/year> ?y FILTER(?y > 1990)`.
    #[serde(default)]
    pub filter: Option<String>,
}

/// One similarity measure between a source and a target property.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    /// The source property (for `geo`: latitude and longitude properties).
    pub source: Properties,
    /// The target property (for `geo`: latitude and longitude properties).
    pub target: Properties,
    /// The measure.
    pub method: Method,
    /// Its weight in the aggregate.
    #[serde(default = "one")]
    pub weight: f64,
    /// For `numeric`, `date` (days) and `geo` (km): the difference at which the score reaches 0.
    #[serde(default)]
    pub max_difference: Option<f64>,
}

fn one() -> f64 {
    1.0
}

/// One property, or several (for `geo`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Properties {
    /// One property IRI.
    One(String),
    /// Several property IRIs.
    Many(Vec<String>),
}

impl Properties {
    fn list(&self) -> Vec<&str> {
        match self {
            Properties::One(p) => vec![p.as_str()],
            Properties::Many(ps) => ps.iter().map(String::as_str).collect(),
        }
    }
}

/// The similarity measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Equal values: 1, else 0.
    Exact,
    /// Equal after lower-casing, Unicode normalisation and dropping punctuation: 1, else 0.
    Normalized,
    /// Jaro-Winkler similarity of the normalised values.
    JaroWinkler,
    /// 1 − Levenshtein distance / longer length, of the normalised values.
    Levenshtein,
    /// Jaccard similarity of the normalised token sets.
    Jaccard,
    /// 1 − |a − b| / max_difference (default 1).
    Numeric,
    /// 1 − |days between| / max_difference (default 365); dates as ISO-8601, or a year anywhere.
    Date,
    /// 1 − great-circle km / max_difference (default 10); properties are [latitude, longitude].
    Geo,
}

/// How scores combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Weighted mean over the measures both entities have values for.
    #[default]
    WeightedMean,
    /// The lowest score.
    Min,
    /// The highest score.
    Max,
}

/// A blocking key: pairs sharing a key value are compared.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockingKey {
    /// The source property.
    pub source: String,
    /// The target property.
    pub target: String,
    /// How values become keys.
    #[serde(default)]
    pub key: KeyKind,
    /// For `prefix`: its length in characters.
    #[serde(default = "three")]
    pub length: usize,
}

fn three() -> usize {
    3
}

/// How a value becomes blocking keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// The value itself.
    Exact,
    /// The normalised value.
    #[default]
    Normalized,
    /// The first `length` characters of the normalised value.
    Prefix,
    /// Each normalised token of three or more characters.
    Tokens,
    /// The year in the value.
    Year,
}

/// A link found.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The source entity.
    pub source: NamedNode,
    /// The target entity.
    pub target: NamedNode,
    /// The aggregate score, 0 to 1.
    pub score: f64,
    /// Accepted (`owl:sameAs`) or for review (`skos:closeMatch`).
    pub accepted: bool,
}

/// What a linking run did.
#[derive(Debug, Clone)]
pub struct LinkReport {
    /// The specification's name.
    pub name: String,
    /// Entities in the source and target sets.
    pub sources: usize,
    /// Entities in the target set.
    pub targets: usize,
    /// Pairs compared.
    pub comparisons: u64,
    /// Pairs in the cross product.
    pub cross_product: u64,
    /// Links, accepted ones first, by descending score.
    pub links: Vec<Link>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl LinkReport {
    /// Accepted links.
    pub fn accepted(&self) -> usize {
        self.links.iter().filter(|l| l.accepted).count()
    }
}

/// A specification that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct LinkError {
    /// The specification file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl LinkSpec {
    /// Reads a specification from TOML; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Self, LinkError> {
        let spec: LinkSpec = toml::from_str(text)
            .map_err(|e| LinkError { file: file.to_owned(), message: e.to_string().trim_end().to_owned() })?;
        let fail = |message: String| LinkError { file: file.to_owned(), message };
        if spec.compare.is_empty() {
            return Err(fail("no [[compare]]".into()));
        }
        if !(0.0..=1.0).contains(&spec.review)
            || !(0.0..=1.0).contains(&spec.accept)
            || spec.review > spec.accept
        {
            return Err(fail("thresholds must satisfy 0 <= review <= accept <= 1".into()));
        }
        for iri in [&spec.source.class, &spec.target.class] {
            NamedNode::new(iri.as_str()).map_err(|e| fail(format!("invalid class IRI {iri:?}: {e}")))?;
        }
        for c in &spec.compare {
            let arity = if c.method == Method::Geo { 2 } else { 1 };
            if c.source.list().len() != arity || c.target.list().len() != arity {
                return Err(fail(format!(
                    "{:?} compares {arity} propert{} on each side",
                    c.method,
                    if arity == 1 { "y" } else { "ies" }
                )));
            }
            for p in c.source.list().into_iter().chain(c.target.list()) {
                NamedNode::new(p).map_err(|e| fail(format!("invalid property IRI {p:?}: {e}")))?;
            }
            if c.weight <= 0.0 {
                return Err(fail("weights must be positive".into()));
            }
        }
        for b in &spec.blocking {
            for p in [&b.source, &b.target] {
                NamedNode::new(p.as_str()).map_err(|e| fail(format!("invalid property IRI {p:?}: {e}")))?;
            }
        }
        Ok(spec)
    }
}

/// An entity's values per property.
type Values = HashMap<String, Vec<String>>;

/// Finds the links of `spec` in the store (nothing is written).
pub fn find_links(store: &Store, spec: &LinkSpec, file: &str) -> Result<LinkReport, LinkError> {
    let start = Instant::now();
    let fail = |message: String| LinkError { file: file.to_owned(), message };
    let source_props: Vec<&str> = spec
        .compare
        .iter()
        .flat_map(|c| c.source.list())
        .chain(spec.blocking.iter().map(|b| b.source.as_str()))
        .collect();
    let target_props: Vec<&str> = spec
        .compare
        .iter()
        .flat_map(|c| c.target.list())
        .chain(spec.blocking.iter().map(|b| b.target.as_str()))
        .collect();
    let sources = entities(store, &spec.source, &source_props).map_err(&fail)?;
    let targets = entities(store, &spec.target, &target_props).map_err(&fail)?;
    for (set, found) in [(&spec.source, &sources), (&spec.target, &targets)] {
        if found.is_empty() {
            return Err(fail(format!("no entity of class <{}> in the store", set.class)));
        }
    }
    let cross_product = sources.len() as u64 * targets.len() as u64;
    // Candidate pairs: targets sharing a key with each source.
    let candidates: Vec<Vec<usize>> = if spec.blocking.is_empty() {
        vec![(0..targets.len()).collect(); sources.len()]
    } else {
        let mut index: HashMap<(usize, String), Vec<usize>> = HashMap::new();
        for (t, (_, values)) in targets.iter().enumerate() {
            for (k, key) in spec.blocking.iter().enumerate() {
                for value in values.get(&key.target).into_iter().flatten() {
                    for block in keys(value, key) {
                        index.entry((k, block)).or_default().push(t);
                    }
                }
            }
        }
        sources
            .iter()
            .map(|(_, values)| {
                let mut found: Vec<usize> = Vec::new();
                for (k, key) in spec.blocking.iter().enumerate() {
                    for value in values.get(&key.source).into_iter().flatten() {
                        for block in keys(value, key) {
                            if let Some(ts) = index.get(&(k, block)) {
                                found.extend(ts);
                            }
                        }
                    }
                }
                found.sort_unstable();
                found.dedup();
                found
            })
            .collect()
    };
    let mut comparisons = 0u64;
    let mut links = Vec::new();
    for (s, targets_of) in candidates.iter().enumerate() {
        let mut best: Vec<Link> = Vec::new();
        for &t in targets_of {
            comparisons += 1;
            let Some(score) = score(spec, &sources[s].1, &targets[t].1) else { continue };
            if score < spec.review {
                continue;
            }
            let link = Link {
                source: sources[s].0.clone(),
                target: targets[t].0.clone(),
                score,
                accepted: score >= spec.accept,
            };
            if spec.best_only {
                match best.first() {
                    Some(b) if b.score >= score => {}
                    _ => best = vec![link],
                }
            } else {
                best.push(link);
            }
        }
        links.extend(best);
    }
    links.sort_by(|a, b| b.accepted.cmp(&a.accepted).then(b.score.total_cmp(&a.score)));
    Ok(LinkReport {
        name: spec.name.clone(),
        sources: sources.len(),
        targets: targets.len(),
        comparisons,
        cross_product,
        links,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Writes the links of a report into the links graph, replacing the earlier links of the same
/// specification: `owl:sameAs` or `skos:closeMatch`, plus a `sail:Link` resource with the score,
/// the specification's name and the run that made it — a `sail:LinkRun` activity in the
/// catalogue that used `spec_file`.
pub fn write_links(store: &Store, report: &LinkReport, spec_file: &std::path::Path) -> Result<(), LinkError> {
    let fail = |e: sailkg_store::StoreError| LinkError { file: report.name.clone(), message: e.to_string() };
    let name = Literal::new_simple_literal(&report.name);
    let delete = format!(
        "PREFIX sail: <{SAIL}>
DELETE {{ GRAPH <{GRAPH_LINKS}> {{ ?s ?rel ?t . ?l ?p ?o }} }}
WHERE {{ GRAPH <{GRAPH_LINKS}> {{ ?l sail:linkSpec {name} ; sail:linkSource ?s ; sail:linkTarget ?t ; sail:linkRelation ?rel . ?l ?p ?o }} }}"
    );
    let budget = store.budget(Duration::from_secs(600));
    store.update(&UpdateRequest { update: &delete, ..Default::default() }, &budget).map_err(fail)?;
    let graph = GraphName::NamedNode(NamedNode::new_unchecked(GRAPH_LINKS));
    let sail = |local: &str| NamedNode::new_unchecked(format!("{SAIL}{local}"));
    let prov = |local: &str| NamedNode::new_unchecked(format!("http://www.w3.org/ns/prov#{local}"));
    let stamp =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let run = NamedNode::new_unchecked(format!(
        "urn:sailkg:run:link/{}/{stamp}",
        report.name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_', "_")
    ));
    let mut quads = Vec::with_capacity(report.links.len() * 8 + 9);
    for (i, link) in report.links.iter().enumerate() {
        let relation = NamedNode::new_unchecked(if link.accepted { OWL_SAME_AS } else { SKOS_CLOSE_MATCH });
        let node = NamedNode::new_unchecked(format!(
            "urn:sailkg:link:{}/{i}",
            report.name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_', "_")
        ));
        quads.push(Quad::new(link.source.clone(), relation.clone(), link.target.clone(), graph.clone()));
        quads.push(Quad::new(node.clone(), rdf::TYPE, sail("Link"), graph.clone()));
        quads.push(Quad::new(node.clone(), sail("linkSource"), link.source.clone(), graph.clone()));
        quads.push(Quad::new(node.clone(), sail("linkTarget"), link.target.clone(), graph.clone()));
        quads.push(Quad::new(node.clone(), sail("linkRelation"), relation, graph.clone()));
        quads.push(Quad::new(
            node.clone(),
            sail("score"),
            Literal::new_typed_literal(format!("{:.4}", link.score), xsd::DECIMAL),
            graph.clone(),
        ));
        quads.push(Quad::new(node.clone(), sail("linkSpec"), name.clone(), graph.clone()));
        quads.push(Quad::new(node, prov("wasGeneratedBy"), run.clone(), graph.clone()));
    }
    let catalog = GraphName::NamedNode(NamedNode::new_unchecked(sailkg_core::vocab::GRAPH_CATALOG));
    let integer = |n: u64| Literal::new_typed_literal(n.to_string(), xsd::INTEGER);
    let now = std::time::SystemTime::now();
    let started = now.checked_sub(Duration::from_secs_f64(report.seconds)).unwrap_or(now);
    for (p, o) in [
        (rdf::TYPE.into_owned(), Term::from(prov("Activity"))),
        (rdf::TYPE.into_owned(), sail("LinkRun").into()),
        (prov("startedAtTime"), sailkg_core::terms::date_time(started).into()),
        (prov("endedAtTime"), sailkg_core::terms::date_time(now).into()),
        (prov("used"), sailkg_core::terms::file_iri(spec_file).into()),
        (prov("generated"), NamedNode::new_unchecked(GRAPH_LINKS).into()),
        (sail("linkSpec"), name.clone().into()),
        (sail("comparisonCount"), integer(report.comparisons).into()),
        (sail("quadCount"), integer(quads.len() as u64).into()),
    ] {
        quads.push(Quad::new(run.clone(), p, o, catalog.clone()));
    }
    store.oxigraph().extend(quads).map_err(|e| fail(e.into()))?;
    store.mark_changed();
    Ok(())
}

/// The entities of a set with their values of `properties`.
fn entities(store: &Store, set: &EntitySet, properties: &[&str]) -> Result<Vec<(NamedNode, Values)>, String> {
    let wanted: HashSet<&str> = properties.iter().copied().collect();
    let values: String = wanted.iter().map(|p| format!("<{p}> ")).collect();
    let query = format!(
        "SELECT ?e ?p ?v WHERE {{ ?e a <{}> . {} OPTIONAL {{ VALUES ?p {{ {values} }} ?e ?p ?v }} }}",
        set.class,
        set.filter.as_deref().unwrap_or("")
    );
    let budget = store.budget(Duration::from_secs(600));
    let request = QueryRequest { query: &query, union_default_graph: true, ..Default::default() };
    let QueryResults::Solutions(solutions) =
        store.query(&request, &budget).map_err(|e| format!("entity query for <{}>: {e}", set.class))?
    else {
        return Err("unexpected query result".into());
    };
    let mut order: Vec<NamedNode> = Vec::new();
    let mut found: HashMap<NamedNode, Values> = HashMap::new();
    for solution in solutions {
        let solution = solution.map_err(|e| e.to_string())?;
        let Some(Term::NamedNode(entity)) = solution.get("e") else { continue };
        let entry = found.entry(entity.clone()).or_insert_with(|| {
            order.push(entity.clone());
            Values::new()
        });
        if let (Some(Term::NamedNode(p)), Some(v)) = (solution.get("p"), solution.get("v")) {
            let text = match v {
                Term::Literal(l) => l.value().to_owned(),
                Term::NamedNode(n) => n.as_str().to_owned(),
                Term::BlankNode(b) => b.as_str().to_owned(),
                Term::Triple(t) => t.to_string(),
            };
            entry.entry(p.as_str().to_owned()).or_default().push(text);
        }
    }
    Ok(order
        .into_iter()
        .map(|e| {
            let v = found.remove(&e).unwrap_or_default();
            (e, v)
        })
        .collect())
}

/// Lower case, NFKC, punctuation to spaces, white space collapsed.
pub fn normalize(value: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::with_capacity(value.len());
    let mut space = false;
    for c in value.nfkc().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else {
            space = true;
        }
    }
    out
}

fn keys(value: &str, key: &BlockingKey) -> Vec<String> {
    match key.key {
        KeyKind::Exact => vec![value.to_owned()],
        KeyKind::Normalized => vec![normalize(value)],
        KeyKind::Prefix => vec![normalize(value).chars().take(key.length).collect()],
        KeyKind::Tokens => {
            normalize(value).split(' ').filter(|t| t.chars().count() >= 3).map(str::to_owned).collect()
        }
        KeyKind::Year => year(value).map(|y| y.to_string()).into_iter().collect(),
    }
}

/// The aggregate score of a pair; `None` when no measure applies (values missing on a side).
fn score(spec: &LinkSpec, source: &Values, target: &Values) -> Option<f64> {
    let mut total = 0.0;
    let mut weights = 0.0;
    let mut lowest = f64::INFINITY;
    let mut highest = f64::NEG_INFINITY;
    for c in &spec.compare {
        let get = |values: &Values, props: &Properties| -> Vec<Vec<String>> {
            props.list().iter().map(|p| values.get(*p).cloned().unwrap_or_default()).collect()
        };
        let (a, b) = (get(source, &c.source), get(target, &c.target));
        if a.iter().any(Vec::is_empty) || b.iter().any(Vec::is_empty) {
            continue;
        }
        let s = measure(c, &a, &b)?;
        total += s * c.weight;
        weights += c.weight;
        lowest = lowest.min(s);
        highest = highest.max(s);
    }
    if weights == 0.0 {
        return None;
    }
    Some(match spec.aggregation {
        Aggregation::WeightedMean => total / weights,
        Aggregation::Min => lowest,
        Aggregation::Max => highest,
    })
}

/// The best score over the value pairs of one measure.
fn measure(c: &Comparison, a: &[Vec<String>], b: &[Vec<String>]) -> Option<f64> {
    let linear = |difference: f64, default: f64| {
        (1.0 - difference / c.max_difference.unwrap_or(default)).clamp(0.0, 1.0)
    };
    if c.method == Method::Geo {
        let point = |values: &[Vec<String>]| -> Option<(f64, f64)> {
            Some((values[0].first()?.trim().parse().ok()?, values[1].first()?.trim().parse().ok()?))
        };
        let (p, q) = (point(a)?, point(b)?);
        return Some(linear(haversine_km(p, q), 10.0));
    }
    let mut best: Option<f64> = None;
    for x in &a[0] {
        for y in &b[0] {
            let s = match c.method {
                Method::Exact => f64::from(u8::from(x == y)),
                Method::Normalized => f64::from(u8::from(normalize(x) == normalize(y))),
                Method::JaroWinkler => strsim::jaro_winkler(&normalize(x), &normalize(y)),
                Method::Levenshtein => strsim::normalized_levenshtein(&normalize(x), &normalize(y)),
                Method::Jaccard => {
                    let (p, q) = (normalize(x), normalize(y));
                    let p: HashSet<&str> = p.split(' ').filter(|t| !t.is_empty()).collect();
                    let q: HashSet<&str> = q.split(' ').filter(|t| !t.is_empty()).collect();
                    let union = p.union(&q).count();
                    if union == 0 { 0.0 } else { p.intersection(&q).count() as f64 / union as f64 }
                }
                Method::Numeric => match (x.trim().parse::<f64>(), y.trim().parse::<f64>()) {
                    (Ok(p), Ok(q)) => linear((p - q).abs(), 1.0),
                    _ => continue,
                },
                Method::Date => match (days(x), days(y)) {
                    (Some(p), Some(q)) => linear((p - q).abs() as f64, 365.0),
                    _ => continue,
                },
                Method::Geo => unreachable!("handled above"),
            };
            best = Some(best.map_or(s, |b: f64| b.max(s)));
        }
    }
    best
}

/// A year between 1000 and 2999 anywhere in the text.
fn year(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(3)).find_map(|i| {
        let window = &bytes[i..i + 4];
        let bounded = (i == 0 || !bytes[i - 1].is_ascii_digit())
            && bytes.get(i + 4).is_none_or(|b| !b.is_ascii_digit());
        (bounded && window.iter().all(u8::is_ascii_digit) && matches!(window[0], b'1' | b'2'))
            .then(|| std::str::from_utf8(window).ok()?.parse().ok())
            .flatten()
    })
}

/// Days since 1970 of an ISO date (`YYYY-MM-DD…`), else of 1 July of the year in the text.
fn days(text: &str) -> Option<i64> {
    let t = text.trim();
    let iso = (|| {
        let (y, rest) = t.split_at_checked(4)?;
        let m = rest.strip_prefix('-')?.get(..2)?;
        let d = rest.get(4..6)?;
        Some((y.parse::<i64>().ok()?, m.parse::<i64>().ok()?, d.parse::<i64>().ok()?))
    })();
    let (y, m, d) = match iso {
        Some(date) => date,
        None => (year(t)?, 7, 1),
    };
    Some(sailkg_core::terms::days_from_civil(y, m, d))
}

fn haversine_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures() {
        assert_eq!(normalize("  The Matrix: Reloaded! "), "the matrix reloaded");
        assert_eq!(year("Jun 12 1998"), Some(1998));
        assert_eq!(year("12345"), None);
        assert_eq!(days("1970-01-02"), Some(1));
        assert_eq!(days("2000-03-01").unwrap() - days("2000-02-28").unwrap(), 2);
        let seoul_busan = haversine_km((37.5665, 126.9780), (35.1796, 129.0756));
        assert!((seoul_busan - 325.0).abs() < 5.0, "{seoul_busan}");
        let c = |method, max| Comparison {
            source: Properties::One("http://e/a".into()),
            target: Properties::One("http://e/b".into()),
            method,
            weight: 1.0,
            max_difference: max,
        };
        let v = |s: &str| vec![vec![s.to_owned()]];
        assert_eq!(measure(&c(Method::Exact, None), &v("a"), &v("a")), Some(1.0));
        assert_eq!(measure(&c(Method::Normalized, None), &v("The  Matrix"), &v("the matrix!")), Some(1.0));
        assert!(measure(&c(Method::JaroWinkler, None), &v("Matrix"), &v("Matrxi")).unwrap() > 0.9);
        assert_eq!(measure(&c(Method::Jaccard, None), &v("a b c"), &v("b c d")), Some(0.5));
        assert_eq!(measure(&c(Method::Numeric, Some(4.0)), &v("1998"), &v("1999")), Some(0.75));
        assert_eq!(measure(&c(Method::Date, Some(730.0)), &v("Jun 12 1998"), &v("1998")), Some(1.0));
        assert_eq!(measure(&c(Method::Numeric, None), &v("x"), &v("1")), None);
    }

    #[test]
    fn specs_are_checked() {
        let ok = "name = \"m\"\n[source]\nclass = \"http://e/A\"\n[target]\nclass = \"http://e/B\"\n[[compare]]\nsource = \"http://e/p\"\ntarget = \"http://e/q\"\nmethod = \"jaro_winkler\"\n";
        assert!(LinkSpec::from_toml(ok, "s.toml").is_ok());
        let unknown = ok.replace("jaro_winkler", "telepathy");
        let error = LinkSpec::from_toml(&unknown, "s.toml").unwrap_err().to_string();
        assert!(error.contains("s.toml") && error.contains("telepathy"), "{error}");
        let geo = ok.replace("jaro_winkler", "geo");
        assert!(LinkSpec::from_toml(&geo, "s.toml").unwrap_err().to_string().contains("2 properties"));
        let thresholds = format!("accept = 0.5\nreview = 0.8\n{ok}");
        assert!(LinkSpec::from_toml(&thresholds, "s.toml").is_err());
    }
}
