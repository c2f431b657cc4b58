// Side-by-side rows from a line diff (the server's DiffLine list, or one computed here with jsdiff).
import { diffLines } from 'diff'
import type { DiffLine } from '../api/types'

export interface SideRow {
  left: string | null
  right: string | null
  /** equal: same on both sides; change: both sides differ; delete: only left; insert: only right. */
  kind: 'equal' | 'change' | 'delete' | 'insert'
}

/** Pair each run of deletions with the run of insertions that follows it, line by line. */
export function sideBySide(lines: DiffLine[]): SideRow[] {
  const rows: SideRow[] = []
  let i = 0
  while (i < lines.length) {
    const l = lines[i]
    if (l.op === 'equal') {
      rows.push({ left: l.text, right: l.text, kind: 'equal' })
      i += 1
      continue
    }
    const dels: string[] = []
    const ins: string[] = []
    while (i < lines.length && lines[i].op === 'delete') dels.push(lines[i++].text)
    while (i < lines.length && lines[i].op === 'insert') ins.push(lines[i++].text)
    const n = Math.max(dels.length, ins.length)
    for (let k = 0; k < n; k++) {
      const left = k < dels.length ? dels[k] : null
      const right = k < ins.length ? ins[k] : null
      rows.push({ left, right, kind: left !== null && right !== null ? 'change' : left !== null ? 'delete' : 'insert' })
    }
  }
  return rows
}

/** Line diff of two texts in the server's DiffLine shape. */
export function lineDiff(a: string, b: string): DiffLine[] {
  const out: DiffLine[] = []
  for (const part of diffLines(a.endsWith('\n') ? a : `${a}\n`, b.endsWith('\n') ? b : `${b}\n`)) {
    const op = part.added ? 'insert' : part.removed ? 'delete' : 'equal'
    for (const line of part.value.replace(/\n$/, '').split('\n')) out.push({ op, text: line })
  }
  return out
}
