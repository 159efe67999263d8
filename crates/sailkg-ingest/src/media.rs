//! Images and text documents: one record of metadata per file, read from the bytes themselves
//! (headers, EXIF, text), with every read bounds-checked so a damaged file is an error, never a
//! crash.

use std::collections::BTreeMap;

/// Metadata of an image.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ImageInfo {
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
    pub colour: &'static str,
    pub bit_depth: Option<u8>,
    pub exif: BTreeMap<String, String>,
}

/// Reads an image's header: PNG, JPEG, GIF or WebP.
pub(crate) fn image(bytes: &[u8]) -> Result<ImageInfo, String> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(bytes)
    } else if bytes.starts_with(&[0xff, 0xd8]) {
        jpeg(bytes)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        gif(bytes)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        webp(bytes)
    } else {
        Err("not a PNG, JPEG, GIF or WebP image".into())
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(*b.get(at)?) | u32::from(*b.get(at + 1)?) << 8 | u32::from(*b.get(at + 2)?) << 16)
}

fn png(b: &[u8]) -> Result<ImageInfo, String> {
    let truncated = || "truncated PNG header".to_owned();
    if b.get(12..16) != Some(b"IHDR") {
        return Err("PNG without IHDR".into());
    }
    let width = be32(b, 16).ok_or_else(truncated)?;
    let height = be32(b, 20).ok_or_else(truncated)?;
    let depth = *b.get(24).ok_or_else(truncated)?;
    let colour = match b.get(25).ok_or_else(truncated)? {
        0 => "grayscale",
        2 => "rgb",
        3 => "indexed",
        4 => "grayscale-alpha",
        6 => "rgba",
        other => return Err(format!("invalid PNG colour type {other}")),
    };
    // An eXIf chunk carries EXIF data in PNG.
    let mut exif = BTreeMap::new();
    let mut at = 8;
    while let (Some(length), Some(kind)) = (be32(b, at), b.get(at + 4..at + 8)) {
        let data = at + 8;
        let end = data.saturating_add(length as usize);
        if kind == b"eXIf" {
            if let Some(chunk) = b.get(data..end) {
                exif = tiff_fields(chunk);
            }
            break;
        }
        if kind == b"IDAT" || kind == b"IEND" || end > b.len() {
            break;
        }
        at = end + 4;
    }
    Ok(ImageInfo { format: "png", width, height, colour, bit_depth: Some(depth), exif })
}

fn jpeg(b: &[u8]) -> Result<ImageInfo, String> {
    let mut at = 2;
    let mut exif = BTreeMap::new();
    while at + 4 <= b.len() {
        if b[at] != 0xff {
            return Err(format!("malformed JPEG marker at byte {at}"));
        }
        let marker = b[at + 1];
        if marker == 0xd8 || (0xd0..=0xd7).contains(&marker) || marker == 0x01 || marker == 0xff {
            at += if marker == 0xff { 1 } else { 2 };
            continue;
        }
        let length = usize::from(be16(b, at + 2).ok_or("truncated JPEG")?);
        let segment = b.get(at + 4..at + 2 + length).ok_or("truncated JPEG segment")?;
        match marker {
            0xe1 if segment.starts_with(b"Exif\0\0") => exif = tiff_fields(&segment[6..]),
            0xc0..=0xcf if !matches!(marker, 0xc4 | 0xc8 | 0xcc) => {
                let depth = *segment.first().ok_or("truncated JPEG frame")?;
                let height = u32::from(be16(segment, 1).ok_or("truncated JPEG frame")?);
                let width = u32::from(be16(segment, 3).ok_or("truncated JPEG frame")?);
                let colour = match segment.get(5) {
                    Some(1) => "grayscale",
                    Some(3) => "ycbcr",
                    Some(4) => "cmyk",
                    _ => "unknown",
                };
                return Ok(ImageInfo { format: "jpeg", width, height, colour, bit_depth: Some(depth), exif });
            }
            0xda | 0xd9 => break,
            _ => {}
        }
        at += 2 + length;
    }
    Err("JPEG without a frame header".into())
}

fn gif(b: &[u8]) -> Result<ImageInfo, String> {
    let width = u32::from(le16(b, 6).ok_or("truncated GIF")?);
    let height = u32::from(le16(b, 8).ok_or("truncated GIF")?);
    let packed = *b.get(10).ok_or("truncated GIF")?;
    Ok(ImageInfo {
        format: "gif",
        width,
        height,
        colour: "indexed",
        bit_depth: Some(((packed >> 4) & 0x07) + 1),
        exif: BTreeMap::new(),
    })
}

fn webp(b: &[u8]) -> Result<ImageInfo, String> {
    let truncated = || "truncated WebP".to_owned();
    match b.get(12..16) {
        Some(b"VP8 ") => {
            let width = u32::from(le16(b, 26).ok_or_else(truncated)? & 0x3fff);
            let height = u32::from(le16(b, 28).ok_or_else(truncated)? & 0x3fff);
            Ok(ImageInfo {
                format: "webp",
                width,
                height,
                colour: "rgb",
                bit_depth: Some(8),
                exif: BTreeMap::new(),
            })
        }
        Some(b"VP8L") => {
            let bits = le32(b, 21).ok_or_else(truncated)?;
            let width = (bits & 0x3fff) + 1;
            let height = ((bits >> 14) & 0x3fff) + 1;
            let alpha = (bits >> 28) & 1 == 1;
            let colour = if alpha { "rgba" } else { "rgb" };
            Ok(ImageInfo { format: "webp", width, height, colour, bit_depth: Some(8), exif: BTreeMap::new() })
        }
        Some(b"VP8X") => {
            let flags = *b.get(20).ok_or_else(truncated)?;
            let width = le24(b, 24).ok_or_else(truncated)? + 1;
            let height = le24(b, 27).ok_or_else(truncated)? + 1;
            let colour = if flags & 0x10 != 0 { "rgba" } else { "rgb" };
            Ok(ImageInfo { format: "webp", width, height, colour, bit_depth: Some(8), exif: BTreeMap::new() })
        }
        _ => Err("unknown WebP chunk".into()),
    }
}

/// A few well-known EXIF fields from a TIFF structure (IFD0 and the EXIF IFD).
fn tiff_fields(t: &[u8]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let little = match t.get(..2) {
        Some(b"II") => true,
        Some(b"MM") => false,
        _ => return out,
    };
    let u16_at = |at: usize| if little { le16(t, at) } else { be16(t, at) };
    let u32_at = |at: usize| if little { le32(t, at) } else { be32(t, at) };
    let Some(first) = u32_at(4) else { return out };
    let mut directories = vec![first as usize];
    let mut visited = 0;
    while let Some(ifd) = directories.pop() {
        visited += 1;
        if visited > 4 {
            break;
        }
        let Some(count) = u16_at(ifd) else { continue };
        for i in 0..usize::from(count).min(256) {
            let entry = ifd + 2 + i * 12;
            let (Some(tag), Some(kind), Some(n)) = (u16_at(entry), u16_at(entry + 2), u32_at(entry + 4))
            else {
                break;
            };
            let name = match tag {
                0x010f => "Make",
                0x0110 => "Model",
                0x0112 => "Orientation",
                0x0131 => "Software",
                0x0132 => "DateTime",
                0x9003 => "DateTimeOriginal",
                0x8769 => {
                    if let Some(offset) = u32_at(entry + 8) {
                        directories.push(offset as usize);
                    }
                    continue;
                }
                _ => continue,
            };
            let value = match kind {
                2 => {
                    let n = n as usize;
                    let start = if n <= 4 { Some(entry + 8) } else { u32_at(entry + 8).map(|o| o as usize) };
                    start
                        .and_then(|s| t.get(s..s + n))
                        .map(|raw| String::from_utf8_lossy(raw).trim_end_matches('\0').trim().to_owned())
                }
                3 => u16_at(entry + 8).map(|v| v.to_string()),
                4 => u32_at(entry + 8).map(|v| v.to_string()),
                _ => None,
            };
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                out.insert(name.to_owned(), value);
            }
        }
    }
    out
}

/// Metadata of a text or Markdown document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DocumentInfo {
    pub title: String,
    pub language: &'static str,
    pub characters: u64,
    pub words: u64,
    /// The beginning of the text (up to [`EXCERPT_CHARS`]), for the catalogue and search.
    pub excerpt: String,
}

/// How much of a document's text the catalogue keeps (the whole text is in the table).
pub(crate) const EXCERPT_CHARS: usize = 20_000;

/// Title (the first Markdown heading, else the first line), language and length.
pub(crate) fn document(text: &str) -> DocumentInfo {
    let heading = text
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix('#').map(|h| h.trim_start_matches('#').trim()));
    let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let title: String = heading.filter(|h| !h.is_empty()).unwrap_or(first).chars().take(200).collect();
    DocumentInfo {
        title,
        language: language(text),
        characters: text.chars().count() as u64,
        words: text.split_whitespace().count() as u64,
        excerpt: text.chars().take(EXCERPT_CHARS).collect(),
    }
}

/// ISO 639-1 code of the dominant language: by script, then by common words for Latin script;
/// `und` when unsure.
pub(crate) fn language(text: &str) -> &'static str {
    let (mut hangul, mut kana, mut han, mut cyrillic, mut latin) = (0, 0, 0, 0, 0);
    for c in text.chars().take(20_000) {
        match c as u32 {
            0xac00..=0xd7a3 | 0x1100..=0x11ff | 0x3130..=0x318f => hangul += 1,
            0x3040..=0x30ff => kana += 1,
            0x4e00..=0x9fff => han += 1,
            0x0400..=0x04ff => cyrillic += 1,
            _ if c.is_ascii_alphabetic() || ('\u{c0}'..='\u{24f}').contains(&c) => latin += 1,
            _ => {}
        }
    }
    let total = hangul + kana + han + cyrillic + latin;
    if total == 0 {
        return "und";
    }
    if hangul * 4 >= total {
        return "ko";
    }
    if kana * 10 >= total {
        return "ja";
    }
    if han * 2 >= total {
        return "zh";
    }
    if cyrillic * 2 >= total {
        return "ru";
    }
    const WORDS: &[(&str, &[&str])] = &[
        ("en", &["the", "and", "of", "to", "is", "in", "that", "with", "for", "this"]),
        ("de", &["der", "die", "und", "das", "ist", "nicht", "mit", "ein", "den", "zu"]),
        ("fr", &["le", "la", "les", "et", "des", "est", "une", "dans", "pour", "pas"]),
        ("es", &["el", "los", "las", "y", "que", "es", "una", "por", "con", "para"]),
    ];
    let words: Vec<String> =
        text.split(|c: char| !c.is_alphabetic()).take(5000).map(str::to_lowercase).collect();
    let mut best = ("und", 0);
    for (code, common) in WORDS {
        let hits = words.iter().filter(|w| common.contains(&w.as_str())).count();
        if hits > best.1 {
            best = (code, hits);
        }
    }
    if best.1 >= 2 { best.0 } else { "und" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_images_are_errors() {
        assert!(image(b"\x89PNG\r\n\x1a\n\0\0").is_err());
        assert!(image(&[0xff, 0xd8, 0xff]).is_err());
        assert!(image(b"GIF89a\x01").is_err());
        assert!(image(b"hello").is_err());
        let gif = b"GIF89a\x0a\x00\x05\x00\xf7\x00\x00";
        let info = image(gif).unwrap();
        assert_eq!((info.width, info.height, info.colour, info.bit_depth), (10, 5, "indexed", Some(8)));
    }

    #[test]
    fn languages() {
        assert_eq!(language("The quick brown fox jumps over the lazy dog and the cat."), "en");
        assert_eq!(language("지진은 땅이 흔들리는 자연 현상이다."), "ko");
        assert_eq!(language("Der Hund und die Katze sind nicht zu Hause."), "de");
        assert_eq!(language("12345 !!!"), "und");
        let doc = document("\n# Long tail\n\nRare events matter.\n");
        assert_eq!(doc.title, "Long tail");
        assert_eq!(doc.words, 6);
    }
}
