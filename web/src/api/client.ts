// The one way the UI talks to the server: JSON over fetch, the session cookie, and the CSRF token
// on every unsafe method. Every failure becomes an `ApiError` with the server's stable code.

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly requestId: string | null
  readonly currentRevision: number | null
  readonly retryAfterSecs: number | null
  /** `screening_blocked` / `screening_unacknowledged`: the terms concerned. */
  readonly terms: string[]

  constructor(init: {
    status: number
    code: string
    message: string
    requestId?: string | null
    currentRevision?: number | null
    retryAfterSecs?: number | null
    terms?: string[]
  }) {
    super(init.message)
    this.name = 'ApiError'
    this.status = init.status
    this.code = init.code
    this.requestId = init.requestId ?? null
    this.currentRevision = init.currentRevision ?? null
    this.retryAfterSecs = init.retryAfterSecs ?? null
    this.terms = init.terms ?? []
  }
}

type Listener = (e: ApiError) => void

export interface RequestOptions {
  query?: Record<string, string | number | undefined | null>
  json?: unknown
  body?: BodyInit
  headers?: Record<string, string>
  signal?: AbortSignal
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export class ApiClient {
  private csrf: string | null = null
  private onUnauthenticated: Listener[] = []

  constructor(
    private readonly base = '',
    private readonly fetchImpl: typeof fetch = (...a) => fetch(...a),
  ) {}

  setCsrf(token: string | null) {
    this.csrf = token
  }

  /** Called when the server says the session is gone (401 on anything but /api/v1/session). */
  onSessionLost(l: Listener) {
    this.onUnauthenticated.push(l)
  }

  url(path: string, query?: RequestOptions['query']): string {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
    }
    const s = q.toString()
    return `${this.base}${path}${s ? `?${s}` : ''}`
  }

  headersFor(method: string, extra?: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { Accept: 'application/json', ...extra }
    if (UNSAFE.has(method) && this.csrf) h['X-CSRF-Token'] = this.csrf
    return h
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const headers = this.headersFor(method, opts.headers)
    let body = opts.body
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json'
      body = JSON.stringify(opts.json)
    }
    let resp: Response
    try {
      resp = await this.fetchImpl(this.url(path, opts.query), {
        method,
        headers,
        body,
        credentials: 'same-origin',
        signal: opts.signal,
      })
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e
      throw new ApiError({ status: 0, code: 'network_error', message: String((e as Error)?.message ?? e) })
    }
    if (resp.status === 204) return undefined as T
    const text = await resp.text()
    if (resp.ok) {
      if (!text) return undefined as T
      try {
        return JSON.parse(text) as T
      } catch {
        throw new ApiError({ status: resp.status, code: 'bad_response', message: 'response is not JSON' })
      }
    }
    const err = toError(resp, text)
    // A 401 from the session resource itself (the sign-in form, or the start-up probe) is an
    // answer, not a lost session.
    if (err.status === 401 && path !== '/api/v1/session') {
      this.onUnauthenticated.forEach((l) => l(err))
    }
    throw err
  }

  get<T>(path: string, query?: RequestOptions['query']) {
    return this.request<T>('GET', path, { query })
  }
  post<T>(path: string, json?: unknown, query?: RequestOptions['query']) {
    return this.request<T>('POST', path, { json, query })
  }
  put<T>(path: string, json: unknown) {
    return this.request<T>('PUT', path, { json })
  }
  patch<T>(path: string, json: unknown) {
    return this.request<T>('PATCH', path, { json })
  }
  del<T = void>(path: string) {
    return this.request<T>('DELETE', path)
  }

  /** Upload raw bytes with progress (fetch cannot report upload progress; XHR can). */
  upload<T>(
    path: string,
    query: RequestOptions['query'],
    file: Blob,
    onProgress?: (fraction: number) => void,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest()
      xhr.open('POST', this.url(path, query))
      for (const [k, v] of Object.entries(
        this.headersFor('POST', { 'Content-Type': file.type || 'application/octet-stream' }),
      )) {
        xhr.setRequestHeader(k, v)
      }
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total)
      }
      xhr.onerror = () => reject(new ApiError({ status: 0, code: 'network_error', message: 'upload failed' }))
      xhr.onload = () => {
        const text = xhr.responseText
        if (xhr.status >= 200 && xhr.status < 300) {
          try {
            resolve(JSON.parse(text) as T)
          } catch {
            reject(new ApiError({ status: xhr.status, code: 'bad_response', message: 'response is not JSON' }))
          }
          return
        }
        const err = parseError(xhr.status, text, xhr.getResponseHeader('Retry-After'))
        if (err.status === 401) this.onUnauthenticated.forEach((l) => l(err))
        reject(err)
      }
      xhr.send(file)
    })
  }
}

function toError(resp: Response, text: string): ApiError {
  return parseError(resp.status, text, resp.headers.get('Retry-After'))
}

export function parseError(status: number, text: string, retryAfter: string | null): ApiError {
  let body: Record<string, unknown> | null = null
  try {
    const v = JSON.parse(text)
    if (v && typeof v === 'object') body = v as Record<string, unknown>
  } catch {
    body = null
  }
  const retry = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : null
  if (body && typeof body.code === 'string') {
    return new ApiError({
      status,
      code: body.code,
      message: typeof body.message === 'string' ? body.message : body.code,
      requestId: typeof body.request_id === 'string' ? body.request_id : null,
      currentRevision: typeof body.current_revision === 'number' ? body.current_revision : null,
      retryAfterSecs: retry,
      terms: Array.isArray(body.terms) ? body.terms.filter((x): x is string => typeof x === 'string') : [],
    })
  }
  return new ApiError({ status, code: `http_${status}`, message: text.slice(0, 200) || `HTTP ${status}`, retryAfterSecs: retry })
}

export const api = new ApiClient()
