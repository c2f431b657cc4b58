import { describe, expect, it } from 'vitest'
import zh from '../../src/i18n/zh-CN'
import en from '../../src/i18n/en'

function keys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]))
}

describe('translations', () => {
  it('have the same keys in Chinese and English', () => {
    expect(keys(en).sort()).toEqual(keys(zh).sort())
  })
  it('have no empty strings', () => {
    const empty = (o: object): string[] => keys(o).filter((k) => k.split('.').reduce((x: any, p) => x[p], o) === '')
    expect(empty(zh)).toEqual([])
    expect(empty(en)).toEqual([])
  })
})
