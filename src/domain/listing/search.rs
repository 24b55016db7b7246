//! A search's text, parsed: its words as literal `ILIKE` patterns, the
//! ones the trigram index can answer, and the text an exact name match is
//! compared with.

use crate::error::{AppError, AppResult};

/// The fewest letters or digits in a row that give a word a trigram, the
/// unit pg_trgm indexes: a shorter word, symbols, emoji or combining marks
/// give none, and an index asked for such a word can only read all of
/// itself.
pub const TRIGRAM: usize = 3;

/// A search, parsed: the escaped `ILIKE` pattern of each distinct word,
/// the words the trigram index can answer first (the longest first), then
/// the others; and the words as typed, for the exact name match. Every word
/// the index can answer is a condition of the index's: it intersects their
/// candidates, skipping through a common word's long list along a rare
/// one's short list, so a word that narrows the matches never costs a
/// recheck of the candidates of the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    patterns: Vec<String>,
    /// How many of `patterns`, from the first, go to the index.
    indexed: usize,
    /// The distinct words in the client's order, joined by one space.
    phrase: String,
}

/// Whether `word` gives the trigram index something to look up: a run of
/// [`TRIGRAM`] letters or digits (what pg_trgm extracts from a `LIKE`
/// pattern; other characters split words).
pub fn indexable(word: &str) -> bool {
    word.split(|c: char| !c.is_alphanumeric())
        .any(|run| run.chars().count() >= TRIGRAM)
}

impl Search {
    /// Parses a client's search text: at most `max_chars` characters and
    /// no control characters (PostgreSQL's text cannot even hold NUL), else
    /// `BAD_REQUEST` (a query argument's error, like a page size out of
    /// range). Blank text searches nothing: every product is kept. A search
    /// needs a word the index can answer ([`indexable`]), else it would read
    /// the whole catalog: the others only narrow what that word finds.
    pub fn parse(text: &str, max_chars: usize) -> AppResult<Self> {
        if text.chars().count() > max_chars {
            return Err(AppError::BadRequest(format!(
                "search must be at most {max_chars} characters"
            )));
        }
        // Whitespace controls (tab, newline) separate words; others are refused.
        if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(AppError::BadRequest(
                "search must not hold control characters".into(),
            ));
        }
        let mut words: Vec<&str> = Vec::new();
        for word in text.split_whitespace() {
            if !words.contains(&word) {
                words.push(word);
            }
        }
        let phrase = words.join(" ");
        // Indexable first, the longest first; stable, so equal lengths keep
        // the client's order.
        words.sort_by_key(|w| (!indexable(w), std::cmp::Reverse(w.chars().count())));
        let strong = words.iter().filter(|w| indexable(w)).count();
        if strong == 0 && !words.is_empty() {
            return Err(AppError::BadRequest(format!(
                "search needs a word of at least {TRIGRAM} letters or digits in a row (shorter \
                 words, symbols and emoji can narrow a search, not start one)"
            )));
        }
        Ok(Self {
            patterns: words.into_iter().map(contains_pattern).collect(),
            indexed: strong,
            phrase,
        })
    }

    /// Whether there is nothing to search for.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Every word's pattern, the indexed ones first.
    pub(super) fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// The patterns the trigram index answers.
    pub(super) fn indexed(&self) -> &[String] {
        &self.patterns[..self.indexed]
    }

    /// The patterns checked on the index's candidates.
    pub(super) fn others(&self) -> &[String] {
        &self.patterns[self.indexed..]
    }

    /// The words as typed (distinct, one space apart): a product whose name
    /// is this text, case-insensitively, is the best match of all.
    pub(super) fn phrase(&self) -> &str {
        &self.phrase
    }
}

/// The `ILIKE` pattern "contains `word`": `%`, `_` and the escape character
/// `\` (PostgreSQL's default) are escaped, so they match themselves.
fn contains_pattern(word: &str) -> String {
    let mut pattern = String::with_capacity(word.len() + 2);
    pattern.push('%');
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_literal_patterns_longest_first() {
        let search = Search::parse("  tea 100%_off\\ tea\tmug  ", 200).unwrap();
        assert_eq!(
            search.patterns,
            ["%100\\%\\_off\\\\%", "%tea%", "%mug%"],
            "escaped, deduplicated, the longest first"
        );
        assert_eq!(search.indexed(), ["%100\\%\\_off\\\\%", "%tea%", "%mug%"]);
        assert!(search.others().is_empty());
        assert_eq!(search.phrase(), "tea 100%_off\\ mug", "as typed, once each");
        let one = Search::parse("' OR 1=1 -- DROP", 200).unwrap();
        assert_eq!(one.patterns, ["%DROP%", "%1=1%", "%OR%", "%--%", "%'%"]);
        assert_eq!(one.indexed(), ["%DROP%"]);
        assert_eq!(one.others().len(), 4);
        assert!(Search::parse(" \n ", 200).unwrap().is_empty());
        let four = Search::parse("golden teapot from uji a", 200).unwrap();
        assert_eq!(four.indexed(), ["%golden%", "%teapot%", "%from%", "%uji%"]);
        assert_eq!(four.others(), ["%a%"]);
    }

    #[test]
    fn a_search_needs_a_word_the_index_can_answer() {
        for weak in [
            "a b c",
            "tv",
            "%%%",
            "😀😀😀",
            "e\u{301}\u{301}\u{301}",
            "a-b-c",
            "' OR 1=1 --",
        ] {
            assert!(!indexable(weak) || weak.contains(' '), "{weak:?}");
            assert!(
                matches!(Search::parse(weak, 200), Err(AppError::BadRequest(_))),
                "{weak:?}"
            );
        }
        for strong in ["tea", "100%", "snake_case", "茶碗蒸", "x-abc", "café"] {
            assert!(indexable(strong), "{strong:?}");
        }
        // Weak words narrow a strong one's matches, never reach the index.
        let mixed = Search::parse("a tv teapot %", 200).unwrap();
        assert_eq!(mixed.indexed(), ["%teapot%"]);
        assert_eq!(mixed.others().len(), 3);
    }

    #[test]
    fn long_or_control_text_is_a_bad_request() {
        assert!(
            Search::parse(&"é".repeat(200), 200).is_ok(),
            "characters, not bytes"
        );
        for bad in ["x".repeat(201), "tea\0".into(), "a\u{7}b".into()] {
            assert!(
                matches!(Search::parse(&bad, 200), Err(AppError::BadRequest(_))),
                "{bad:?}"
            );
        }
    }
}
