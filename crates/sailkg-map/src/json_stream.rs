//! Streaming JSON records: for iterators that name an array through object members
//! (`$[*]`, `$.persons[*]`, `$['a'].b[*]`), the array's elements are parsed one at a time and
//! handed on in batches, so a multi-gigabyte document needs the memory of one batch, not of the
//! whole document.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The member names leading to the array of a streamable iterator, or `None` when the iterator
/// needs the whole document.
pub(crate) fn streamable(iterator: &str) -> Option<Vec<String>> {
    let mut rest = iterator.trim().strip_prefix('$')?.strip_suffix("[*]")?;
    let mut keys = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let name = &after[..end];
            if name.is_empty()
                || name == "*"
                || !name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                return None;
            }
            keys.push(name.to_owned());
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix("['").or_else(|| rest.strip_prefix("[\"")) {
            let quote = if rest.starts_with("['") { "']" } else { "\"]" };
            let end = after.find(quote)?;
            let name = &after[..end];
            if name.contains(['\\', '\'', '"']) {
                return None;
            }
            keys.push(name.to_owned());
            rest = &after[end + 2..];
        } else {
            return None;
        }
    }
    Some(keys)
}

/// Walks `keys` down the document and hands each element of the array there to `element`.
/// Elsewhere, or when a key is missing, there are no records.
pub(crate) struct Walk<'a, F> {
    pub keys: &'a [String],
    pub element: &'a mut F,
}

impl<'de, F: FnMut(serde_json::Value) -> Result<(), String>> DeserializeSeed<'de> for Walk<'_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, F: FnMut(serde_json::Value) -> Result<(), String>> Visitor<'de> for Walk<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Walk { keys, element } = self;
        let mut walked = false;
        while let Some(key) = map.next_key::<String>()? {
            match keys.split_first() {
                Some((first, rest)) if *first == key && !walked => {
                    map.next_value_seed(Walk { keys: rest, element: &mut *element })?;
                    walked = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.keys.is_empty() {
            while let Some(value) = seq.next_element::<serde_json::Value>()? {
                (self.element)(value).map_err(serde::de::Error::custom)?;
            }
        } else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok(())
    }

    // Scalars where an object or array was expected: no records.
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterators_that_stream() {
        assert_eq!(streamable("$[*]"), Some(vec![]));
        assert_eq!(streamable("$.students[*]"), Some(vec!["students".to_owned()]));
        assert_eq!(streamable("$['a b'].c[*]"), Some(vec!["a b".to_owned(), "c".to_owned()]));
        for whole in ["$", "$..x[*]", "$.a[?(@.b)]", "$.a[0]", "$.*[*]", "$.students[*]]"] {
            assert_eq!(streamable(whole), None, "{whole}");
        }
    }

    #[test]
    fn elements_arrive_one_by_one() {
        let text =
            r#"{"skip": [1, {"students": [9]}], "data": {"students": [{"id": 1}, {"id": 2}], "x": 3}}"#;
        let mut seen = Vec::new();
        let keys = vec!["data".to_owned(), "students".to_owned()];
        let mut element = |v: serde_json::Value| -> Result<(), String> {
            seen.push(v["id"].as_i64().unwrap());
            Ok(())
        };
        let mut deserializer = serde_json::Deserializer::from_str(text);
        Walk { keys: &keys, element: &mut element }.deserialize(&mut deserializer).unwrap();
        assert_eq!(seen, [1, 2]);
    }
}
