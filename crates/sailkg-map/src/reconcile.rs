//! The W3C Reconciliation Service API (v0.2) over the store: candidates for a name (with an
//! optional type and property values) scored by label similarity, entity and type suggestions,
//! and entity descriptions for previews. The HTTP side is in `sailkg-server`.

use crate::link::normalize;
use oxigraph::model::Term;
use oxigraph::sparql::QueryResults;
use sailkg_store::{QueryRequest, Store};
use std::collections::HashMap;
use std::time::Duration;

/// The properties whose values name an entity.
pub const LABEL_PROPERTIES: [&str; 7] = [
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2004/02/skos/core#altLabel",
    "http://schema.org/name",
    "http://xmlns.com/foaf/0.1/name",
    "http://purl.org/dc/terms/title",
    "http://purl.org/dc/elements/1.1/title",
];

/// Candidates fetched per query before scoring.
const CANDIDATES: usize = 2000;

/// One reconciliation query.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// The name to reconcile.
    pub text: String,
    /// Only entities of this type (class IRI).
    pub kind: Option<String>,
    /// At most this many results.
    pub limit: usize,
    /// Property IRI and value pairs that should also match.
    pub properties: Vec<(String, String)>,
}

/// A candidate entity.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Its IRI.
    pub id: String,
    /// Its best-matching label.
    pub name: String,
    /// Its types: IRI and label.
    pub types: Vec<(String, String)>,
    /// 0 to 100.
    pub score: f64,
    /// Whether it is a confident match (high score, clear of the next candidate).
    pub matched: bool,
}

fn run(store: &Store, query: &str, timeout: Duration) -> Result<Vec<HashMap<String, Term>>, String> {
    let budget = store.budget(timeout);
    let request = QueryRequest { query, union_default_graph: true, ..Default::default() };
    let QueryResults::Solutions(solutions) = store.query(&request, &budget).map_err(|e| e.to_string())?
    else {
        return Err("unexpected query result".into());
    };
    let mut rows = Vec::new();
    for solution in solutions {
        let solution = solution.map_err(|e| e.to_string())?;
        rows.push(solution.iter().map(|(v, t)| (v.as_str().to_owned(), t.clone())).collect());
    }
    Ok(rows)
}

fn text(term: Option<&Term>) -> String {
    match term {
        Some(Term::Literal(l)) => l.value().to_owned(),
        Some(Term::NamedNode(n)) => n.as_str().to_owned(),
        Some(Term::BlankNode(b)) => b.as_str().to_owned(),
        Some(Term::Triple(t)) => t.to_string(),
        None => String::new(),
    }
}

/// A SPARQL string literal.
fn quoted(value: &str) -> String {
    oxigraph::model::Literal::new_simple_literal(value).to_string()
}

fn iri_ok(iri: &str) -> Result<(), String> {
    oxigraph::model::NamedNode::new(iri).map(|_| ()).map_err(|e| format!("invalid IRI {iri:?}: {e}"))
}

fn label_values() -> String {
    LABEL_PROPERTIES.iter().map(|p| format!("<{p}> ")).collect()
}

/// Scores the candidates of one query, best first.
pub fn reconcile(store: &Store, query: &Query, timeout: Duration) -> Result<Vec<Candidate>, String> {
    reconcile_among(store, query, timeout, None)
}

/// Like [`reconcile`], with the candidates found elsewhere (a search index) instead of by
/// scanning labels; their labels are still read from the store and scored the same way.
pub fn reconcile_among(
    store: &Store,
    query: &Query,
    timeout: Duration,
    candidates: Option<&[String]>,
) -> Result<Vec<Candidate>, String> {
    let wanted = normalize(&query.text);
    let Some(token) = wanted.split(' ').max_by_key(|t| t.chars().count()).filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    if let Some(kind) = &query.kind {
        iri_ok(kind)?;
    }
    for (property, _) in &query.properties {
        iri_ok(property)?;
    }
    let type_pattern = query.kind.as_ref().map(|k| format!("?e a <{k}> .")).unwrap_or_default();
    let sparql = match candidates {
        Some(ids) => {
            let ids: String =
                ids.iter().filter(|id| iri_ok(id).is_ok()).map(|id| format!("<{id}> ")).collect();
            format!(
                "SELECT ?e ?label WHERE {{ VALUES ?e {{ {ids} }} VALUES ?lp {{ {} }} ?e ?lp ?label . {type_pattern} }}",
                label_values()
            )
        }
        None => format!(
            "SELECT ?e ?label WHERE {{ VALUES ?lp {{ {} }} ?e ?lp ?label . {type_pattern} FILTER(isIRI(?e) && CONTAINS(LCASE(STR(?label)), {})) }} LIMIT {CANDIDATES}",
            label_values(),
            quoted(token)
        ),
    };
    let mut best: HashMap<String, (String, f64)> = HashMap::new();
    for row in run(store, &sparql, timeout)? {
        let (id, label) = (text(row.get("e")), text(row.get("label")));
        let score = strsim::jaro_winkler(&wanted, &normalize(&label));
        let entry = best.entry(id).or_insert_with(|| (label.clone(), -1.0));
        if score > entry.1 {
            *entry = (label, score);
        }
    }
    if best.is_empty() {
        return Ok(Vec::new());
    }
    let ids: String = best.keys().map(|id| format!("<{id}> ")).collect();
    // Property constraints: the best similarity of each property's values.
    let mut property_scores: HashMap<String, Vec<f64>> = HashMap::new();
    for (property, value) in &query.properties {
        let wanted_value = normalize(value);
        let sparql = format!("SELECT ?e ?v WHERE {{ VALUES ?e {{ {ids} }} ?e <{property}> ?v }}");
        let mut found: HashMap<String, f64> = HashMap::new();
        for row in run(store, &sparql, timeout)? {
            let score = strsim::jaro_winkler(&wanted_value, &normalize(&text(row.get("v"))));
            let entry = found.entry(text(row.get("e"))).or_default();
            *entry = entry.max(score);
        }
        for id in best.keys() {
            property_scores.entry(id.clone()).or_default().push(found.get(id).copied().unwrap_or(0.0));
        }
    }
    let types = types_of(store, &ids, timeout)?;
    let mut candidates: Vec<Candidate> = best
        .into_iter()
        .map(|(id, (name, name_score))| {
            let props = property_scores.get(&id).cloned().unwrap_or_default();
            // The name counts twice as much as each property.
            let score = 100.0 * (2.0 * name_score + props.iter().sum::<f64>()) / (2.0 + props.len() as f64);
            Candidate { types: types.get(&id).cloned().unwrap_or_default(), id, name, score, matched: false }
        })
        .collect();
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    let runner_up = candidates.get(1).map_or(0.0, |c| c.score);
    if let Some(first) = candidates.first_mut() {
        first.matched = first.score >= 95.0 && first.score - runner_up > 2.0;
    }
    candidates.truncate(query.limit.max(1));
    Ok(candidates)
}

/// The types of entities (`ids` is a VALUES list), with their labels.
fn types_of(
    store: &Store,
    ids: &str,
    timeout: Duration,
) -> Result<HashMap<String, Vec<(String, String)>>, String> {
    let sparql = format!(
        "SELECT ?e ?t (SAMPLE(?l) AS ?label) WHERE {{ VALUES ?e {{ {ids} }} ?e a ?t . OPTIONAL {{ ?t <http://www.w3.org/2000/01/rdf-schema#label> ?l }} }} GROUP BY ?e ?t"
    );
    let mut types: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for row in run(store, &sparql, timeout)? {
        let t = text(row.get("t"));
        let label = row.get("label").map(|l| text(Some(l))).unwrap_or_else(|| local_name(&t));
        types.entry(text(row.get("e"))).or_default().push((t, label));
    }
    Ok(types)
}

/// The last segment of an IRI, as a fallback label.
pub fn local_name(iri: &str) -> String {
    iri.rsplit(['/', '#']).next().unwrap_or(iri).to_owned()
}

/// Entities whose label starts with `prefix` (case-insensitive): IRI and label.
pub fn suggest_entities(
    store: &Store,
    prefix: &str,
    limit: usize,
    timeout: Duration,
) -> Result<Vec<(String, String)>, String> {
    let sparql = format!(
        "SELECT ?e (SAMPLE(?label) AS ?name) WHERE {{ VALUES ?lp {{ {} }} ?e ?lp ?label . FILTER(isIRI(?e) && STRSTARTS(LCASE(STR(?label)), {})) }} GROUP BY ?e ORDER BY ?name LIMIT {}",
        label_values(),
        quoted(&prefix.to_lowercase()),
        limit.clamp(1, 100)
    );
    Ok(run(store, &sparql, timeout)?.iter().map(|r| (text(r.get("e")), text(r.get("name")))).collect())
}

/// Classes with instances, the most used first (or those whose name starts with `prefix`).
pub fn suggest_types(
    store: &Store,
    prefix: &str,
    limit: usize,
    timeout: Duration,
) -> Result<Vec<(String, String)>, String> {
    let sparql = "SELECT ?t (SAMPLE(?l) AS ?label) (COUNT(?e) AS ?n) WHERE { ?e a ?t . OPTIONAL { ?t <http://www.w3.org/2000/01/rdf-schema#label> ?l } FILTER(isIRI(?t)) } GROUP BY ?t ORDER BY DESC(?n) LIMIT 500";
    let wanted = prefix.to_lowercase();
    Ok(run(store, sparql, timeout)?
        .iter()
        .map(|r| {
            let t = text(r.get("t"));
            let label = r.get("label").map(|l| text(Some(l))).unwrap_or_else(|| local_name(&t));
            (t, label)
        })
        .filter(|(t, label)| {
            wanted.is_empty()
                || label.to_lowercase().starts_with(&wanted)
                || local_name(t).to_lowercase().starts_with(&wanted)
        })
        .take(limit.clamp(1, 100))
        .collect())
}

/// An entity's name and up to 20 property values, for a preview.
pub fn describe(
    store: &Store,
    id: &str,
    timeout: Duration,
) -> Result<(String, Vec<(String, String)>), String> {
    iri_ok(id)?;
    let sparql = format!("SELECT ?p ?v WHERE {{ <{id}> ?p ?v }} LIMIT 50");
    let rows = run(store, &sparql, timeout)?;
    let name = rows
        .iter()
        .find(|r| LABEL_PROPERTIES.contains(&text(r.get("p")).as_str()))
        .map(|r| text(r.get("v")))
        .unwrap_or_else(|| local_name(id));
    let facts = rows.iter().take(20).map(|r| (local_name(&text(r.get("p"))), text(r.get("v")))).collect();
    Ok((name, facts))
}
