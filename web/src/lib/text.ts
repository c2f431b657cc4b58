// Text of article HTML, as the editor counts it and as the conflict dialog compares it.

const BLOCKS = new Set(['P', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'LI', 'BLOCKQUOTE', 'FIGCAPTION', 'TR', 'PRE', 'HR', 'BR'])

/** One line per block element, like the server's `to_text` (used for diffs). */
export function htmlToText(html: string): string {
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html')
  const out: string[] = []
  let line = ''
  const walk = (n: Node) => {
    if (n.nodeType === Node.TEXT_NODE) {
      line += n.textContent ?? ''
      return
    }
    if (n.nodeType !== Node.ELEMENT_NODE) return
    const el = n as Element
    const block = BLOCKS.has(el.tagName)
    if (block && line.trim()) {
      out.push(line.trim())
      line = ''
    }
    el.childNodes.forEach(walk)
    if (el.tagName === 'TD' || el.tagName === 'TH') line += '\t'
    if (block && line.trim()) {
      out.push(line.trim())
      line = ''
    }
  }
  doc.body.childNodes.forEach(walk)
  if (line.trim()) out.push(line.trim())
  return out.join('\n')
}

const CJK = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{2fa1f}]/u
const CJK_G = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{2fa1f}]/gu
const CJK_PUNCT_G = /[\u3000-\u303f\uff00-\uffef\u2018-\u201f\u2026\u2014]/gu

export interface Counts {
  /** 字数: each Chinese character counts one, each run of Latin letters/digits counts one. */
  words: number
  /** Characters excluding whitespace. */
  chars: number
  paragraphs: number
}

export function countText(text: string): Counts {
  const cjk = (text.match(CJK_G) ?? []).length
  const latin = text
    .replace(CJK_G, ' ')
    .replace(CJK_PUNCT_G, ' ')
    .split(/[^\p{L}\p{N}'’-]+/u)
    .filter((w) => w && !CJK.test(w) && /[\p{L}\p{N}]/u.test(w)).length
  return {
    words: cjk + latin,
    chars: Array.from(text.replace(/\s/g, '')).length,
    paragraphs: text.split('\n').filter((l) => l.trim()).length,
  }
}
