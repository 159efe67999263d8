//! Text analysis for English and Korean (and other CJK scripts): words of alphabetic scripts
//! whole, lower-cased and stemmed; runs of Hangul, Kana and Han characters as overlapping
//! character bigrams, since no maintained Korean morphological analyser fits the build.

use tantivy::tokenizer::{Language, LowerCaser, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer};

/// The analyzer's name in the index.
pub const ANALYZER: &str = "sail";

/// The analyzer: words and CJK bigrams, lower case, English stems.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordsAndBigrams).filter(LowerCaser).filter(Stemmer::new(Language::English)).build()
}

pub(crate) fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x11FF | 0x3040..=0x30FF | 0x3130..=0x318F | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA960..=0xA97F | 0xAC00..=0xD7AF | 0xD7B0..=0xD7FF | 0xF900..=0xFAFF)
}

/// Splits text into words, and CJK runs into bigrams.
#[derive(Clone, Debug, Default)]
pub struct WordsAndBigrams;

/// The tokens of one text.
pub struct Tokens {
    tokens: Vec<Token>,
    next: usize,
}

impl Tokenizer for WordsAndBigrams {
    type TokenStream<'a> = Tokens;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Tokens {
        Tokens { tokens: tokenize(text), next: 0 }
    }
}

impl TokenStream for Tokens {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut push = |from: usize, to: usize| {
        let position = tokens.len();
        tokens.push(Token {
            offset_from: from,
            offset_to: to,
            position,
            text: text[from..to].to_owned(),
            position_length: 1,
        });
    };
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i + 1).map_or(text.len(), |(o, _)| *o);
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if is_cjk(c) {
            let mut j = i;
            while j + 1 < chars.len() && is_cjk(chars[j + 1].1) {
                j += 1;
            }
            if i == j {
                push(start, end_of(i));
            } else {
                for (k, (from, _)) in chars.iter().enumerate().take(j).skip(i) {
                    push(*from, end_of(k + 1));
                }
            }
            i = j + 1;
        } else if c.is_alphanumeric() {
            let mut j = i;
            while j + 1 < chars.len() && chars[j + 1].1.is_alphanumeric() && !is_cjk(chars[j + 1].1) {
                j += 1;
            }
            push(start, end_of(j));
            i = j + 1;
        } else {
            i += 1;
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }

    #[test]
    fn english_words_and_korean_bigrams() {
        assert_eq!(terms("Running Airports, O'Hare"), ["run", "airport", "o", "hare"]);
        assert_eq!(terms("서울 국제공항"), ["서울", "국제", "제공", "공항"]);
        assert_eq!(terms("지진 magnitude 7"), ["지진", "magnitud", "7"]);
        assert_eq!(terms("강"), ["강"]);
    }
}
