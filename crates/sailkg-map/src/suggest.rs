//! Auto-mapping: from a cleansed table's profile and an ontology in the store, a proposed RML
//! mapping — a class for the rows, a property per column, the datatype from the profile, an IRI
//! template from a key column — ranked by label and name similarity and written out as Turtle
//! for a person to review. Columns without a good property are left as commented-out proposals.

use crate::link::normalize;
use oxigraph::model::Term;
use oxigraph::sparql::QueryResults;
use sailkg_store::{QueryRequest, Store};
use std::collections::HashMap;
use std::fmt::Write;
use std::time::Duration;

/// A column of the table, as the catalogue profiles it.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    /// The column name.
    pub name: String,
    /// The polars type name ("i64", "f64", "str", "bool", "date", "datetime[μs]", ...).
    pub datatype: String,
    /// Distinct values.
    pub distinct: u64,
    /// Share of missing values.
    pub null_share: f64,
}

/// A term of the ontology with its labels, domains and ranges.
#[derive(Debug, Clone, Default)]
struct OntologyTerm {
    iri: String,
    labels: Vec<String>,
    domains: Vec<String>,
    ranges: Vec<String>,
}

/// Stands for the end of the subject map line until it is known whether properties follow.
const END: &str = "\u{0}END";

/// Below this similarity a column gets no property.
const PROPERTY_THRESHOLD: f64 = 0.88;

/// Writes `camelCase`, `snake_case` and plural names as comparable words.
fn words(name: &str) -> String {
    let mut spaced = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_uppercase() && previous_lower {
            spaced.push(' ');
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        spaced.push(c);
    }
    let normalized = normalize(&spaced);
    normalized
        .split(' ')
        .map(|w| if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") { &w[..w.len() - 1] } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How well a name fits a term: the mean of Jaro-Winkler and Levenshtein similarity of the
/// words, or, when every word of the name is a word of the term, 0.9 and more the more of the
/// term's words it covers.
fn similarity(a: &str, term: &OntologyTerm) -> f64 {
    let wanted = words(a);
    let wanted_tokens: Vec<&str> = wanted.split(' ').filter(|t| !t.is_empty()).collect();
    let local = term.iri.rsplit(['/', '#']).next().unwrap_or(&term.iri);
    std::iter::once(local)
        .chain(term.labels.iter().map(String::as_str))
        .map(|candidate| {
            let candidate = words(candidate);
            let tokens: Vec<&str> = candidate.split(' ').filter(|t| !t.is_empty()).collect();
            let contained = !wanted_tokens.is_empty() && wanted_tokens.iter().all(|t| tokens.contains(t));
            let covered =
                if contained { 0.9 + 0.1 * wanted_tokens.len() as f64 / tokens.len() as f64 } else { 0.0 };
            let edit = (strsim::jaro_winkler(&wanted, &candidate)
                + strsim::normalized_levenshtein(&wanted, &candidate))
                / 2.0;
            covered.max(edit)
        })
        .fold(0.0, f64::max)
}

fn terms(
    store: &Store,
    ontology: &str,
    kinds: &[&str],
    timeout: Duration,
) -> Result<Vec<OntologyTerm>, String> {
    let kinds: String = kinds.iter().map(|k| format!("<{k}> ")).collect();
    let namespace = oxigraph::model::Literal::new_simple_literal(ontology);
    let query = format!(
        "SELECT ?t ?label ?domain ?range WHERE {{
  VALUES ?kind {{ {kinds} }}
  ?t a ?kind .
  FILTER(isIRI(?t) && (STRSTARTS(STR(?t), {namespace}) || EXISTS {{ ?t <http://www.w3.org/2000/01/rdf-schema#isDefinedBy> <{ontology}> }}))
  OPTIONAL {{ ?t <http://www.w3.org/2000/01/rdf-schema#label> ?label }}
  OPTIONAL {{ VALUES ?dp {{ <http://www.w3.org/2000/01/rdf-schema#domain> <http://schema.org/domainIncludes> <https://schema.org/domainIncludes> }} ?t ?dp ?domain }}
  OPTIONAL {{ VALUES ?rp {{ <http://www.w3.org/2000/01/rdf-schema#range> <http://schema.org/rangeIncludes> <https://schema.org/rangeIncludes> }} ?t ?rp ?range }}
}}"
    );
    let budget = store.budget(timeout);
    let request = QueryRequest { query: &query, union_default_graph: true, ..Default::default() };
    let QueryResults::Solutions(solutions) = store.query(&request, &budget).map_err(|e| e.to_string())?
    else {
        return Err("unexpected query result".into());
    };
    let mut found: HashMap<String, OntologyTerm> = HashMap::new();
    for solution in solutions {
        let solution = solution.map_err(|e| e.to_string())?;
        let Some(Term::NamedNode(t)) = solution.get("t") else { continue };
        let term = found
            .entry(t.as_str().to_owned())
            .or_insert_with(|| OntologyTerm { iri: t.as_str().to_owned(), ..Default::default() });
        let add = |list: &mut Vec<String>, value: Option<&Term>| {
            let text = match value {
                Some(Term::Literal(l)) => l.value().to_owned(),
                Some(Term::NamedNode(n)) => n.as_str().to_owned(),
                _ => return,
            };
            if !list.contains(&text) {
                list.push(text);
            }
        };
        add(&mut term.labels, solution.get("label"));
        add(&mut term.domains, solution.get("domain"));
        add(&mut term.ranges, solution.get("range"));
    }
    let mut terms: Vec<OntologyTerm> = found.into_values().collect();
    terms.sort_by(|a, b| a.iri.cmp(&b.iri));
    Ok(terms)
}

/// A class and its ancestors.
fn ancestors(store: &Store, class: &str, timeout: Duration) -> Result<Vec<String>, String> {
    let query = format!(
        "SELECT DISTINCT ?a WHERE {{ <{class}> <http://www.w3.org/2000/01/rdf-schema#subClassOf>* ?a }}"
    );
    let budget = store.budget(timeout);
    let request = QueryRequest { query: &query, union_default_graph: true, ..Default::default() };
    let QueryResults::Solutions(solutions) = store.query(&request, &budget).map_err(|e| e.to_string())?
    else {
        return Ok(Vec::new());
    };
    Ok(solutions
        .filter_map(|s| match s.ok()?.get("a") {
            Some(Term::NamedNode(n)) => Some(n.as_str().to_owned()),
            _ => None,
        })
        .collect())
}

/// The XSD datatype of a polars type, when it is not text.
fn xsd_for(datatype: &str) -> Option<&'static str> {
    let d = datatype.to_ascii_lowercase();
    Some(match d.as_str() {
        "bool" | "boolean" => "boolean",
        "date" => "date",
        _ if d.starts_with("datetime") => "dateTime",
        _ if d.starts_with('i') || d.starts_with('u') => "integer",
        _ if d.starts_with('f') || d.starts_with("decimal") => "double",
        _ => return None,
    })
}

/// Proposes a mapping of catalogued table `source` (`rows` rows, `columns` profiled) onto the
/// ontology whose terms start with (or are `rdfs:isDefinedBy`) `ontology`, as RML Turtle.
pub fn suggest_mapping(
    store: &Store,
    source: &str,
    rows: u64,
    columns: &[ColumnInfo],
    ontology: &str,
    base: &str,
    timeout: Duration,
) -> Result<String, String> {
    const RDFS_CLASS: &str = "http://www.w3.org/2000/01/rdf-schema#Class";
    const OWL_CLASS: &str = "http://www.w3.org/2002/07/owl#Class";
    let classes = terms(store, ontology, &[RDFS_CLASS, OWL_CLASS], timeout)?;
    let properties = terms(
        store,
        ontology,
        &[
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property",
            "http://www.w3.org/2002/07/owl#DatatypeProperty",
            "http://www.w3.org/2002/07/owl#ObjectProperty",
        ],
        timeout,
    )?;
    if classes.is_empty() && properties.is_empty() {
        return Err(format!(
            "no classes or properties of the ontology <{ontology}> are in the store; load it first"
        ));
    }
    let mut ranked: Vec<(f64, &OntologyTerm)> = classes.iter().map(|c| (similarity(source, c), c)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.iri.cmp(&b.1.iri)));
    let class = ranked.first().map(|(_, c)| c.iri.clone());
    let lineage = match &class {
        Some(c) => ancestors(store, c, timeout)?,
        None => Vec::new(),
    };
    // The key: a complete, unique column, preferring names that say so.
    let unique = |c: &&ColumnInfo| c.null_share == 0.0 && c.distinct == rows && rows > 0;
    let key = columns
        .iter()
        .filter(unique)
        .max_by_key(|c| {
            let n = c.name.to_lowercase();
            (n == "id") as u8 * 4
                + (n.ends_with("id") || n.contains("code") || n.contains("key") || n == "iata") as u8 * 2
        })
        .map(|c| c.name.clone());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Proposed by `sailkg map suggest {source} --ontology {ontology}`: review before use."
    );
    let _ = writeln!(
        out,
        "@prefix rml: <http://w3id.org/rml/> .\n@prefix sail: <urn:sailkg:vocab#> .\n@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
    );
    let _ = writeln!(out, "<#{source}> a rml:TriplesMap ;");
    let _ = writeln!(out, "  rml:logicalSource [ rml:source [ sail:table \"{source}\" ] ] ;");
    let template = match &key {
        Some(k) => format!("{base}{source}/{{{k}}}"),
        None => {
            let all: Vec<String> = columns.iter().take(3).map(|c| format!("{{{}}}", c.name)).collect();
            let _ = writeln!(
                out,
                "  # No column is complete and unique: the subject joins the first columns. Choose a key."
            );
            format!("{base}{source}/{}", all.join("/"))
        }
    };
    let _ = write!(out, "  rml:subjectMap [ rml:template {:?}", template);
    match &class {
        Some(c) => {
            let _ = writeln!(out, " ; rml:class <{c}> ]{END}");
            let others: Vec<String> =
                ranked.iter().skip(1).take(3).map(|(s, c)| format!("<{}> {s:.2}", c.iri)).collect();
            let _ = writeln!(out, "  # class score {:.2}; next: {}", ranked[0].0, others.join(", "));
        }
        None => {
            let _ = writeln!(out, " ]{END}");
        }
    }
    let mut lines = Vec::new();
    // Columns that ingest adds (`_outliers`) describe the table, not the entities.
    for column in columns.iter().filter(|c| !c.name.starts_with('_')) {
        let mut scored: Vec<(f64, &OntologyTerm)> = properties
            .iter()
            .map(|p| {
                let mut s = similarity(&column.name, p);
                if p.domains.iter().any(|d| lineage.contains(d)) {
                    s += 0.05;
                }
                let numeric = matches!(xsd_for(&column.datatype), Some("integer" | "double"));
                let text_range = p.ranges.iter().any(|r| r.ends_with("#string") || r.ends_with("/Text"));
                if numeric && text_range {
                    s -= 0.05;
                }
                (s, p)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.iri.cmp(&b.1.iri)));
        let datatype =
            xsd_for(&column.datatype).map(|d| format!(" ; rml:datatype xsd:{d}")).unwrap_or_default();
        let object = format!("rml:objectMap [ rml:reference {:?}{datatype} ]", column.name);
        match scored.first() {
            Some((score, p)) if *score >= PROPERTY_THRESHOLD => {
                let others: Vec<String> =
                    scored.iter().skip(1).take(2).map(|(s, p)| format!("<{}> {s:.2}", p.iri)).collect();
                let score = score.min(1.0);
                lines.push(format!(
                    "  # column {:?} ({}): score {score:.2}; next: {}\n  rml:predicateObjectMap [ rml:predicate <{}> ; {object} ]",
                    column.name,
                    column.datatype,
                    others.join(", "),
                    p.iri
                ));
            }
            best => {
                let hint = best.map(|(s, p)| format!(" (best: <{}> {s:.2})", p.iri)).unwrap_or_default();
                lines.push(format!(
                    "  # column {:?} ({}): no property of the ontology fits{hint}; a new one:\n  # rml:predicateObjectMap [ rml:predicate <{base}{source}#{}> ; {object} ]",
                    column.name,
                    column.datatype,
                    column.name.replace(|c: char| !c.is_alphanumeric(), "_")
                ));
            }
        }
    }
    // Join the proposals so that the last active one ends the statement.
    let mut body = String::new();
    let active: Vec<usize> =
        lines.iter().enumerate().filter(|(_, l)| l.contains("\n  rml:")).map(|(i, _)| i).collect();
    for (i, line) in lines.iter().enumerate() {
        body.push_str(line);
        body.push_str(if active.last() == Some(&i) {
            " .\n"
        } else if active.contains(&i) {
            " ;\n"
        } else {
            "\n"
        });
    }
    // Without a property the subject map ends the statement.
    out = out.replace(END, if active.is_empty() { " ." } else { " ;" });
    out.push_str(&body);
    Ok(out)
}
