// The topic state table as the board needs it: which column a move leads to from a state, and
// which moves need a reason. Mirrors `domain::topic::MOVES` (the server has the last word).
import type { Topic, TopicMove, TopicState } from '../api/types'
import { api } from '../api/client'
import { i18n } from '../i18n'
import { attempt } from './action'
import { promptBox } from './confirm'

export const COLUMNS: TopicState[] = ['proposed', 'approved', 'in_progress', 'done', 'rejected', 'cancelled']

const TO: Record<TopicMove, Partial<Record<TopicState, TopicState>>> = {
  approve: { proposed: 'approved' },
  reject: { proposed: 'rejected' },
  start: { approved: 'in_progress' },
  complete: { in_progress: 'done' },
  cancel: { proposed: 'cancelled', approved: 'cancelled', in_progress: 'cancelled' },
  reopen: { rejected: 'proposed', cancelled: 'proposed', done: 'in_progress' },
}

export function targetOf(move: TopicMove, from: TopicState): TopicState | undefined {
  return TO[move][from]
}

/** The move (among those the caller may make) that takes the topic to `column`. */
export function moveInto(t: Topic, column: TopicState): TopicMove | null {
  return t.moves.find((m) => targetOf(m, t.state) === column) ?? null
}

export function needsReason(move: TopicMove, from: TopicState): boolean {
  return move === 'reject' || (move === 'cancel' && from !== 'proposed')
}

/** Make a move (asking for a reason when the table needs one); resolves the updated topic. */
export async function runMove(t: Topic, move: TopicMove): Promise<Topic | null> {
  const tr = i18n.global.t
  let comment = ''
  if (needsReason(move, t.state)) {
    const r = await promptBox(tr('planning.reason'), tr(`planning.moves.${move}`), '')
    if (r === null) return null
    if (!r.trim()) {
      await attempt(() => Promise.reject(new Error(tr('planning.reasonRequired'))))
      return null
    }
    comment = r
  }
  let out: Topic | null = null
  await attempt(async () => {
    out = await api.post<Topic>(`/api/v1/topics/${t.id}/move`, { revision: t.revision, move, comment })
  })
  return out
}
