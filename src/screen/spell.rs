//! Statistical spelling detection (错别字): a character that belongs to no word where it stands,
//! and for which a character that sounds the same (or is listed as looking alike) would make a
//! frequent word there, and make the passage more likely as a whole.
//!
//! - **Confusion sets** come from the `pinyin` crate: characters with the same toneless syllable,
//!   limited to characters the dictionary knows as common (frequency ≥ `COMMON`); an instance
//!   may add look-alike sets (`extra`, e.g. 形近字 lists).
//! - **Language model**: jieba's embedded dictionary (≈350k words with frequencies, the one the
//!   search index already loads), used as a word-unigram model: the score of a passage is that of
//!   its most likely segmentation.
//!
//! A suggestion needs both: the replacement makes a dictionary word of at least two characters
//! with frequency ≥ `MIN_WORD_FREQ`, and the local passage (±3 characters) scores at least
//! `MARGIN` (natural log) better with it. Characters already inside a dictionary word are left
//! alone, which keeps the rate on edited news low (measured in `rongmei bench screen`).

use std::collections::HashMap;
use std::sync::Arc;

use jieba_rs::Jieba;
use pinyin::ToPinyinMulti;

use super::normalize::is_cjk;

/// A character is a candidate replacement only if jieba's dictionary counts it this often
/// (of ≈60 million): the ~4,000 characters of everyday text.
const COMMON: usize = 300;
/// The word the replacement makes must be at least this frequent.
const MIN_WORD_FREQ: usize = 1000;
/// How much more likely (ln) the passage must be with the replacement.
const MARGIN: f64 = 6.0;
/// jieba's dictionary total, for the scores' scale (`ln` of ≈60 million).
const LOG_TOTAL: f64 = 17.9;
/// Context each side of the character when scoring.
const CONTEXT: usize = 3;

pub struct Speller {
    jieba: Arc<Jieba>,
    /// Common characters by toneless syllable.
    by_sound: HashMap<&'static str, Vec<char>>,
    /// Look-alike sets an instance added: character → characters.
    extra: HashMap<char, Vec<char>>,
}

/// A suspected wrong character: its offset in the checked text and the suggested one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misspelling {
    pub at: usize,
    pub wrong: char,
    pub right: char,
}

impl Speller {
    pub fn new(jieba: Arc<Jieba>) -> Self {
        let mut by_sound: HashMap<&'static str, Vec<char>> = HashMap::new();
        for c in ('\u{4E00}'..='\u{9FFF}').filter(|c| char_freq(&jieba, *c) >= COMMON) {
            if let Some(m) = c.to_pinyin_multi() {
                for i in 0..m.count() {
                    let v = by_sound.entry(m.get(i).plain()).or_default();
                    if !v.contains(&c) {
                        v.push(c);
                    }
                }
            }
        }
        Self {
            jieba,
            by_sound,
            extra: HashMap::new(),
        }
    }

    /// Add confusion sets, one set a line: the character, then (after tabs or spaces, or run
    /// together) the characters it is confused with. `#` lines are comments. Returns how many
    /// characters got candidates.
    pub fn add_confusions(&mut self, text: &str) -> usize {
        let before = self.extra.len();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let mut cs = line.chars().filter(|c| is_cjk(*c));
            let Some(head) = cs.next() else { continue };
            let v = self.extra.entry(head).or_default();
            for c in cs {
                if c != head && !v.contains(&c) && char_freq(&self.jieba, c) >= COMMON {
                    v.push(c);
                }
            }
        }
        self.extra.len() - before
    }

    fn candidates(&self, c: char, out: &mut Vec<char>) {
        out.clear();
        if let Some(m) = c.to_pinyin_multi() {
            for i in 0..m.count() {
                if let Some(v) = self.by_sound.get(m.get(i).plain()) {
                    out.extend(v.iter().copied().filter(|x| *x != c));
                }
            }
        }
        if let Some(v) = self.extra.get(&c) {
            out.extend(v.iter().copied());
        }
        out.sort_unstable();
        out.dedup();
    }

    /// Suspected wrong characters in `chars`, in order.
    pub fn check(&self, chars: &[char]) -> Vec<Misspelling> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if !is_cjk(chars[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && is_cjk(chars[i]) {
                i += 1;
            }
            if i - start >= 2 {
                self.check_run(&chars[start..i], start, &mut out);
            }
        }
        out
    }

    /// One run of Chinese characters (no punctuation, digits or letters inside).
    fn check_run(&self, run: &[char], offset: usize, out: &mut Vec<Misspelling>) {
        let text: String = run.iter().collect();
        let mut covered = vec![false; run.len()];
        for t in self.jieba.cut_all(&text) {
            if t.end - t.start >= 2 {
                covered[t.start..t.end].iter_mut().for_each(|c| *c = true);
            }
        }
        let skip = names(run, &covered);
        let mut cands = Vec::new();
        let mut window = String::new();
        for i in (0..run.len()).filter(|&i| !covered[i] && !skip[i]) {
            self.candidates(run[i], &mut cands);
            // The candidate making the most frequent word with its neighbours.
            let mut best: Option<(usize, char)> = None;
            for &c in &cands {
                let f = self.best_word(run, i, c, &mut window);
                if f >= MIN_WORD_FREQ && best.is_none_or(|(bf, _)| f > bf) {
                    best = Some((f, c));
                }
            }
            let Some((_, right)) = best else { continue };
            let (a, b) = (i.saturating_sub(CONTEXT), (i + CONTEXT + 1).min(run.len()));
            let mut local: Vec<char> = run[a..b].to_vec();
            let before = self.score(&local.iter().collect::<String>());
            local[i - a] = right;
            let after = self.score(&local.iter().collect::<String>());
            if after - before >= MARGIN {
                out.push(Misspelling {
                    at: offset + i,
                    wrong: run[i],
                    right,
                });
            }
        }
    }

    /// The highest frequency of a dictionary word of 2–4 characters over position `i` with `c`
    /// written there (0: none).
    fn best_word(&self, run: &[char], i: usize, c: char, buf: &mut String) -> usize {
        let mut best = 0;
        for len in 2..=4usize.min(run.len()) {
            for s in (i + 1).saturating_sub(len)..=i.min(run.len() - len) {
                buf.clear();
                buf.extend((s..s + len).map(|k| if k == i { c } else { run[k] }));
                if self.jieba.has_word(buf) {
                    best = best.max(self.jieba.suggest_freq(buf));
                }
            }
        }
        best
    }

    /// ln-probability of the most likely segmentation of `text` under the dictionary.
    fn score(&self, text: &str) -> f64 {
        self.jieba
            .cut(text, false)
            .iter()
            .map(|t| {
                let f = if self.jieba.has_word(t.word) {
                    self.jieba.suggest_freq(t.word)
                } else {
                    1
                };
                (f as f64).ln() - LOG_TOTAL
            })
            .sum()
    }
}

/// Common surnames (百家姓, the most frequent): a name is a surname and one or two characters
/// that make no word, which is just what a wrong character looks like.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝";

/// Characters of transliterated foreign names (博塔, 赫什, 伊莎贝尔).
const TRANSLIT: &str = "斯塔博赫伊泰黎尔特克德莱纳娜维亚卡罗拉曼尼诺埃奥蒂迪丽莎芬妮琳贝巴布普帕佩姆穆默摩莫谢什舍索萨桑西希锡茨兹恩安昂奈内戈格吉基杰乔约雅耶扎泽佐沃瓦温翁韦威乌霍胡哈汉汗赛塞";

/// Positions that look like part of a name (left alone): a surname starting a stretch of
/// characters outside any word, and stretches with two or more transliteration characters.
fn names(run: &[char], covered: &[bool]) -> Vec<bool> {
    let mut skip = vec![false; run.len()];
    let mut i = 0;
    while i < run.len() {
        if covered[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < run.len() && !covered[i] {
            i += 1;
        }
        // `start..i`: characters outside any word, plus the neighbours they attach to.
        let seg = start.saturating_sub(1)..(i + 1).min(run.len());
        if run[seg.clone()]
            .iter()
            .filter(|c| TRANSLIT.contains(**c))
            .count()
            >= 2
        {
            skip[seg.clone()].iter_mut().for_each(|s| *s = true);
        }
        for p in seg.clone() {
            if SURNAMES.contains(run[p]) {
                skip[p..(p + 3).min(seg.end)]
                    .iter_mut()
                    .for_each(|s| *s = true);
            }
        }
    }
    for (s, c) in skip.iter_mut().zip(run) {
        // 的/地/得 have their own rule.
        *s |= matches!(c, '的' | '地' | '得');
    }
    skip
}

fn char_freq(jieba: &Jieba, c: char) -> usize {
    let mut b = [0u8; 4];
    let s = c.encode_utf8(&mut b);
    if jieba.has_word(s) {
        jieba.suggest_freq(s)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speller() -> Speller {
        Speller::new(Arc::new(Jieba::new()))
    }

    fn fix(s: &Speller, text: &str) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        for m in s.check(&chars) {
            assert_eq!(chars[m.at], m.wrong);
            chars[m.at] = m.right;
        }
        chars.into_iter().collect()
    }

    #[test]
    fn finds_a_wrong_character_that_sounds_right() {
        let s = speller();
        assert_eq!(fix(&s, "到乡虾去了"), "到乡下去了");
        assert_eq!(
            fix(&s, "你有他的点话吗？我们去的地放很远"),
            "你有他的电话吗？我们去的地方很远"
        );
    }

    #[test]
    fn leaves_edited_news_alone() {
        let s = speller();
        for t in [
            "全国人民代表大会常务委员会今天在北京举行第三次会议",
            "县融媒体中心记者深入乡村采访春耕生产情况",
            "今年以来，全县粮食产量稳步增长，农民收入持续提高。",
            "记者王晓林报道：陈祖涛同志在会上讲话",
        ] {
            assert_eq!(s.check(&t.chars().collect::<Vec<_>>()), vec![], "{t}");
        }
    }

    #[test]
    fn look_alike_sets_add_candidates() {
        let mut s = speller();
        let mut c = Vec::new();
        s.candidates('己', &mut c);
        assert!(!c.contains(&'已'));
        assert_eq!(s.add_confusions("己\t已巳\n# comment\n"), 1);
        s.candidates('己', &mut c);
        assert!(c.contains(&'已'), "{c:?}");
    }
}
