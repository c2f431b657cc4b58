import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import DiffView from '../../src/components/DiffView.vue'
import { i18n } from '../../src/i18n'
import { lineDiff, sideBySide } from '../../src/lib/diff'
import type { DiffLine } from '../../src/api/types'

const lines: DiffLine[] = [
  { op: 'equal', text: '标题' },
  { op: 'delete', text: '旧的第一段' },
  { op: 'delete', text: '旧的第二段' },
  { op: 'insert', text: '新的第一段' },
  { op: 'equal', text: '结尾' },
  { op: 'insert', text: '追加一段' },
]

describe('side-by-side rows', () => {
  it('pairs deletions with the insertions that follow them', () => {
    expect(sideBySide(lines)).toEqual([
      { left: '标题', right: '标题', kind: 'equal' },
      { left: '旧的第一段', right: '新的第一段', kind: 'change' },
      { left: '旧的第二段', right: null, kind: 'delete' },
      { left: '结尾', right: '结尾', kind: 'equal' },
      { left: null, right: '追加一段', kind: 'insert' },
    ])
  })

  it('computes a line diff in the server shape', () => {
    expect(lineDiff('a\nb\nc', 'a\nB\nc\nd')).toEqual([
      { op: 'equal', text: 'a' },
      { op: 'delete', text: 'b' },
      { op: 'insert', text: 'B' },
      { op: 'equal', text: 'c' },
      { op: 'insert', text: 'd' },
    ])
  })
})

describe('DiffView', () => {
  it('renders removed text on the left and added text on the right', () => {
    const w = mount(DiffView, { props: { lines, leftTitle: '第 1 版', rightTitle: '第 2 版' }, global: { plugins: [i18n] } })
    expect(w.find('.head').text()).toContain('第 1 版')
    const removed = w.findAll('[data-kind="removed"]').map((c) => c.text())
    const added = w.findAll('[data-kind="added"]').map((c) => c.text())
    expect(removed).toEqual(['旧的第一段', '旧的第二段'])
    expect(added).toEqual(['新的第一段', '追加一段'])
    expect(w.findAll('.row.change .left')[0].text()).toBe('旧的第一段')
    expect(w.text()).not.toContain('两个版本内容相同')
  })

  it('says so when nothing changed', () => {
    const w = mount(DiffView, { props: { lines: [{ op: 'equal', text: '同' }], leftTitle: 'a', rightTitle: 'b' }, global: { plugins: [i18n] } })
    expect(w.text()).toContain('两个版本内容相同')
  })
})
