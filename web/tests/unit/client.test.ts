import { describe, expect, it, vi } from 'vitest'
import { ApiClient, ApiError } from '../../src/api/client'
import { errorMessage, i18n } from '../../src/i18n'

function fakeFetch(status: number, body: string, headers: Record<string, string> = {}) {
  return vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => new Response(status === 204 ? null : body, { status, headers }))
}

async function caught(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError)
    return e as ApiError
  }
  throw new Error('expected the request to fail')
}

describe('ApiClient error handling', () => {
  it('keeps the server code, message, request id and current revision of a conflict', async () => {
    const f = fakeFetch(409, JSON.stringify({ code: 'revision_conflict', message: 'stale', request_id: 'abc123', current_revision: 7 }))
    const e = await caught(new ApiClient('', f).put('/api/v1/articles/1', { title: 'x' }))
    expect([e.status, e.code, e.message, e.requestId, e.currentRevision]).toEqual([409, 'revision_conflict', 'stale', 'abc123', 7])
  })

  it('reads Retry-After of a rate-limited login', async () => {
    const f = fakeFetch(429, JSON.stringify({ code: 'login_rate_limited', message: 'slow down', request_id: 'r' }), { 'Retry-After': '42' })
    const e = await caught(new ApiClient('', f).post('/api/v1/session', { username: 'a', password: 'b' }))
    expect(e.code).toBe('login_rate_limited')
    expect(e.retryAfterSecs).toBe(42)
  })

  it('turns a non-JSON error page (proxy) into http_<status>', async () => {
    const e = await caught(new ApiClient('', fakeFetch(502, '<html>Bad gateway</html>')).get('/api/v1/articles'))
    expect(e.code).toBe('http_502')
    expect(e.status).toBe(502)
  })

  it('reports a network failure as network_error', async () => {
    const f = vi.fn(async () => {
      throw new TypeError('Failed to fetch')
    })
    const e = await caught(new ApiClient('', f).get('/api/v1/articles'))
    expect([e.status, e.code]).toEqual([0, 'network_error'])
  })

  it('rejects a 200 that is not JSON instead of returning garbage', async () => {
    const e = await caught(new ApiClient('', fakeFetch(200, 'not json')).get('/api/v1/articles'))
    expect(e.code).toBe('bad_response')
  })

  it('announces a lost session on 401, but not for a failed login or the start-up probe', async () => {
    const lost = vi.fn()
    const c = new ApiClient('', fakeFetch(401, JSON.stringify({ code: 'session_expired', message: 'expired', request_id: 'r' })))
    c.onSessionLost(lost)
    await caught(c.get('/api/v1/articles'))
    expect(lost).toHaveBeenCalledTimes(1)
    await caught(c.post('/api/v1/session', { username: 'a', password: 'b' }))
    await caught(c.get('/api/v1/session'))
    expect(lost).toHaveBeenCalledTimes(1)
  })

  it('sends the CSRF token on unsafe methods only', async () => {
    const f = fakeFetch(200, '{}')
    const c = new ApiClient('', f)
    c.setCsrf('tok')
    await c.get('/api/v1/articles', { outlet: 'tv', tag: '', limit: 20 })
    await c.post('/api/v1/articles', { title: 't' })
    const [getUrl, getInit] = f.mock.calls[0]
    const [, postInit] = f.mock.calls[1]
    expect(String(getUrl)).toBe('/api/v1/articles?outlet=tv&limit=20')
    expect((getInit!.headers as Record<string, string>)['X-CSRF-Token']).toBeUndefined()
    expect((postInit!.headers as Record<string, string>)['X-CSRF-Token']).toBe('tok')
    expect(postInit!.body).toBe('{"title":"t"}')
  })

  it('maps codes to messages in the current language', () => {
    i18n.global.locale.value = 'zh-CN'
    expect(errorMessage(new ApiError({ status: 409, code: 'revision_conflict', message: 'x' }))).toBe('稿件已被他人修改')
    expect(errorMessage(new ApiError({ status: 409, code: 'outlet_exists', message: 'x' }))).toBe('已存在同名记录')
    expect(errorMessage(new ApiError({ status: 400, code: 'invalid_input', message: 'title: required' }))).toBe('输入有误：title: required')
    expect(errorMessage(new ApiError({ status: 500, code: 'something_new', message: 'boom' }))).toBe('操作失败：boom')
    i18n.global.locale.value = 'en'
    expect(errorMessage(new ApiError({ status: 0, code: 'network_error', message: 'x' }))).toMatch(/Cannot reach the server/)
    i18n.global.locale.value = 'zh-CN'
  })
})
