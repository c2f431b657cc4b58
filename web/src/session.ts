// Who is signed in, which outlets they may use, and the outlet they are working in.
import { computed, reactive } from 'vue'
import { api, ApiError } from './api/client'
import type { Outlet, Role, Session, User } from './api/types'

const OUTLET_KEY = 'rongmei.outlet'

export const session = reactive({
  user: null as User | null,
  outlets: [] as Outlet[],
  /** Slug of the outlet the user is working in ('' = all they can see). */
  current: (typeof localStorage !== 'undefined' && localStorage.getItem(OUTLET_KEY)) || '',
  loaded: false,
})

export const currentOutlet = computed(() => session.outlets.find((o) => o.slug === session.current) ?? null)

export function setCurrentOutlet(slug: string) {
  session.current = slug
  localStorage.setItem(OUTLET_KEY, slug)
}

export function roleIn(outletId: number): Role | null {
  const u = session.user
  if (!u) return null
  return u.roles[String(outletId)] ?? null
}

/** Outlets the user can create articles in (any role there, or instance admin). */
export const writableOutlets = computed(() =>
  session.outlets.filter((o) => session.user?.instance_admin || roleIn(o.id) !== null),
)

export function isAdmin(): boolean {
  return !!session.user?.instance_admin
}

/** Refresh the outlets the user can see (after an admin changes them, too). */
export async function loadOutlets() {
  session.outlets = await api.get<Outlet[]>('/api/v1/outlets')
  if (session.current && !session.outlets.some((o) => o.slug === session.current)) setCurrentOutlet('')
  if (!session.current && writableOutlets.value.length === 1) setCurrentOutlet(writableOutlets.value[0].slug)
}

function adopt(s: Session) {
  session.user = s.user
  api.setCsrf(s.csrf_token)
}

/** Restore the session from the cookie, if there is one. */
export async function restore(): Promise<boolean> {
  try {
    adopt(await api.get<Session>('/api/v1/session'))
    await loadOutlets()
    return true
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      clear()
      return false
    }
    throw e
  } finally {
    session.loaded = true
  }
}

export async function login(username: string, password: string) {
  adopt(await api.post<Session>('/api/v1/session', { username, password }))
  await loadOutlets()
  session.loaded = true
}

export async function logout() {
  try {
    await api.del('/api/v1/session')
  } finally {
    clear()
  }
}

export function clear() {
  session.user = null
  session.outlets = []
  api.setCsrf(null)
}

export function outletById(id: number): Outlet | undefined {
  return session.outlets.find((o) => o.id === id)
}
