//! A fast N-Triples / N-Quads writer for the mapping's output: terms the engine made are valid,
//! so IRIs are written as they are and only literals are escaped.

use oxigraph::model::vocab::xsd;
use oxigraph::model::{GraphNameRef, LiteralRef, NamedOrBlankNodeRef, QuadRef, TermRef};

/// Appends one quad as an N-Triples line (or N-Quads with `graphs`).
pub(crate) fn write_quad(out: &mut Vec<u8>, quad: QuadRef<'_>, graphs: bool) {
    match quad.subject {
        NamedOrBlankNodeRef::NamedNode(n) => iri(out, n.as_str()),
        NamedOrBlankNodeRef::BlankNode(b) => blank(out, b.as_str()),
    }
    out.push(b' ');
    iri(out, quad.predicate.as_str());
    out.push(b' ');
    match quad.object {
        TermRef::NamedNode(n) => iri(out, n.as_str()),
        TermRef::BlankNode(b) => blank(out, b.as_str()),
        TermRef::Literal(l) => literal(out, l),
        TermRef::Triple(t) => out.extend_from_slice(format!("<<( {t} )>>").as_bytes()),
    }
    if graphs && let GraphNameRef::NamedNode(g) = quad.graph_name {
        out.push(b' ');
        iri(out, g.as_str());
    }
    out.extend_from_slice(b" .\n");
}

fn iri(out: &mut Vec<u8>, iri: &str) {
    out.push(b'<');
    out.extend_from_slice(iri.as_bytes());
    out.push(b'>');
}

fn blank(out: &mut Vec<u8>, id: &str) {
    out.extend_from_slice(b"_:");
    out.extend_from_slice(id.as_bytes());
}

fn literal(out: &mut Vec<u8>, literal: LiteralRef<'_>) {
    out.push(b'"');
    let value = literal.value().as_bytes();
    if value.iter().any(|b| matches!(b, b'"' | b'\\' | b'\n' | b'\r')) {
        for &b in value {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b => out.push(b),
            }
        }
    } else {
        out.extend_from_slice(value);
    }
    out.push(b'"');
    if let Some(language) = literal.language() {
        out.push(b'@');
        out.extend_from_slice(language.as_bytes());
    } else if literal.datatype() != xsd::STRING {
        out.extend_from_slice(b"^^");
        iri(out, literal.datatype().as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxigraph::io::{RdfFormat, RdfParser};
    use oxigraph::model::*;

    #[test]
    fn lines_parse_back_to_the_same_quads() {
        let s = NamedNode::new_unchecked("http://e/s");
        let quads = [
            Quad::new(
                s.clone(),
                s.clone(),
                Literal::new_simple_literal("a \"q\" \\ \n\r\tb"),
                GraphName::DefaultGraph,
            ),
            Quad::new(
                s.clone(),
                s.clone(),
                Literal::new_language_tagged_literal_unchecked("x", "en"),
                s.clone(),
            ),
            Quad::new(
                BlankNode::new_unchecked("b1"),
                s.clone(),
                Literal::new_typed_literal("1", xsd::INTEGER),
                s.clone(),
            ),
            Quad::new(s.clone(), s.clone(), BlankNode::new_unchecked("b2"), GraphName::DefaultGraph),
        ];
        let mut out = Vec::new();
        for q in &quads {
            write_quad(&mut out, q.as_ref(), true);
        }
        let parsed: Vec<Quad> =
            RdfParser::from_format(RdfFormat::NQuads).for_slice(&out).collect::<Result<_, _>>().unwrap();
        assert_eq!(parsed, quads);
    }
}
