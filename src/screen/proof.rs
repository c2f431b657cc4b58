//! Proofreading (校对): suggestions for text as it is written. A word list of wrong → right
//! forms (易错词 and house rules, edited as lexicons) plus built-in rules for what lists cannot
//! express: doubled particles and repeated words, half-width punctuation in Chinese text,
//! unpaired quotes and brackets, 的/地/得 in common patterns, and number and date forms
//! (GB/T 15834 punctuation, GB/T 15835 numerals). Every finding has exact character offsets;
//! most carry a replacement the editor can apply with one click.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::Serialize;

use std::sync::Arc;

use super::normalize::is_cjk as is_han;
use super::spell::Speller;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A wrong form from a proofreading list (易错词, house style).
    Wordlist,
    /// A particle written twice, or a word repeated.
    Doubled,
    /// Half-width punctuation inside Chinese text.
    PunctWidth,
    /// A quote or bracket without its partner.
    Unpaired,
    /// 的/地/得 used in the wrong place.
    De,
    /// Full-width digits, 。 as a decimal point, 百分之 with digits.
    Number,
    /// Dates: 日 rather than 号.
    Date,
    /// A character that makes no word where it stands, where one that sounds (or looks) alike
    /// would (错别字, statistical: `spell`).
    Spelling,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Wordlist => "wordlist",
            Rule::Doubled => "doubled",
            Rule::PunctWidth => "punct_width",
            Rule::Unpaired => "unpaired",
            Rule::De => "de",
            Rule::Number => "number",
            Rule::Date => "date",
            Rule::Spelling => "spelling",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub rule: Rule,
    /// Character offsets in the checked text.
    pub start: u32,
    pub end: u32,
    pub text: String,
    /// What to write instead (`None`: the finding needs a person's judgement).
    pub replacement: Option<String>,
    /// The list's category for `wordlist` findings (`typo`, `house_style` ...), else empty.
    pub category: String,
}

pub struct Proofreader {
    ac: Option<AhoCorasick>,
    pairs: Vec<(String, String, String)>,
    speller: Option<Arc<Speller>>,
}

/// Particles that are never right twice in a row.
const DOUBLED: &[char] = &[
    '的', '了', '是', '在', '和', '与', '地', '得', '把', '被', '将', '从',
];

/// Adverbial words that take 地 before a verb (认真地学习).
const ADVERBIAL: &[&str] = &[
    "认真", "努力", "积极", "深入", "全面", "扎实", "稳步", "不断", "逐步", "切实", "大力", "有效",
    "广泛", "主动", "热情", "耐心", "仔细", "迅速", "顺利", "坚决", "充分", "持续", "有序", "稳妥",
    "严格", "科学", "依法", "精准", "高效", "彻底", "及时", "自觉", "深刻", "牢牢", "紧紧", "默默",
    "慢慢", "悄悄", "静静", "轻轻", "不停", "反复", "真正", "热烈", "亲切", "高兴", "愉快", "激动",
];

/// Verbs that follow an adverbial 地.
/// (Words that are as often nouns — 欢迎, 讨论, 支持, 工作 — are left out: 表示热烈的欢迎.)
const VERBS: &[&str] = &[
    "推进", "落实", "贯彻", "做好", "完成", "解决", "推动", "加强", "执行", "介绍", "说", "讲",
    "走", "看着", "听着", "想着", "笑着", "告诉", "参加", "鼓掌", "传达", "指出", "强调", "提升",
    "改善", "提高", "促进", "抓好", "抓住", "把握", "走向", "融入", "投入", "运用",
];

/// Verbs after which `X的Y` is a noun phrase (致以亲切的问候, 受到热情的接待).
const NOUN_CONTEXT: &[&str] = &[
    "表示", "致以", "进行", "受到", "得到", "给予", "作出", "做出", "给", "有", "是", "的",
];

/// Words ending in a particle character: `目的的`, `实在在` are not doubled particles.
const WORD_FINAL: &[&str] = &[
    "目的", "有的", "实在", "存在", "现在", "正在", "所在", "自在", "内在", "外在", "潜在", "实地",
    "土地", "各地", "当地", "本地", "外地", "基地", "场地", "园地", "天地", "陆地", "境地", "大地",
    "草地", "山地", "耕地", "产地", "阵地", "高地", "湿地", "绿地", "两地", "异地", "就地", "遍地",
    "原地", "落地", "特地", "获得", "取得", "懂得", "觉得", "记得", "值得", "难得", "显得", "赢得",
    "使得", "晓得", "免得", "心得", "舍得", "为了", "除了", "罢了", "但是", "就是", "还是", "可是",
    "于是", "总是", "只是", "正是", "都是", "而是", "也是", "要是", "凡是", "真是", "倒是", "老是",
    "总和", "温和", "平和", "缓和", "祥和", "一把", "几把", "即将", "必将", "终将", "自从", "听从",
    "服从", "遵从", "无从", "何从", "随从",
];

/// Verbs and adjectives that take a 得 complement (跑得很快).
const COMPLEMENTED: &[char] = &[
    '跑', '做', '写', '说', '干', '办', '讲', '唱', '走', '跳', '长', '变', '搞', '学', '过', '睡',
    '吃', '玩', '笑', '哭', '打', '忙', '累', '活', '开', '飞', '站', '坐', '演', '画', '读', '记',
];

/// Degree words of a 得 complement.
const DEGREE: &[&str] = &["非常", "十分", "特别", "格外", "极其", "很", "更", "越来越"];

fn full_width(c: char) -> Option<char> {
    Some(match c {
        ',' => '，',
        ';' => '；',
        ':' => '：',
        '?' => '？',
        '!' => '！',
        '(' => '（',
        ')' => '）',
        _ => return None,
    })
}

const PAIRS: &[(char, char)] = &[
    ('“', '”'),
    ('‘', '’'),
    ('（', '）'),
    ('(', ')'),
    ('《', '》'),
    ('【', '】'),
    ('「', '」'),
    ('『', '』'),
    ('〔', '〕'),
];

impl Proofreader {
    /// `pairs`: (wrong, right, category).
    pub fn new(pairs: Vec<(String, String, String)>) -> Result<Self> {
        let ac = if pairs.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(pairs.iter().map(|p| p.0.as_str()))
                    .map_err(|e| Error::Internal(format!("building the proofreading list: {e}")))?,
            )
        };
        Ok(Self {
            ac,
            pairs,
            speller: None,
        })
    }

    /// Also look for wrong characters statistically (in prose).
    pub fn with_speller(mut self, speller: Option<Arc<Speller>>) -> Self {
        self.speller = speller;
        self
    }

    /// Suggestions for `text`, in order of position. `prose`: run the rules for running text
    /// too (not only the word list).
    pub fn check(&self, text: &str, prose: bool) -> Vec<Suggestion> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        if let Some(ac) = &self.ac {
            // Byte → char offsets, incrementally (matches come in order).
            let (mut chars_before, mut counted) = (0usize, 0usize);
            for m in ac.find_iter(text) {
                chars_before += text[counted..m.start()].chars().count();
                counted = m.start();
                let len = text[m.start()..m.end()].chars().count();
                let (wrong, right, category) = &self.pairs[m.pattern().as_usize()];
                out.push(Suggestion {
                    rule: Rule::Wordlist,
                    start: chars_before as u32,
                    end: (chars_before + len) as u32,
                    text: wrong.clone(),
                    replacement: Some(right.clone()),
                    category: category.clone(),
                });
            }
        }
        if prose {
            doubled(&chars, &mut out);
            punctuation(&chars, &mut out);
            unpaired(&chars, &mut out);
            de(&chars, &mut out);
            numbers(&chars, &mut out);
        }
        out.sort_by_key(|s| (s.start, s.end));
        // One suggestion per span: the word list wins over the rules, and both over the
        // statistical guess.
        out.dedup_by(|b, a| b.start < a.end && a.rule == Rule::Wordlist);
        if prose && let Some(sp) = &self.speller {
            let before = out.len();
            for m in sp.check(&chars) {
                let at = m.at as u32;
                if out[..before].iter().all(|s| at < s.start || at >= s.end) {
                    out.push(Suggestion {
                        rule: Rule::Spelling,
                        start: at,
                        end: at + 1,
                        text: m.wrong.to_string(),
                        replacement: Some(m.right.to_string()),
                        category: String::new(),
                    });
                }
            }
            out.sort_by_key(|s| (s.start, s.end));
        }
        out
    }
}

fn push(
    out: &mut Vec<Suggestion>,
    rule: Rule,
    chars: &[char],
    start: usize,
    end: usize,
    replacement: Option<String>,
) {
    out.push(Suggestion {
        rule,
        start: start as u32,
        end: end as u32,
        text: chars[start..end].iter().collect(),
        replacement,
        category: String::new(),
    });
}

fn starts_with(chars: &[char], at: usize, word: &str) -> bool {
    (at..)
        .zip(word.chars())
        .all(|(i, c)| chars.get(i) == Some(&c))
}

fn ends_with(chars: &[char], end: usize, word: &str) -> bool {
    let n = word.chars().count();
    end >= n && starts_with(chars, end - n, word)
}

fn doubled(chars: &[char], out: &mut Vec<Suggestion>) {
    let n = chars.len();
    let mut i = 0;
    while i + 1 < n {
        let c = chars[i];
        if DOUBLED.contains(&c) && chars[i + 1] == c {
            // 不了了之, 的的确确: idioms; 实实在在, 一把把: reduplication; 目的的: a word's end.
            let idiom =
                (c == '了' && i > 0 && chars[i - 1] == '不' && chars.get(i + 2) == Some(&'之'))
                    || (c == '了' && chars.get(i + 2) == Some(&'不'))
                    || (c == '的' && chars.get(i + 2) == Some(&'确'));
            let aabb = (i >= 2 && chars[i - 1] == chars[i - 2])
                || chars
                    .get(i + 2)
                    .is_some_and(|x| chars.get(i + 3) == Some(x))
                || (i >= 1 && chars[i - 1] == '一');
            let word_end = WORD_FINAL.iter().any(|w| ends_with(chars, i + 1, w));
            if !idiom && !aabb && !word_end {
                push(out, Rule::Doubled, chars, i, i + 2, Some(c.to_string()));
                i += 2;
                continue;
            }
        }
        // A word of 3 or 4 Chinese characters written twice (人民日报人民日报). Two-character
        // repeats are usually deliberate (研究研究, 高兴高兴).
        let mut found = false;
        for len in [4usize, 3] {
            if i + 2 * len <= n
                && chars[i..i + len].iter().all(|&c| is_han(c))
                && chars[i..i + len] == chars[i + len..i + 2 * len]
            {
                let word: String = chars[i..i + len].iter().collect();
                push(out, Rule::Doubled, chars, i, i + 2 * len, Some(word));
                i += 2 * len;
                found = true;
                break;
            }
        }
        if !found {
            i += 1;
        }
    }
    // Latin words repeated across a space: "the the".
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut s = None;
    for (j, &c) in chars.iter().chain(std::iter::once(&' ')).enumerate() {
        match (c.is_ascii_alphabetic(), s) {
            (true, None) => s = Some(j),
            (false, Some(b)) => {
                words.push((b, j));
                s = None;
            }
            _ => {}
        }
    }
    for w in words.windows(2) {
        let ((a0, a1), (b0, b1)) = (w[0], w[1]);
        let gap_is_space = chars[a1..b0].iter().all(|c| *c == ' ') && b0 > a1;
        let same = chars[a0..a1]
            .iter()
            .map(char::to_ascii_lowercase)
            .eq(chars[b0..b1].iter().map(char::to_ascii_lowercase));
        if gap_is_space && same && a1 - a0 > 1 {
            let word: String = chars[a0..a1].iter().collect();
            push(out, Rule::Doubled, chars, a0, b1, Some(word));
        }
    }
}

fn punctuation(chars: &[char], out: &mut Vec<Suggestion>) {
    for (i, &c) in chars.iter().enumerate() {
        let Some(fw) = full_width(c) else {
            continue;
        };
        let prev = chars[..i].iter().rev().find(|c| **c != ' ').copied();
        let next = chars[i + 1..].iter().find(|c| **c != ' ').copied();
        // 3:00, 1,000 and (1) stay as they are.
        let digits =
            prev.is_some_and(|p| p.is_ascii_digit()) && next.is_some_and(|n| n.is_ascii_digit());
        let han_side = match c {
            '(' => next.is_some_and(is_han) || prev.is_some_and(is_han),
            ')' => prev.is_some_and(is_han) || next.is_some_and(is_han),
            _ => prev.is_some_and(is_han),
        };
        if han_side && !digits {
            // Take the spaces a half-width mark brought with it.
            let mut end = i + 1;
            while c != '(' && chars.get(end) == Some(&' ') {
                end += 1;
            }
            push(out, Rule::PunctWidth, chars, i, end, Some(fw.to_string()));
        }
    }
}

fn unpaired(chars: &[char], out: &mut Vec<Suggestion>) {
    // Paragraph by paragraph; a quotation running over paragraphs opens each one with “ and
    // closes only at its end, so an unclosed “ is fine when the next paragraph opens with “.
    let mut start = 0;
    let lines: Vec<(usize, usize)> = chars
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == '\n')
        .map(|(i, _)| i)
        .chain(std::iter::once(chars.len()))
        .map(|end| {
            let r = (start, end);
            start = end + 1;
            r
        })
        .collect();
    for (li, &(a, b)) in lines.iter().enumerate() {
        let mut stack: Vec<(char, usize)> = Vec::new();
        for i in a..b {
            let c = chars[i];
            if PAIRS.iter().any(|(o, _)| *o == c) {
                stack.push((c, i));
            } else if c == '’'
                && (chars
                    .get(i + 1)
                    .is_some_and(|n| n.is_ascii_digit() || ('０'..='９').contains(n))
                    || (i > a && chars[i - 1].is_ascii_alphabetic()))
            {
                // An apostrophe: ’98, don’t.
                continue;
            } else if let Some((open, _)) = PAIRS.iter().find(|(_, cl)| *cl == c) {
                match stack.iter().rposition(|(o, _)| o == open) {
                    Some(p) => {
                        stack.truncate(p);
                    }
                    None => push(out, Rule::Unpaired, chars, i, i + 1, None),
                }
            }
        }
        let next_opens_quote = lines
            .get(li + 1)
            .is_some_and(|&(na, nb)| na < nb && chars[na] == '“');
        for (c, i) in stack {
            if c == '“' && next_opens_quote {
                continue;
            }
            push(out, Rule::Unpaired, chars, i, i + 1, None);
        }
    }
}

/// Is `adverb的verb` (adverb starting at `adv`, verb at `verb`) really a noun phrase: after
/// 表示/受到 ..., after a list (深入、广泛的讨论), or with the verb heading a compound noun
/// (积极的推动作用, 持续的推动力)?
fn noun_phrase(chars: &[char], adv: usize, verb: usize) -> bool {
    NOUN_CONTEXT.iter().any(|n| ends_with(chars, adv, n))
        || (adv > 0 && "、和与".contains(chars[adv - 1]))
        || VERBS.iter().any(|v| {
            starts_with(chars, verb, v)
                && ["作用", "力", "者", "性", "工作", "机制"]
                    .iter()
                    .any(|t| starts_with(chars, verb + v.chars().count(), t))
        })
}

fn de(chars: &[char], out: &mut Vec<Suggestion>) {
    for (i, &c) in chars.iter().enumerate() {
        if c != '的' {
            continue;
        }
        // 认真的学习 → 认真地学习
        if let Some(adv) = ADVERBIAL.iter().find(|a| ends_with(chars, i, a))
            && VERBS.iter().any(|v| starts_with(chars, i + 1, v))
            && !noun_phrase(chars, i - adv.chars().count(), i + 1)
        {
            push(out, Rule::De, chars, i, i + 1, Some("地".into()));
            continue;
        }
        // 跑的很快 → 跑得很快 (but 做的很多工作 is right: 很多 is a quantity)
        if i > 0
            && COMPLEMENTED.contains(&chars[i - 1])
            && let Some(d) = DEGREE.iter().find(|d| starts_with(chars, i + 1, d))
        {
            let after = chars.get(i + 1 + d.chars().count());
            if !matches!(after, Some('多' | '少')) {
                push(out, Rule::De, chars, i, i + 1, Some("得".into()));
            }
        }
    }
}

fn numbers(chars: &[char], out: &mut Vec<Suggestion>) {
    let n = chars.len();
    // Full-width digits are flagged where a text mixes them with half-width ones (GB/T 15835
    // prefers half-width; a text written consistently either way is left alone).
    let mixed =
        chars.iter().any(char::is_ascii_digit) && chars.iter().any(|c| ('０'..='９').contains(c));
    let mut i = 0;
    while i < n {
        let c = chars[i];
        if mixed && ('０'..='９').contains(&c) {
            let mut j = i;
            while j < n && ('０'..='９').contains(&chars[j]) {
                j += 1;
            }
            let half: String = chars[i..j]
                .iter()
                .map(|d| char::from(b'0' + (*d as u32 - '０' as u32) as u8))
                .collect();
            push(out, Rule::Number, chars, i, j, Some(half));
            i = j;
            continue;
        }
        // 3。5 → 3.5
        if c == '。'
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.get(i + 1).is_some_and(char::is_ascii_digit)
        {
            push(out, Rule::Number, chars, i, i + 1, Some(".".into()));
        }
        // 百分之30 → 30%
        if starts_with(chars, i, "百分之") && chars.get(i + 3).is_some_and(char::is_ascii_digit)
        {
            let mut j = i + 3;
            while j < n && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            let num: String = chars[i + 3..j].iter().collect();
            push(out, Rule::Number, chars, i, j, Some(format!("{num}%")));
            i = j;
            continue;
        }
        // 11月22号 → 11月22日
        if c == '号' && i >= 3 {
            let mut j = i;
            while j > 0 && chars[j - 1].is_ascii_digit() {
                j -= 1;
            }
            if j < i && j > 0 && chars[j - 1] == '月' && j >= 2 && chars[j - 2].is_ascii_digit() {
                push(out, Rule::Date, chars, i, i + 1, Some("日".into()));
            }
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Vec<(Rule, String, Option<String>)> {
        let p = Proofreader::new(vec![
            ("按装".into(), "安装".into(), "typo".into()),
            ("截止目前".into(), "截至目前".into(), "house_style".into()),
        ])
        .unwrap();
        p.check(text, true)
            .into_iter()
            .map(|s| (s.rule, s.text, s.replacement))
            .collect()
    }

    fn one(text: &str) -> (Rule, String, Option<String>) {
        let got = check(text);
        assert_eq!(got.len(), 1, "{text}: {got:?}");
        got.into_iter().next().unwrap()
    }

    #[test]
    fn each_rule_finds_its_error_with_a_fix() {
        assert_eq!(
            one("工人正在按装设备。"),
            (Rule::Wordlist, "按装".into(), Some("安装".into()))
        );
        assert_eq!(
            one("截止目前，已完成。"),
            (Rule::Wordlist, "截止目前".into(), Some("截至目前".into()))
        );
        assert_eq!(
            one("这是我的的书。"),
            (Rule::Doubled, "的的".into(), Some("的".into()))
        );
        assert_eq!(
            one("据人民日报人民日报报道。"),
            (
                Rule::Doubled,
                "人民日报人民日报".into(),
                Some("人民日报".into())
            )
        );
        assert_eq!(
            one("He said the the end."),
            (Rule::Doubled, "the the".into(), Some("the".into()))
        );
        assert_eq!(
            one("会议强调, 要抓落实。"),
            (Rule::PunctWidth, ", ".into(), Some("，".into()))
        );
        assert_eq!(one("他说：“我们出发。"), (Rule::Unpaired, "“".into(), None));
        assert_eq!(one("见附件）。"), (Rule::Unpaired, "）".into(), None));
        assert_eq!(
            one("大家认真的落实政策。"),
            (Rule::De, "的".into(), Some("地".into()))
        );
        assert_eq!(
            one("他跑的非常快。"),
            (Rule::De, "的".into(), Some("得".into()))
        );
        assert_eq!(
            one("共１２３人，其中12人。"),
            (Rule::Number, "１２３".into(), Some("123".into()))
        );
        assert_eq!(
            one("增长百分之12.5。"),
            (Rule::Number, "百分之12.5".into(), Some("12.5%".into()))
        );
        assert_eq!(
            one("11月22号召开。"),
            (Rule::Date, "号".into(), Some("日".into()))
        );
    }

    #[test]
    fn correct_text_gets_no_suggestions() {
        for ok in [
            "他们不了了之，的的确确如此。",
            "大家研究研究，高高兴兴回家。",
            "会议于3:00开始，共1,000人，增长12.5%。",
            "他做的很多工作值得肯定。",
            "认真的态度很重要。",
            "他说：“我们出发。”（完）",
            "“第一段。\n“第二段。”",
            "11月22日，新华社电。",
            "Visit (the site) now, then read.",
            "工作做得实实在在，达到这个目的的方法，一把把钥匙，脚踏实地地干。",
            "致以亲切的问候，表示热烈的欢迎，进行了深入、广泛的讨论。",
            "起到了积极的推动作用，提供了持续的推动力，热情的回答。",
            "取得了了不起的成绩，定做的太空服。",
            "’９８北京新年音乐会，共１２３人。",
        ] {
            assert_eq!(check(ok), vec![], "{ok}");
        }
    }

    #[test]
    fn offsets_are_characters() {
        let p = Proofreader::new(vec![]).unwrap();
        let s = p.check("第一句。这是我的的书。", true);
        assert_eq!((s[0].start, s[0].end), (7, 9));
    }
}
