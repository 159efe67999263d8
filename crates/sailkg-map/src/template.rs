//! String templates (`http://ex.org/{id}/{name}`): literal text and references in braces; `\{`,
//! `\}` and `\\` escape.

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text copied as is.
    Text(String),
    /// A reference whose values are inserted.
    Reference(String),
}

/// Parses a template; an unclosed or unopened brace or an empty reference is an error.
pub fn parse(template: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut text = String::new();
    let mut reference: Option<String> = None;
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped @ ('{' | '}' | '\\')) => match &mut reference {
                    Some(r) => r.push(escaped),
                    None => text.push(escaped),
                },
                Some(other) => return Err(format!("invalid escape \\{other} in template {template:?}")),
                None => return Err(format!("template {template:?} ends with a backslash")),
            },
            '{' => {
                if reference.is_some() {
                    return Err(format!("nested '{{' in template {template:?}"));
                }
                if !text.is_empty() {
                    segments.push(Segment::Text(std::mem::take(&mut text)));
                }
                reference = Some(String::new());
            }
            '}' => match reference.take() {
                Some(r) if r.is_empty() => {
                    return Err(format!("empty reference {{}} in template {template:?}"));
                }
                Some(r) => segments.push(Segment::Reference(r)),
                None => return Err(format!("'}}' without '{{' in template {template:?}")),
            },
            c => match &mut reference {
                Some(r) => r.push(c),
                None => text.push(c),
            },
        }
    }
    if reference.is_some() {
        return Err(format!("unclosed '{{' in template {template:?}"));
    }
    if !text.is_empty() {
        segments.push(Segment::Text(text));
    }
    Ok(segments)
}

/// Percent-encodes a value inserted into an IRI template: everything but RFC 3987 `iunreserved`
/// characters (ASCII letters, digits, `-._~`, and with `unicode` non-ASCII characters).
pub fn iri_safe(value: &str, out: &mut String, unicode: bool) {
    for c in value.chars() {
        if c.is_ascii_alphanumeric()
            || matches!(c, '-' | '.' | '_' | '~')
            || unicode && !c.is_ascii() && is_ucschar(c)
        {
            out.push(c);
        } else {
            let mut buffer = [0u8; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                out.push('%');
                out.push(char::from(b"0123456789ABCDEF"[usize::from(byte >> 4)]));
                out.push(char::from(b"0123456789ABCDEF"[usize::from(byte & 15)]));
            }
        }
    }
}

/// RFC 3987 `ucschar`.
fn is_ucschar(c: char) -> bool {
    matches!(u32::from(c),
        0xA0..=0xD7FF | 0xF900..=0xFDCF | 0xFDF0..=0xFFEF | 0x10000..=0x1FFFD | 0x20000..=0x2FFFD
        | 0x30000..=0x3FFFD | 0x40000..=0x4FFFD | 0x50000..=0x5FFFD | 0x60000..=0x6FFFD
        | 0x70000..=0x7FFFD | 0x80000..=0x8FFFD | 0x90000..=0x9FFFD | 0xA0000..=0xAFFFD
        | 0xB0000..=0xBFFFD | 0xC0000..=0xCFFFD | 0xD0000..=0xDFFFD | 0xE1000..=0xEFFFD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_with_escapes_and_errors() {
        assert_eq!(
            parse("http://ex.org/{id}/x\\{y\\}").unwrap(),
            [
                Segment::Text("http://ex.org/".into()),
                Segment::Reference("id".into()),
                Segment::Text("/x{y}".into())
            ]
        );
        assert_eq!(parse("{a\\}b}").unwrap(), [Segment::Reference("a}b".into())]);
        for bad in ["http://ex.org/{id", "a}b", "{}", "{a{b}}", "x\\"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn iri_safe_encodes_reserved_characters() {
        let mut out = String::new();
        iri_safe("Bob/Charles é 100%", &mut out, true);
        assert_eq!(out, "Bob%2FCharles%20é%20100%25");
        out.clear();
        iri_safe("é", &mut out, false);
        assert_eq!(out, "%C3%A9");
    }
}
