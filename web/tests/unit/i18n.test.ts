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

describe('every message', () => {
  it('compiles (a bare @ or | is syntax in vue-i18n messages)', async () => {
    const { baseCompile } = await import('@intlify/message-compiler')
    for (const [name, msgs] of [['zh-CN', zh], ['en', en]] as const) {
      for (const k of keys(msgs)) {
        const text = k.split('.').reduce((x: any, p) => x[p], msgs) as string
        const errors: string[] = []
        baseCompile(text, { onError: (e) => errors.push(String(e.message)) })
        expect(errors, `${name} ${k}: ${text}`).toEqual([])
      }
    }
  })
})
