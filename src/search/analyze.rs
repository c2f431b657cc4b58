//! Text analysis for Chinese-first search: one folding step and three tokenizers.
//!
//! **Folding** (index and query alike, one output character per input character, so offsets map
//! back to the original text): full-width ASCII → half-width, ideographic space → space,
//! lowercase, Traditional → Simplified (`fast2s`, character level).
//!
//! **Units**: the folded text splits into runs of Han characters and runs of other letters and
//! digits ("words"); everything else (punctuation, spaces, symbols) separates them.
//!
//! **Tokenizers** (registered under the names below, shared by indexing and query building):
//! - `rm_gram`: one position per Han character and per word. At a Han character the token is the
//!   bigram of it and the next character of its run, or the character alone at the end of a run;
//!   a word is one token. Positions make any Han substring a phrase of overlapping bigrams, so a
//!   query finds *every* text that contains it (recall).
//! - `rm_uni`: every Han character once, for one-character queries (no positions).
//! - `rm_word`: jieba-rs words for ranking (one shared dictionary behind an `Arc`), words from
//!   non-Han runs kept whole.
//!
//! Words of Latin letters are lowercased and English-stemmed (Snowball, via `frostem`, the
//! stemmer tantivy uses), so `Economies` finds `economy`; Han and digits are never stemmed.

use std::sync::Arc;

use jieba_rs::Jieba;
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer, TokenizerManager};

pub const GRAM: &str = "rm_gram";
pub const UNI: &str = "rm_uni";
pub const WORD: &str = "rm_word";
/// `rm_word` without one-character Han words (的, 了, 在 …): for long text, where they add
/// tokens but no ranking signal (one-character queries are answered by `rm_uni`).
pub const WORD2: &str = "rm_word2";

/// Newsroom words jieba's dictionary lacks (融媒体, office titles …): `word [freq]` per line.
const NEWSROOM_DICT: &str = include_str!("newsroom_dict.txt");

/// Is `c` a Han ideograph (CJK unified, extensions, compatibility, 〇)?
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3007 | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

fn fold_char(c: char) -> char {
    let c = match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    };
    if c.is_uppercase() {
        let mut l = c.to_lowercase();
        match (l.next(), l.next()) {
            (Some(one), None) => one,
            _ => c,
        }
    } else {
        c
    }
}

/// Text after folding, with the byte offset in the original of every character.
#[derive(Debug, Clone, PartialEq)]
pub struct Folded {
    pub text: String,
    pub chars: Vec<char>,
    /// `offsets[i]` = byte offset of character `i` in the original; one extra entry = its length.
    pub offsets: Vec<usize>,
}

pub fn fold(original: &str) -> Folded {
    let mut half = String::with_capacity(original.len());
    let mut offsets = Vec::with_capacity(original.len() / 2 + 1);
    for (i, c) in original.char_indices() {
        offsets.push(i);
        half.push(fold_char(c));
    }
    offsets.push(original.len());
    // fast2s maps character for character (same count, looking only at neighbours).
    let text = fast2s::convert(&half);
    let chars: Vec<char> = text.chars().collect();
    debug_assert_eq!(chars.len() + 1, offsets.len());
    Folded {
        text,
        chars,
        offsets,
    }
}

/// A run of the folded text: `[start, end)` in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Han { start: usize, end: usize },
    Word { start: usize, end: usize },
}

pub fn units(chars: &[char]) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_han(c) {
            let s = i;
            while i < chars.len() && is_han(chars[i]) {
                i += 1;
            }
            out.push(Unit::Han { start: s, end: i });
        } else if c.is_alphanumeric() {
            let s = i;
            while i < chars.len() && chars[i].is_alphanumeric() && !is_han(chars[i]) {
                i += 1;
            }
            out.push(Unit::Word { start: s, end: i });
        } else {
            i += 1;
        }
    }
    out
}

/// Appends tokens to a buffer, reusing the strings of earlier tokens (no allocation per token
/// once the buffer has grown).
pub struct TokenSink<'a> {
    buf: &'a mut Vec<Token>,
    len: usize,
}

impl<'a> TokenSink<'a> {
    pub fn new(buf: &'a mut Vec<Token>) -> Self {
        Self { buf, len: 0 }
    }

    fn push(&mut self, f: &Folded, start: usize, end: usize, position: usize) {
        if self.len == self.buf.len() {
            self.buf.push(Token::default());
        }
        let t = &mut self.buf[self.len];
        t.offset_from = f.offsets[start];
        t.offset_to = f.offsets[end];
        t.position = position;
        t.position_length = 1;
        t.text.clear();
        t.text.extend(&f.chars[start..end]);
        self.len += 1;
    }

    /// English-stem the last token when it is a Latin word (Han and digits are left alone).
    fn stem_last(&mut self) {
        let Some(t) = self.len.checked_sub(1).map(|i| &mut self.buf[i]) else {
            return;
        };
        if t.text.bytes().all(|b| b.is_ascii_alphabetic()) {
            let stemmed = frostem::Stemmer::new(frostem::Algorithm::English).stem(&t.text);
            if let std::borrow::Cow::Owned(s) = stemmed {
                t.text = s;
            }
        }
    }

    /// Number of tokens written.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

thread_local! {
    /// The last text folded on this thread: tantivy runs the three tokenizers of a field's text
    /// one after the other on one thread, so each text is folded once, not three times.
    static LAST_FOLD: std::cell::RefCell<(String, std::rc::Rc<Folded>)> =
        std::cell::RefCell::new((String::new(), std::rc::Rc::new(fold(""))));
}

fn fold_cached(text: &str) -> std::rc::Rc<Folded> {
    LAST_FOLD.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != text {
            c.1 = std::rc::Rc::new(fold(text));
            c.0.clear();
            c.0.push_str(text);
        }
        c.1.clone()
    })
}

/// `rm_gram` tokens (see the module doc).
pub fn gram_tokens(text: &str, out: &mut TokenSink) {
    let f = fold_cached(text);
    let mut pos = 0;
    for u in units(&f.chars) {
        match u {
            Unit::Han { start, end } => {
                for i in start..end {
                    let to = if i + 1 < end { i + 2 } else { i + 1 };
                    out.push(&f, i, to, pos);
                    pos += 1;
                }
            }
            Unit::Word { start, end } => {
                out.push(&f, start, end, pos);
                out.stem_last();
                pos += 1;
            }
        }
    }
}

/// `rm_uni` tokens: each Han character.
pub fn uni_tokens(text: &str, out: &mut TokenSink) {
    let f = fold_cached(text);
    let mut pos = 0;
    for (i, c) in f.chars.iter().enumerate() {
        if is_han(*c) {
            out.push(&f, i, i + 1, pos);
            pos += 1;
        }
    }
}

/// `rm_word` tokens: jieba words over Han runs (those of at least `min_han` characters), whole
/// words elsewhere.
pub fn word_tokens(jieba: &Jieba, text: &str, min_han: usize, out: &mut TokenSink) {
    let f = fold_cached(text);
    let mut pos = 0;
    // Byte offset in the folded text of the next unit, advanced as units go by.
    let (mut at_char, mut at_byte) = (0usize, 0usize);
    for u in units(&f.chars) {
        match u {
            Unit::Han { start, end } => {
                at_byte += f.chars[at_char..start]
                    .iter()
                    .map(|c| c.len_utf8())
                    .sum::<usize>();
                let from = at_byte;
                let to = from
                    + f.chars[start..end]
                        .iter()
                        .map(|c| c.len_utf8())
                        .sum::<usize>();
                (at_char, at_byte) = (end, to);
                for w in jieba.cut(&f.text[from..to], false) {
                    if w.end - w.start >= min_han {
                        out.push(&f, start + w.start, start + w.end, pos);
                    }
                    pos += 1;
                }
            }
            Unit::Word { start, end } => {
                out.push(&f, start, end, pos);
                out.stem_last();
                pos += 1;
            }
        }
    }
}

/// A token stream over a prepared vector.
pub struct VecStream<'a> {
    tokens: &'a mut [Token],
    next: usize,
}

impl TokenStream for VecStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next.saturating_sub(1)]
    }

    fn token_mut(&mut self) -> &mut Token {
        let i = self.next.saturating_sub(1);
        &mut self.tokens[i]
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Gram,
    Uni,
}

#[derive(Clone)]
struct NgramTokenizer {
    kind: Kind,
    buf: Vec<Token>,
}

impl Tokenizer for NgramTokenizer {
    type TokenStream<'a> = VecStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecStream<'a> {
        let mut sink = TokenSink::new(&mut self.buf);
        match self.kind {
            Kind::Gram => gram_tokens(text, &mut sink),
            Kind::Uni => uni_tokens(text, &mut sink),
        }
        let n = sink.len();
        VecStream {
            tokens: &mut self.buf[..n],
            next: 0,
        }
    }
}

#[derive(Clone)]
struct JiebaTokenizer {
    jieba: Arc<Jieba>,
    min_han: usize,
    buf: Vec<Token>,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = VecStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecStream<'a> {
        let mut sink = TokenSink::new(&mut self.buf);
        word_tokens(&self.jieba, text, self.min_han, &mut sink);
        let n = sink.len();
        VecStream {
            tokens: &mut self.buf[..n],
            next: 0,
        }
    }
}

/// The shared analysis resources: built once at start-up (jieba's dictionary takes ~100 ms and
/// ~30 MiB), then cloned cheaply into every index and query.
#[derive(Clone)]
pub struct Analyzers {
    jieba: Arc<Jieba>,
}

impl Analyzers {
    /// jieba's embedded dictionary plus the newsroom dictionary and an optional user file.
    pub fn load(user_dict: Option<&std::path::Path>) -> crate::error::Result<Self> {
        let mut jieba = Jieba::new();
        add_words(&mut jieba, NEWSROOM_DICT);
        if let Some(p) = user_dict {
            let text = std::fs::read_to_string(p).map_err(|e| {
                crate::error::Error::Config(format!("search.user_dictionary {}: {e}", p.display()))
            })?;
            add_words(&mut jieba, &text);
        }
        Ok(Self {
            jieba: Arc::new(jieba),
        })
    }

    /// The segmenter and its dictionary (proofreading scores text with it).
    pub fn jieba(&self) -> Arc<Jieba> {
        self.jieba.clone()
    }

    fn analyzer(&self, name: &str) -> TextAnalyzer {
        match name {
            GRAM => TextAnalyzer::from(NgramTokenizer {
                kind: Kind::Gram,
                buf: Vec::new(),
            }),
            UNI => TextAnalyzer::from(NgramTokenizer {
                kind: Kind::Uni,
                buf: Vec::new(),
            }),
            _ => TextAnalyzer::from(JiebaTokenizer {
                jieba: self.jieba.clone(),
                min_han: if name == WORD2 { 2 } else { 1 },
                buf: Vec::new(),
            }),
        }
    }

    pub fn register(&self, m: &TokenizerManager) {
        for name in [GRAM, UNI, WORD, WORD2] {
            m.register(name, self.analyzer(name));
        }
    }

    /// Tokens of `text` as the named analyzer produces them.
    pub fn tokens(&self, name: &str, text: &str) -> Vec<Token> {
        let mut a = self.analyzer(name);
        let mut s = a.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = s.next() {
            out.push(t.clone());
        }
        out
    }
}

/// The one Han character `s` consists of, if it is one.
pub fn single_han(s: &str) -> Option<char> {
    let mut cs = s.chars();
    match (cs.next(), cs.next()) {
        (Some(c), None) if is_han(c) => Some(c),
        _ => None,
    }
}

/// A query clause as the `rm_gram` phrase to find, shared by matching and highlighting.
pub struct ClausePhrase {
    pub tokens: Vec<Token>,
    /// The last token is one Han character that may begin a longer token in the text (a
    /// bigram), so it matches as a prefix.
    pub prefix_last: bool,
}

impl Analyzers {
    /// The phrase a clause must match. The unigram that ends a Han run of two or more
    /// characters is dropped (the run may continue in the text, where that position holds a
    /// bigram; the bigram before it already covers the character). A lone Han character at the
    /// end matches as a prefix.
    pub fn clause_phrase(&self, text: &str) -> ClausePhrase {
        let mut tokens = self.tokens(GRAM, text);
        let mut prefix_last = false;
        if let Some(last_c) = tokens.last().and_then(|t| single_han(&t.text)) {
            let n = tokens.len();
            let ends_a_run = n >= 2 && {
                let (prev, last) = (&tokens[n - 2], &tokens[n - 1]);
                prev.position + 1 == last.position
                    && prev.text.chars().count() == 2
                    && prev.text.chars().all(is_han)
                    && prev.text.ends_with(last_c)
            };
            if ends_a_run {
                tokens.pop();
            } else {
                prefix_last = true;
            }
        }
        ClausePhrase {
            tokens,
            prefix_last,
        }
    }
}

/// `word [freq [tag]]` lines; `#` starts a comment.
fn add_words(jieba: &mut Jieba, text: &str) {
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut parts = line.split_whitespace();
        let Some(word) = parts.next() else { continue };
        let freq = parts.next().and_then(|f| f.parse().ok());
        jieba.add_word(word, freq, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(tokens: &[Token]) -> Vec<String> {
        tokens.iter().map(|t| t.text.clone()).collect()
    }

    #[test]
    fn folding_keeps_one_char_per_char() {
        let f = fold("１２月經濟ＡＢＣ　Test");
        assert_eq!(f.text, "12月经济abc test");
        assert_eq!(f.chars.len() + 1, f.offsets.len());
        // Offsets point into the original: 經 starts after three 3-byte characters.
        assert_eq!(f.offsets[3], 9);
    }

    fn run(f: fn(&str, &mut TokenSink), text: &str) -> Vec<Token> {
        let mut buf = Vec::new();
        let mut sink = TokenSink::new(&mut buf);
        f(text, &mut sink);
        let n = sink.len();
        buf.truncate(n);
        buf
    }

    #[test]
    fn grams_cover_every_han_position() {
        let out = run(gram_tokens, "改革开放，G20峰会");
        assert_eq!(
            texts(&out),
            ["改革", "革开", "开放", "放", "g20", "峰会", "会"]
        );
        let pos: Vec<usize> = out.iter().map(|t| t.position).collect();
        assert_eq!(pos, [0, 1, 2, 3, 4, 5, 6]);
        // Offsets are in the original text.
        let s = "改革开放，G20峰会";
        assert_eq!(&s[out[4].offset_from..out[4].offset_to], "G20");
        assert_eq!(&s[out[5].offset_from..out[5].offset_to], "峰会");
    }

    #[test]
    fn traditional_and_full_width_fold_to_the_same_tokens() {
        let a = Analyzers::load(None).unwrap();
        assert_eq!(
            texts(&a.tokens(GRAM, "經濟")),
            texts(&a.tokens(GRAM, "经济"))
        );
        assert_eq!(
            texts(&a.tokens(GRAM, "１９９８")),
            texts(&a.tokens(GRAM, "1998"))
        );
    }

    #[test]
    fn words_are_segmented_and_english_is_stemmed() {
        let a = Analyzers::load(None).unwrap();
        let w = texts(&a.tokens(WORD, "县级融媒体中心推动经济发展 Economies"));
        // The newsroom dictionary keeps the institution's name whole.
        assert!(w.contains(&"县级融媒体中心".to_string()), "{w:?}");
        assert!(w.contains(&"经济".to_string()), "{w:?}");
        assert!(w.contains(&"economi".to_string()), "{w:?}");
        let long = texts(&a.tokens(WORD2, "我在北京工作"));
        assert_eq!(long, ["北京", "工作"]);
        let g = texts(&a.tokens(GRAM, "Running"));
        assert_eq!(g, ["run"]);
    }

    #[test]
    fn uni_tokens_are_han_only() {
        let out = run(uni_tokens, "a经济，b");
        assert_eq!(texts(&out), ["经", "济"]);
    }
}
