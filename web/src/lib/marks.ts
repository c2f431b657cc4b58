// Screening and proofreading highlights inside the editor: a ProseMirror plugin holding a set
// of decorations (not marks: the document is not changed), replaced whenever a new check
// arrives and mapped through edits in between.
import { Extension, type Editor } from '@tiptap/core'
import { Plugin, PluginKey } from '@tiptap/pm/state'
import { Decoration, DecorationSet } from '@tiptap/pm/view'

const key = new PluginKey<DecorationSet>('rm-screen-marks')

export const ScreenMarks = Extension.create({
  name: 'screenMarks',
  addProseMirrorPlugins() {
    return [
      new Plugin<DecorationSet>({
        key,
        state: {
          init: () => DecorationSet.empty,
          apply(tr, old) {
            const next = tr.getMeta(key) as DecorationSet | undefined
            return next ?? old.map(tr.mapping, tr.doc)
          },
        },
        props: { decorations: (state) => key.getState(state) },
      }),
    ]
  },
})

/** The `nth` occurrence (0-based) of `text` in the document's text nodes. */
export function findText(ed: Editor, text: string, nth: number): { from: number; to: number } | null {
  if (!text) return null
  let seen = 0
  let found: { from: number; to: number } | null = null
  ed.state.doc.descendants((node, pos) => {
    if (found) return false
    if (node.isText && node.text) {
      let i = node.text.indexOf(text)
      while (i >= 0) {
        if (seen === nth) {
          found = { from: pos + i, to: pos + i + text.length }
          return false
        }
        seen += 1
        i = node.text.indexOf(text, i + text.length)
      }
    }
    return true
  })
  return found
}

export interface Mark {
  text: string
  nth: number
  cls: string
}

export function setMarks(ed: Editor, marks: Mark[]) {
  const decos: Decoration[] = []
  for (const m of marks) {
    const r = findText(ed, m.text, m.nth)
    if (r) decos.push(Decoration.inline(r.from, r.to, { class: m.cls }))
  }
  ed.view.dispatch(ed.state.tr.setMeta(key, DecorationSet.create(ed.state.doc, decos)).setMeta('addToHistory', false))
}

/** How many times `text` occurs in `s` before character offset `start`. */
export function occurrenceBefore(s: string, text: string, start: number): number {
  const prefix = Array.from(s).slice(0, start).join('')
  let n = 0
  let i = prefix.indexOf(text)
  while (i >= 0 && i + text.length <= prefix.length) {
    n += 1
    i = prefix.indexOf(text, i + text.length)
  }
  return n
}
