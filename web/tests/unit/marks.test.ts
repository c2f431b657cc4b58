import { describe, expect, it } from 'vitest'
import { occurrenceBefore } from '../../src/lib/marks'
import { parseError } from '../../src/api/client'

describe('screening marks', () => {
  it('counts earlier occurrences by character offset (not UTF-16 units)', () => {
    const s = '𠀋博彩网站，又见博彩网站。'
    expect(occurrenceBefore(s, '博彩网站', 1)).toBe(0)
    expect(occurrenceBefore(s, '博彩网站', 8)).toBe(1)
    expect(occurrenceBefore(s, '博彩网站', 3)).toBe(0)
  })

  it('reads the terms of a screening error', () => {
    const e = parseError(422, JSON.stringify({ code: 'screening_blocked', message: 'x', request_id: 'r', terms: ['博彩网站', 3] }), null)
    expect(e.code).toBe('screening_blocked')
    expect(e.terms).toEqual(['博彩网站'])
  })
})
