//! Term maps evaluated over a whole batch: each reference is read once as a column, each term
//! map yields the terms of every record.

use crate::error::{Location, MapError, Result};
use crate::plan::{Generator, TermMap, TermType};
use crate::source::{Batch, Column, Value};
use crate::template::{Segment, iri_safe};
use oxigraph::model::vocab::xsd;
use oxigraph::model::{BlankNode, Literal, NamedNode, Term};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// The terms of a term map for each record of a batch.
pub(crate) enum Terms {
    /// The same term (or none) for every record.
    Constant(Option<Term>),
    PerRecord {
        terms: Vec<Term>,
        ends: Vec<usize>,
    },
}

impl Terms {
    pub fn get(&self, record: usize) -> &[Term] {
        match self {
            Terms::Constant(term) => term.as_slice(),
            Terms::PerRecord { terms, ends } => {
                let start = if record == 0 { 0 } else { ends[record - 1] };
                &terms[start..ends[record]]
            }
        }
    }
}

/// Evaluation over one batch, with each reference's column read once.
pub(crate) struct Evaluator<'a> {
    pub batch: &'a dyn Batch,
    pub base: &'a str,
    columns: RefCell<HashMap<String, Rc<Column>>>,
}

impl<'a> Evaluator<'a> {
    pub fn new(batch: &'a dyn Batch, base: &'a str) -> Self {
        Self { batch, base, columns: RefCell::default() }
    }

    pub fn column(&self, at: &Location, reference: &str) -> Result<Rc<Column>> {
        if let Some(column) = self.columns.borrow().get(reference) {
            return Ok(Rc::clone(column));
        }
        let column = Rc::new(self.batch.column(reference).map_err(|e| at.error(e))?);
        self.columns.borrow_mut().insert(reference.to_owned(), Rc::clone(&column));
        Ok(column)
    }

    /// The string values a term map produces per record, before they become terms.
    pub fn strings(&self, map: &TermMap) -> Result<Vec<Vec<Value>>> {
        let len = self.batch.len();
        match &map.generator {
            Generator::Constant(term) => {
                let text = match term {
                    Term::NamedNode(n) => n.as_str().to_owned(),
                    Term::BlankNode(b) => b.as_str().to_owned(),
                    Term::Literal(l) => l.value().to_owned(),
                    Term::Triple(t) => t.to_string(),
                };
                Ok(vec![vec![Value { text, datatype: None }]; len])
            }
            Generator::Reference(reference) => {
                let column = self.column(&map.location, reference)?;
                Ok((0..len).map(|i| column.get(i).to_vec()).collect())
            }
            Generator::Template(segments) => {
                let columns = self.template_columns(&map.location, segments)?;
                Ok((0..len).map(|i| expand(segments, &columns, i, map.term_type)).collect())
            }
            Generator::Fresh => Ok(vec![Vec::new(); len]),
        }
    }

    fn template_columns(&self, at: &Location, segments: &[Segment]) -> Result<Vec<Option<Rc<Column>>>> {
        segments
            .iter()
            .map(|s| match s {
                Segment::Text(_) => Ok(None),
                Segment::Reference(r) => self.column(at, r).map(Some),
            })
            .collect()
    }

    /// The terms of a term map for every record.
    pub fn terms(&self, map: &TermMap) -> Result<Terms> {
        if let Generator::Constant(term) = &map.generator
            && map.datatype.is_none()
            && map.language.is_none()
        {
            return Ok(Terms::Constant(Some(term.clone())));
        }
        let len = self.batch.len();
        let datatypes = match &map.datatype {
            Some(d) => Some(self.terms(d)?),
            None => None,
        };
        let languages = match &map.language {
            Some(l) => Some(self.strings(l)?),
            None => None,
        };
        let mut terms = Vec::with_capacity(len);
        let mut ends = Vec::with_capacity(len);
        let natural = matches!(map.generator, Generator::Reference(_));
        let fresh = || Term::from(BlankNode::default());
        match &map.generator {
            Generator::Fresh => {
                for _ in 0..len {
                    terms.push(fresh());
                    ends.push(terms.len());
                }
            }
            Generator::Reference(reference) => {
                let column = self.column(&map.location, reference)?;
                for i in 0..len {
                    for value in column.get(i) {
                        let datatype = datatypes.as_ref().and_then(|d| d.get(i).first());
                        let language = languages.as_ref().and_then(|l| l[i].first());
                        if let Some(term) = self.term(map, value, natural, datatype, language)? {
                            terms.push(term);
                        }
                    }
                    ends.push(terms.len());
                }
            }
            Generator::Template(segments) => {
                let columns = self.template_columns(&map.location, segments)?;
                let safe = safe_template(segments, map.term_type);
                for i in 0..len {
                    for value in expand(segments, &columns, i, map.term_type) {
                        if safe {
                            // Valid by construction: no need to parse the IRI again.
                            terms.push(NamedNode::new_unchecked(value.text).into());
                            continue;
                        }
                        let datatype = datatypes.as_ref().and_then(|d| d.get(i).first());
                        let language = languages.as_ref().and_then(|l| l[i].first());
                        if let Some(term) = self.term(map, &value, false, datatype, language)? {
                            terms.push(term);
                        }
                    }
                    ends.push(terms.len());
                }
            }
            Generator::Constant(term) => {
                let value = Value {
                    text: match term {
                        Term::Literal(l) => l.value().to_owned(),
                        other => other.to_string(),
                    },
                    datatype: None,
                };
                for i in 0..len {
                    let datatype = datatypes.as_ref().and_then(|d| d.get(i).first());
                    let language = languages.as_ref().and_then(|l| l[i].first());
                    if let Some(term) = self.term(map, &value, false, datatype, language)? {
                        terms.push(term);
                    }
                    ends.push(terms.len());
                }
            }
        }
        Ok(Terms::PerRecord { terms, ends })
    }

    /// One value as a term of the map's term type.
    fn term(
        &self,
        map: &TermMap,
        value: &Value,
        natural: bool,
        datatype: Option<&Term>,
        language: Option<&Value>,
    ) -> Result<Option<Term>> {
        let at = &map.location;
        Ok(Some(match map.term_type {
            TermType::Iri | TermType::Uri | TermType::UnsafeIri => iri(at, self.base, &value.text)?.into(),
            TermType::BlankNode => blank(&value.text).into(),
            TermType::Literal => {
                if let Some(language) = language {
                    crate::plan::check_language(&language.text).map_err(|e| at.error(e))?;
                    Literal::new_language_tagged_literal_unchecked(
                        &value.text,
                        language.text.to_ascii_lowercase(),
                    )
                    .into()
                } else if let Some(datatype) = datatype {
                    match datatype {
                        // A number from the source written as a double takes the double's
                        // canonical form (33 becomes 3.3E1).
                        Term::NamedNode(d)
                            if d.as_ref() == xsd::DOUBLE
                                && value.datatype.is_some_and(|n| n == xsd::INTEGER || n == xsd::DOUBLE) =>
                        {
                            let text = match value.text.parse::<f64>() {
                                Ok(number) => crate::source::canonical_double(number),
                                Err(_) => value.text.clone(),
                            };
                            Literal::new_typed_literal(text, d.clone()).into()
                        }
                        Term::NamedNode(d) => Literal::new_typed_literal(&value.text, d.clone()).into(),
                        other => return Err(at.error(format!("datatype {other} is not an IRI"))),
                    }
                } else if let (true, Some(d)) = (natural, value.datatype) {
                    if d == xsd::STRING {
                        Literal::new_simple_literal(&value.text).into()
                    } else {
                        Literal::new_typed_literal(&value.text, d).into()
                    }
                } else {
                    Literal::new_simple_literal(&value.text).into()
                }
            }
        }))
    }
}

/// The values of a template for one record: every combination of its references' values; none
/// when a reference has no value.
fn expand(
    segments: &[Segment],
    columns: &[Option<Rc<Column>>],
    record: usize,
    term_type: TermType,
) -> Vec<Value> {
    let mut out = vec![String::new()];
    for (segment, column) in segments.iter().zip(columns) {
        match (segment, column) {
            (Segment::Text(text), _) => {
                for o in &mut out {
                    o.push_str(text);
                }
            }
            (Segment::Reference(_), Some(column)) => {
                let values = column.get(record);
                if values.is_empty() {
                    return Vec::new();
                }
                let mut next = Vec::with_capacity(out.len() * values.len());
                for prefix in &out {
                    for value in values {
                        let mut s = prefix.clone();
                        match term_type {
                            TermType::Iri => iri_safe(&value.text, &mut s, true),
                            TermType::Uri => iri_safe(&value.text, &mut s, false),
                            TermType::UnsafeIri | TermType::BlankNode | TermType::Literal => {
                                s.push_str(&value.text)
                            }
                        }
                        next.push(s);
                    }
                }
                out = next;
            }
            (Segment::Reference(_), None) => {}
        }
    }
    out.into_iter().map(|text| Value { text, datatype: None }).collect()
}

/// Whether every IRI a template makes is valid without checking it: the template is absolute,
/// valid with any value in its references, and the values are percent-encoded into unreserved
/// characters, which are valid wherever the test value `x` is.
fn safe_template(segments: &[Segment], term_type: TermType) -> bool {
    if !matches!(term_type, TermType::Iri | TermType::Uri) {
        return false;
    }
    let Some(Segment::Text(first)) = segments.first() else { return false };
    let absolute = first.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !absolute {
        return false;
    }
    let with = |value: &str| -> String {
        segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => t.as_str(),
                Segment::Reference(_) => value,
            })
            .collect()
    };
    // Empty values and values of unreserved characters must both give valid IRIs.
    NamedNode::new(with("x")).is_ok()
        && NamedNode::new(with("")).is_ok()
        && NamedNode::new(with("x-._~%20")).is_ok()
}

/// An IRI from a generated value: absolute as is, relative after the base IRI.
pub(crate) fn iri(at: &Location, base: &str, value: &str) -> Result<NamedNode> {
    let absolute = value.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    let text = if absolute { value.to_owned() } else { format!("{base}{value}") };
    NamedNode::new(&text).map_err(|e| invalid_iri(at, &text, &e.to_string()))
}

fn invalid_iri(at: &Location, text: &str, why: &str) -> MapError {
    at.error(format!("generated an invalid IRI <{text}>: {why}"))
}

/// A blank node named by a value, so equal values give the same node across triples maps.
pub(crate) fn blank(value: &str) -> BlankNode {
    match BlankNode::new(value) {
        Ok(node) => node,
        Err(_) => {
            let mut id = String::from("b");
            for byte in value.bytes() {
                id.push_str(&format!("{byte:02x}"));
            }
            BlankNode::new_unchecked(id)
        }
    }
}
