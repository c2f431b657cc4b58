// Start the real release binary on an ephemeral loopback port with a fresh data dir, and a tiny
// API client (cookie + CSRF) for setting up fixtures through the real HTTP API.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// `env`: extra configuration; `dataDir`: an existing data dir (a joined replica, which prints no
// admin password: its accounts come from the primary).
export async function startServer(bin, { env = {}, dataDir: existing } = {}) {
  const dataDir = existing ?? mkdtempSync(join(tmpdir(), 'rongmei-e2e-'))
  const child = spawn(bin, ['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RONGMEI_LOG: 'warn', ...env },
  })
  let out = ''
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30000)
    child.stdout.on('data', (d) => {
      out += d
      const url = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)
      const pw = out.match(/username admin, password (\S+)/)
      if (url && (pw || existing)) {
        clearTimeout(timer)
        resolve({ url: url[1], adminPassword: pw?.[1] })
      }
    })
    child.stderr.on('data', (d) => (out += d))
    child.on('exit', (code) => reject(new Error(`server exited (${code}):\n${out}`)))
  })
  const { url, adminPassword } = await ready
  return {
    url,
    adminPassword,
    dataDir,
    // `keep`: leave the data dir for a restart.
    async stop({ keep = false } = {}) {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
      if (!keep) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export class Api {
  constructor(base) {
    this.base = base
    this.cookie = ''
    this.csrf = ''
  }
  async call(method, path, body, headers = {}) {
    const h = { ...headers, cookie: this.cookie }
    if (this.csrf && method !== 'GET') h['x-csrf-token'] = this.csrf
    let payload = body
    if (body !== undefined && !(body instanceof Uint8Array)) {
      h['content-type'] = 'application/json'
      payload = JSON.stringify(body)
    }
    const r = await fetch(this.base + path, { method, headers: h, body: payload })
    const set = r.headers.get('set-cookie')
    if (set) this.cookie = set.split(';')[0]
    const text = await r.text()
    if (!r.ok) throw new Error(`${method} ${path} -> ${r.status} ${text}`)
    return text ? JSON.parse(text) : undefined
  }
  async login(username, password) {
    const s = await this.call('POST', '/api/v1/session', { username, password })
    this.csrf = s.csrf_token
    return s
  }
}
