import { describe, expect, it } from 'vitest'
import { moveInto, needsReason, targetOf } from '../../src/lib/topics'
import type { Topic } from '../../src/api/types'

const topic = (state: Topic['state'], moves: Topic['moves']) => ({ state, moves }) as Topic

describe('the board', () => {
  it('maps a drop on a column to the move the caller may make', () => {
    expect(moveInto(topic('proposed', ['approve', 'reject', 'cancel']), 'approved')).toBe('approve')
    expect(moveInto(topic('proposed', ['approve', 'reject', 'cancel']), 'rejected')).toBe('reject')
    expect(moveInto(topic('proposed', ['cancel']), 'approved')).toBeNull()
    expect(moveInto(topic('done', ['reopen']), 'in_progress')).toBe('reopen')
    expect(moveInto(topic('done', ['reopen']), 'proposed')).toBeNull()
    expect(targetOf('reopen', 'rejected')).toBe('proposed')
  })
  it('asks for a reason where the server requires one', () => {
    expect(needsReason('reject', 'proposed')).toBe(true)
    expect(needsReason('cancel', 'proposed')).toBe(false)
    expect(needsReason('cancel', 'in_progress')).toBe(true)
    expect(needsReason('approve', 'proposed')).toBe(false)
  })
})
