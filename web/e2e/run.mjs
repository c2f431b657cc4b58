// Browser end-to-end tests: Debian's Chromium driven by playwright-core against the real release
// binary on an ephemeral loopback port. Screenshots of each main screen go to web/e2e-artifacts/
// (git-ignored). Usage: RONGMEI_BIN=path/to/rongmei node e2e/run.mjs
import { chromium } from 'playwright-core'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deflateSync } from 'node:zlib'
import { startServer, Api } from './server.mjs'
import { provincialHub } from './hub.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const web = join(here, '..')
const artifacts = join(web, 'e2e-artifacts')
mkdirSync(artifacts, { recursive: true })
const bin = process.env.RONGMEI_BIN ?? join(web, '..', 'target', 'release', 'rongmei')
const chromePath = process.env.CHROMIUM ?? '/usr/bin/chromium'
const corpus = join(web, '..', '..', 'shared', 'corpus', 'zh_peoples_daily_199801.jsonl')
const PW = 'e2e-password-1234'

function fail(msg) {
  throw new Error(msg)
}
function check(cond, msg) {
  if (!cond) fail(msg)
}

/** A real PNG (solid colour), built here so the test needs no binary fixture. */
function png(w, h, rgb) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc = (buf) => {
    let c = 0xffffffff
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const td = Buffer.concat([Buffer.from(type), data])
    const c = Buffer.alloc(4)
    c.writeUInt32BE(crc(td))
    return Buffer.concat([len, td, c])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr[8] = 8
  ihdr[9] = 2
  const raw = Buffer.alloc((w * 3 + 1) * h)
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set(rgb, y * (w * 3 + 1) + 1 + x * 3)
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

const results = []
const openPages = []
async function step(name, fn) {
  const t0 = performance.now()
  try {
    await fn()
    results.push({ name, ok: true, ms: Math.round(performance.now() - t0) })
    console.log(`ok   ${name} (${Math.round(performance.now() - t0)} ms)`)
  } catch (e) {
    results.push({ name, ok: false })
    console.log(`FAIL ${name}: ${e.stack ?? e}`)
    for (const [i, p] of openPages.entries()) {
      if (!p.isClosed()) await p.screenshot({ path: join(artifacts, `FAILED-${results.length}-${i}.png`) }).catch(() => {})
      if (!p.isClosed()) console.log(`  page ${i} at ${p.url()}; errors: ${p.__errors.join('; ')}`)
    }
    throw e
  }
}

async function newPage(browser, base) {
  const ctx = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 860 }, locale: 'zh-CN' })
  await ctx.addInitScript(() => {
    window.__csp = []
    window.__cls = 0
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value
    }).observe({ type: 'layout-shift', buffered: true })
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`))
  })
  const page = await ctx.newPage()
  page.__errors = []
  openPages.push(page)
  page.on('pageerror', (e) => page.__errors.push(String(e)))
  page.on('console', (m) => { if (process.env.E2E_CONSOLE && ['error', 'warning'].includes(m.type())) console.log('console:', m.text().slice(0, 400)) })
  return { ctx, page }
}

async function login(page, user, password) {
  await page.goto('/login')
  await page.getByTestId('login-username').fill(user)
  await page.getByTestId('login-password').fill(password)
  await page.getByTestId('login-submit').click()
  await page.waitForURL(/\/articles/)
}

/** Reload until `locator` shows (data another server sends here), at most 30 s. */
async function reloadUntil(page, locator) {
  for (let i = 0; i < 30; i++) {
    if (await locator.first().waitFor({ timeout: 1000 }).then(() => true, () => false)) return
    await page.reload()
  }
  await locator.first().waitFor({ timeout: 1000 })
}

/** Do something that changes the article, then wait for the autosave it triggers to succeed. */
async function savedAfter(page, action) {
  const resp = page.waitForResponse((r) => /\/api\/v1\/articles(\/\d+)?$/.test(new URL(r.url()).pathname) && ['POST', 'PUT'].includes(r.request().method()), { timeout: 15000 })
  await action()
  const r = await resp
  check(r.ok(), `autosave answered ${r.status()}`)
  await page.getByTestId('save-state').filter({ hasText: /已保存|Saved at/ }).waitFor({ timeout: 15000 })
}

async function cspClean(page, where) {
  const v = await page.evaluate(() => window.__csp)
  check(v.length === 0, `CSP violations on ${where}: ${v.join('; ')}`)
  check(page.__errors.length === 0, `page errors on ${where}: ${page.__errors.join('; ')}`)
}

async function main() {
  check(existsSync(bin), `no server binary at ${bin} (build with cargo build --release)`)
  check(existsSync(chromePath), `no Chromium at ${chromePath}: apt-get install chromium`)
  const server = await startServer(bin, { env: { RONGMEI_FEDERATION_LISTEN: '127.0.0.1:0' } })
  const browser = await chromium.launch({ executablePath: chromePath, args: ['--no-sandbox', '--headless=new'] })
  const figures = {}
  try {
    // Fixtures through the real API: two outlets, a reporter in each, an article in outlet B.
    const admin = new Api(server.url)
    await admin.login('admin', server.adminPassword)
    const tv = await admin.call('POST', '/api/v1/outlets', { slug: 'tv', name: '县电视台', kind: 'tv' })
    const b = await admin.call('POST', '/api/v1/outlets', { slug: 'web', name: '县融媒网站', kind: 'website' })
    await admin.call('POST', '/api/v1/users', { username: 'reporter-a', display_name: '张记者', password: PW, roles: { [tv.id]: 'reporter' } })
    await admin.call('POST', '/api/v1/users', { username: 'reporter-b', display_name: '李记者', password: PW, roles: { [b.id]: 'reporter' } })
    const rb = new Api(server.url)
    await rb.login('reporter-b', PW)
    const secret = await rb.call('POST', '/api/v1/articles', { outlet: 'web', title: '网站内部稿件', body: '<p>只属于网站渠道</p>' })

    const { ctx, page } = await newPage(browser, server.url)

    await step('login page: wrong password shows the message, first load size', async () => {
      const assets = new Set()
      page.on('response', (r) => {
        const p = new URL(r.url()).pathname
        if (/\.(js|css)$/.test(p)) assets.add(p)
      })
      await page.goto('/articles')
      await page.waitForURL(/\/login/)
      await page.getByTestId('login-submit').waitFor()
      await page.waitForLoadState('networkidle')
      check(!(await page.getByTestId('login-error').count()), 'a first visit shows an error before any sign-in')
      let gz = 0
      for (const p of assets) {
        const f = join(web, 'dist', p)
        gz += existsSync(`${f}.gz`) ? statSync(`${f}.gz`).size : statSync(f).size
      }
      figures.loginGzipKB = Math.round(gz / 1024)
      figures.loginFiles = [...assets].map((p) => p.replace('/assets/', '')).join(' ')
      check(gz <= 700 * 1024, `login page loads ${figures.loginGzipKB} KB of JS+CSS gzipped (budget 700 KB)`)
      await page.getByTestId('login-username').fill('reporter-a')
      await page.getByTestId('login-password').fill('not-the-password')
      await page.getByTestId('login-submit').click()
      await page.getByTestId('login-error').filter({ hasText: '用户名或密码错误' }).waitFor()
      await page.screenshot({ path: join(artifacts, '01-login.png') })
    })

    await step('log in and see the article list', async () => {
      await login(page, 'reporter-a', PW)
      await page.getByTestId('article-table').waitFor()
      await page.reload()
      await page.getByTestId('article-table').waitFor()
      await page.waitForLoadState('networkidle')
      figures.articlesCLS = await page.evaluate(() => Math.round(window.__cls * 1000) / 1000)
      check(figures.articlesCLS <= 0.1, `layout shift on loading the article list: ${figures.articlesCLS}`)
      await page.screenshot({ path: join(artifacts, '02-articles.png') })
    })

    let articleId = 0
    await step('write an article with an uploaded image; autosave', async () => {
      await page.getByTestId('nav-new').click()
      await page.waitForURL(/\/articles\/new/)
      await page.getByTestId('title').fill('全县秋粮收购进度过半')
      const editor = page.getByTestId('editor')
      await editor.click()
      await savedAfter(page, () => page.keyboard.type('记者从县粮食局获悉，截至目前全县已收购秋粮十二万吨。'))
      await page.waitForURL(/\/articles\/\d+$/)
      articleId = Number(new URL(page.url()).pathname.split('/').pop())
      await page.keyboard.press('End')
      await page.getByTestId('tb-image').click()
      const picker = page.getByTestId('asset-picker')
      await picker.getByTestId('upload-input').setInputFiles({ name: '收购现场.png', mimeType: 'image/png', buffer: png(64, 48, [200, 40, 40]) })
      await picker.locator('[data-testid^="pick-"][aria-selected="true"]').waitFor()
      await picker.getByTestId('picker-caption').fill('收购现场（资料图）')
      await savedAfter(page, () => picker.getByTestId('picker-insert').click())
      await editor.locator('figure img').waitFor()
      await page.screenshot({ path: join(artifacts, '03-editor.png') })
    })

    await step('reload and see it saved', async () => {
      await page.reload()
      await page.getByTestId('editor').getByText('十二万吨').waitFor()
      const title = await page.getByTestId('title').inputValue()
      check(title === '全县秋粮收购进度过半', `title after reload: ${title}`)
      const img = page.getByTestId('editor').locator('figure img')
      await img.waitFor()
      const w = await img.evaluate((el) => el.complete && el.naturalWidth)
      check(w === 64, `the embedded image did not load (naturalWidth ${w})`)
      const cap = await page.getByTestId('editor').locator('figcaption').innerText()
      check(cap.includes('收购现场'), `caption after reload: ${cap}`)
    })

    await step('search: suggestions as you type, highlighted results, facets, nothing of another outlet', async () => {
      const st = await admin.call('GET', '/api/v1/search/status')
      await admin.call('GET', `/api/v1/search/status?wait_for_lsn=${st.log_lsn}&timeout_ms=10000`)
      await page.getByTestId('nav-articles').click()
      await page.keyboard.press('/')
      const box = page.getByTestId('global-search')
      check(await box.evaluate((el) => el === document.activeElement), '"/" focuses the search box')
      await box.pressSequentially('秋粮', { delay: 30 })
      const sug = page.locator('.rm-suggest [data-testid="suggestion"]').first()
      await sug.waitFor()
      check((await sug.locator('mark').first().innerText()) === '秋粮', 'the suggestion marks the typed text')
      await page.screenshot({ path: join(artifacts, '04-suggest.png') })
      await page.keyboard.press('Escape')
      await box.press('Enter')
      await page.waitForURL(/\/search\?q=/)
      const hit = page.getByTestId('search-hit').first()
      await hit.waitFor()
      check((await hit.locator('mark').first().innerText()) === '秋粮', 'the result marks the query')
      const total = await page.getByTestId('search-total').innerText()
      check(/1/.test(total), `total: ${total}`)
      const outlets = await page.getByTestId('facet-outlet').allInnerTexts()
      check(outlets.length === 1 && outlets[0].includes('县电视台'), `outlet facet: ${outlets}`)
      await page.screenshot({ path: join(artifacts, '05-search.png') })
      // Outlet B's draft does not exist for this reporter, not even as a count.
      await page.getByTestId('search-input').fill('网站内部稿件')
      await page.getByTestId('search-input').press('Enter')
      await page.getByTestId('search-results').locator('.el-empty').waitFor()
      const none = await page.getByTestId('search-total').innerText()
      check(/(^|\D)0(\D|$)/.test(none), `outlet B's draft counted: ${none}`)
      check((await page.getByTestId('search-hit').count()) === 0, 'no hit of outlet B')
      // A result opens the article.
      await page.getByTestId('search-input').fill('十二万吨')
      await page.getByTestId('search-input').press('Enter')
      await page.getByTestId('search-hit').first().locator('a').click()
      await page.waitForURL(new RegExp(`/articles/${articleId}$`))
      await page.getByTestId('editor').getByText('十二万吨').waitFor()
      await cspClean(page, 'search pages')
    })

    await step('history: side-by-side diff and restore', async () => {
      await page.getByTestId('editor').locator('p').first().click()
      await page.keyboard.press('End')
      await savedAfter(page, () => page.keyboard.type('收购价格保持稳定。'))
      await page.getByTestId('open-history').click()
      await page.waitForURL(/\/history$/)
      await page.getByTestId('diff-view').locator('[data-kind="added"]').first().waitFor()
      await page.screenshot({ path: join(artifacts, '04-history.png') })
      const rows = await page.getByTestId('versions').locator('tbody tr').count()
      await page.getByTestId('restore-1').click()
      await page.locator('.el-message-box').getByRole('button', { name: '确定' }).click()
      await page.locator('.el-message--success').waitFor()
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="versions"] tbody tr').length === n + 1, rows)
      const a = await admin.call('GET', `/api/v1/articles/${articleId}`)
      check(a.restored_from === 1 && !a.body.includes('收购价格保持稳定'), `restore did not bring back revision 1: ${JSON.stringify(a).slice(0, 300)}`)
    })

    await step('two editors: the second gets the conflict dialog', async () => {
      const other = await newPage(browser, server.url)
      await login(other.page, 'reporter-a', PW)
      await other.page.goto(`/articles/${articleId}`)
      await page.goto(`/articles/${articleId}`)
      await other.page.getByTestId('editor').getByText('十二万吨').waitFor()
      await page.getByTestId('editor').getByText('十二万吨').waitFor()
      await savedAfter(other.page, () => other.page.getByTestId('title').fill('全县秋粮收购进度过半（更新）'))
      await page.getByTestId('editor').locator('p').first().click()
      await page.keyboard.press('End')
      await page.keyboard.type('另有三家收购点将于下周开放。')
      const dialog = page.getByTestId('conflict-dialog')
      await dialog.getByTestId('diff-view').waitFor({ timeout: 15000 })
      await page.screenshot({ path: join(artifacts, '05-conflict.png') })
      await savedAfter(page, () => dialog.getByTestId('conflict-keep-mine').click())
      const a = await admin.call('GET', `/api/v1/articles/${articleId}`)
      check(a.body.includes('三家收购点'), 'the merged text was not saved')
      await cspClean(other.page, 'second editor')
      await other.ctx.close()
    })

    await step("a reporter of outlet A cannot open outlet B's article", async () => {
      await page.goto(`/articles/${secret.id}`)
      const err = page.getByTestId('article-error')
      await err.waitFor()
      const text = await err.innerText()
      check(text.includes('稿件不存在，或您没有权限查看'), `message shown: ${text}`)
      check(!(await page.getByText('只属于网站渠道').count()), "outlet B's text is visible")
      await page.screenshot({ path: join(artifacts, '06-forbidden.png') })
    })

    await step('three-level review (三审) with one send-back, publication, and a correction', async () => {
      for (const [u, name, role] of [['editor-a', '王编辑', 'editor'], ['chief-a', '赵主任', 'chief_editor'], ['chief-b', '钱总编', 'chief_editor']]) {
        await admin.call('POST', '/api/v1/users', { username: u, display_name: name, password: PW, roles: { [tv.id]: role } })
      }
      const act = async (p, action, comment) => {
        await p.getByTestId(`review-${action}`).click()
        if (comment) await p.getByTestId('review-comment').fill(comment)
        const resp = p.waitForResponse((r) => r.request().method() === 'POST' && /\/(submit|approve|return|publish|correction)$/.test(r.url()))
        await p.getByTestId('review-confirm').click()
        const r = await resp
        check(r.ok(), `${action} answered ${r.status()}: ${await r.text()}`)
      }
      const status = async (p, text) => p.getByTestId('article-status').filter({ hasText: text }).waitFor({ timeout: 15000 })
      // The reporter submits the article.
      await page.goto(`/articles/${articleId}`)
      await act(page, 'submit')
      await status(page, '已提交')
      // 初审: the editor finds it in "my reviews" (badge and queue) and approves.
      const ed = await newPage(browser, server.url)
      await login(ed.page, 'editor-a', PW)
      await ed.page.getByTestId('nav-reviews').click()
      await ed.page.getByTestId('review-queue').getByText('全县秋粮收购进度过半').first().click()
      await ed.page.waitForURL(/\/articles\/\d+$/)
      await act(ed.page, 'approve')
      await status(ed.page, '审核中')
      // 复审 sends it back to 初审 with a comment.
      const ca = await newPage(browser, server.url)
      await login(ca.page, 'chief-a', PW)
      await ca.page.goto(`/articles/${articleId}`)
      await ca.page.getByTestId('level-1').waitFor()
      await act(ca.page, 'return', '导语需要更具体的收购数字')
      await ed.page.reload()
      await act(ed.page, 'approve')
      await ca.page.reload()
      await act(ca.page, 'approve')
      // 终审 by the second chief editor, then 签发.
      const cb = await newPage(browser, server.url)
      await login(cb.page, 'chief-b', PW)
      await cb.page.goto(`/articles/${articleId}`)
      await act(cb.page, 'approve')
      await status(cb.page, '已审核')
      await cb.page.screenshot({ path: join(artifacts, '06b-review-approved.png') })
      await act(cb.page, 'publish')
      await status(cb.page, '已签发')
      const published = await admin.call('GET', `/api/v1/articles/${articleId}`)
      check(published.published_revision === published.revision, `published revision: ${JSON.stringify(published).slice(0, 200)}`)
      // A correction: a new revision goes through review while the published one stays live.
      await page.reload()
      await act(page, 'correct', '更正收购点数量')
      await status(page, '草稿')
      await page.getByText('正在更正').waitFor()
      await savedAfter(page, () => page.getByTestId('title').fill('全县秋粮收购进度过半（更正）'))
      await act(page, 'submit')
      const live = await admin.call('GET', `/api/v1/articles/${articleId}/versions/${published.revision}`)
      check(!live.title.includes('更正'), 'the live revision changed during the correction')
      for (const [p, level] of [[ed.page, 0], [ca.page, 1], [cb.page, 2]]) {
        await p.goto(`/articles/${articleId}`)
        await p.getByTestId(`level-${level}`).waitFor()
        await act(p, 'approve')
      }
      await act(cb.page, 'publish')
      await status(cb.page, '已签发')
      const after = await admin.call('GET', `/api/v1/articles/${articleId}`)
      check(after.published_revision > published.revision && after.title.includes('更正'), 'the correction was not published')
      // The audit trail on the history page shows the send-back with its comment.
      await page.goto(`/articles/${articleId}/history`)
      const trail = page.getByTestId('audit-trail')
      await trail.getByText('导语需要更具体的收购数字').waitFor()
      await trail.getByText('赵主任').first().waitFor()
      await page.screenshot({ path: join(artifacts, '06c-audit.png') })
      for (const x of [ed, ca, cb]) {
        await cspClean(x.page, 'review')
        await x.ctx.close()
      }
    })

    await step('planning board: propose, approve by dragging, assign; the bell rings live; a comment with a mention; the edit lock shows', async () => {
      // The reporter proposes a topic (选题).
      await page.goto('/planning')
      await page.getByTestId('topic-new').click()
      await page.getByTestId('topic-title').fill('春运首日客流观察')
      await page.getByTestId('topic-submit').click()
      await page.getByTestId('column-proposed').getByTestId('topic-card').filter({ hasText: '春运首日客流观察' }).waitFor()
      // The editor drags the card from 待审 to 已通过.
      const ed = await newPage(browser, server.url)
      await login(ed.page, 'editor-a', PW)
      await ed.page.goto('/planning')
      const card = ed.page.getByTestId('column-proposed').getByTestId('topic-card').filter({ hasText: '春运首日客流观察' })
      const moved = ed.page.waitForResponse((r) => r.request().method() === 'POST' && /\/topics\/\d+\/move$/.test(r.url()))
      await card.dragTo(ed.page.getByTestId('column-approved'))
      check((await moved).ok(), 'the move by drag failed')
      const approved = ed.page.getByTestId('column-approved').getByTestId('topic-card').filter({ hasText: '春运首日客流观察' })
      await approved.waitFor()
      await ed.page.screenshot({ path: join(artifacts, '06d-planning-board.png') })
      // The editor assigns the reporter; the reporter's bell shows it without a reload.
      const unread = async () => Number((await page.getByTestId('unread-badge').locator('sup').innerText().catch(() => '0')) || 0)
      const before = await unread()
      const rings = async (n) => {
        for (let i = 0; i < 150 && (await unread()) < n; i++) await page.waitForTimeout(100)
        check((await unread()) >= n, `the bell shows ${await unread()}, expected ${n}`)
      }
      await approved.click()
      const drawer = ed.page.getByTestId('topic-drawer')
      await drawer.getByTestId('add-assignment').click()
      await drawer.getByTestId('assignment-user').click()
      await ed.page.locator('.el-select-dropdown__item').filter({ hasText: 'reporter-a' }).first().click()
      const saved = ed.page.waitForResponse((r) => r.request().method() === 'PUT' && /\/topics\/\d+$/.test(r.url()))
      await drawer.getByTestId('topic-save').click()
      check((await saved).ok(), 'saving the assignment failed')
      await rings(before + 1)
      // The reporter opens the notification, lands on the topic and starts writing.
      await page.getByTestId('notifications').click()
      await page.getByTestId('notice').filter({ hasText: '分派' }).first().click()
      const mine = page.getByTestId('topic-drawer')
      await mine.getByTestId('topic-state').filter({ hasText: '已通过' }).waitFor()
      await mine.getByTestId('topic-write').click()
      await page.waitForURL(/\/articles\/\d+$/)
      const topicArticle = page.url().split('/').pop()
      const beforeMention = await unread()
      // The editor comments on the draft, mentioning the reporter: the bell rings again.
      await ed.page.goto(`/articles/${topicArticle}`)
      await ed.page.getByTestId('comment-thread').locator('textarea').fill('@reporter-a 请补充车站的客流数字')
      await ed.page.getByTestId('comment-send').click()
      await ed.page.getByTestId('comment').filter({ hasText: '请补充车站的客流数字' }).waitFor()
      await rings(beforeMention + 1)
      await page.reload()
      await page.getByTestId('comment').filter({ hasText: '请补充车站的客流数字' }).waitFor()
      // The reporter starts typing: the lock is taken, and the editor sees who is editing.
      await savedAfter(page, () => page.getByTestId('title').fill('春运首日客流观察：车站篇'))
      await ed.page.reload()
      await ed.page.getByTestId('lock-banner').filter({ hasText: '张记者' }).waitFor({ timeout: 15000 })
      await ed.page.screenshot({ path: join(artifacts, '06e-lock-and-comments.png') })
      await cspClean(ed.page, 'planning (editor)')
      await cspClean(page, 'planning (reporter)')
      await ed.ctx.close()
    })

    await step('switch to English and back', async () => {
      await page.goto('/articles')
      await page.getByTestId('lang-switch').click()
      await page.getByTestId('lang-en').click()
      await page.getByTestId('nav-articles').filter({ hasText: 'Articles' }).waitFor()
      await page.locator('h1', { hasText: 'Articles' }).waitFor()
      await page.screenshot({ path: join(artifacts, '07-english.png') })
      await page.reload()
      await page.getByTestId('nav-articles').filter({ hasText: 'Articles' }).waitFor()
      await page.getByTestId('lang-switch').click()
      await page.getByTestId('lang-zh').click()
      await page.getByTestId('nav-articles').filter({ hasText: '稿件库' }).waitFor()
    })

    await step('asset library and tablet width', async () => {
      await page.goto('/assets')
      await page.getByTestId('asset-grid').locator('img').first().waitFor()
      await page.screenshot({ path: join(artifacts, '08-assets.png') })
      await page.setViewportSize({ width: 768, height: 1024 })
      await page.goto(`/articles/${articleId}`)
      await page.getByTestId('editor').getByText('十二万吨').waitFor()
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      check(overflow <= 0, `page scrolls sideways by ${overflow}px at 768px`)
      await page.screenshot({ path: join(artifacts, '09-tablet-editor.png') })
      await page.setViewportSize({ width: 1280, height: 860 })
      await cspClean(page, 'reporter pages')
    })

    await step('admin screens', async () => {
      const a = await newPage(browser, server.url)
      await login(a.page, 'admin', server.adminPassword)
      for (const [path, shot] of [['/admin/outlets', '10-admin-outlets'], ['/admin/users', '11-admin-users'], ['/admin/tokens', '12-admin-tokens'], ['/admin/instance', '13-admin-instance']]) {
        await a.page.goto(path)
        await a.page.locator('.page-head h1').waitFor()
        await a.page.waitForLoadState('networkidle')
        await a.page.screenshot({ path: join(artifacts, `${shot}.png`) })
      }
      await a.page.getByTestId('instance-info').waitFor()
      await a.page.getByTestId('index-status').waitFor()
      // The chain editor: the default 三审 chain of the TV outlet, saved as a new version.
      await a.page.goto('/admin/chains')
      await a.page.getByTestId('chains').getByText('初审 → 复审 → 终审').first().waitFor()
      await a.page.getByTestId('chain-edit-normal').click()
      check((await a.page.getByTestId('chain-level').count()) === 3, 'the default chain does not show three levels')
      await a.page.screenshot({ path: join(artifacts, '14-admin-chain-editor.png') })
      const saved = a.page.waitForResponse((r) => r.request().method() === 'PUT' && /\/chains\/\d+$/.test(r.url()))
      await a.page.getByTestId('chain-save').click()
      check((await saved).ok(), 'saving the chain failed')
      // A user's audit trail: what the reporter did, including proposing the topic.
      await a.page.goto('/admin/users')
      await a.page.getByTestId('user-audit-reporter-a').click()
      await a.page.getByTestId('audit-trail').getByText('春运首日客流观察').first().waitFor()
      await a.page.screenshot({ path: join(artifacts, '15-user-audit.png') })
      await cspClean(a.page, 'admin pages')
      await a.ctx.close()
    })

    await step('word lists: import with a preview; the editor highlights and proofreads; a blocked term needs an override', async () => {
      const a = await newPage(browser, server.url)
      await login(a.page, 'admin', server.adminPassword)
      await a.page.goto('/admin/lexicons')
      await a.page.getByTestId('lexicon-table').getByText('常见易错词').waitFor()
      await a.page.getByTestId('lexicon-create').click()
      await a.page.getByTestId('lexicon-name').fill('测试违禁词')
      const created = a.page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/v1/lexicons'))
      await a.page.getByTestId('lexicon-save').click()
      const list = await (await created).json()
      await a.page.getByTestId(`lexicon-import-${list.id}`).click()
      await a.page.getByTestId('import-file').setInputFiles({ name: 'words.txt', mimeType: 'text/plain', buffer: Buffer.from('博彩网站\tblock\n法*轮\n', 'utf8') })
      await a.page.getByTestId('import-preview').click()
      await a.page.getByTestId('import-rejected').filter({ hasText: '1' }).waitFor()
      await a.page.screenshot({ path: join(artifacts, '16-lexicon-import.png') })
      const imported = a.page.waitForResponse((r) => r.request().method() === 'POST' && /\/import\?/.test(r.url()) && !r.url().includes('dry_run'))
      await a.page.getByTestId('import-apply').click()
      check((await imported).ok(), 'the import failed')
      await a.ctx.close()
      // The reporter writes: the blocked term and a doubled particle are marked as they type.
      await page.getByTestId('nav-new').click()
      await page.waitForURL(/\/articles\/new/)
      await page.getByTestId('title').fill('网络赌博调查')
      await page.getByTestId('editor').click()
      await savedAfter(page, () => page.keyboard.type('有人搭建博彩网站，这是我的的教训。'))
      await page.waitForURL(/\/articles\/\d+$/)
      const panel = page.getByTestId('screening-panel')
      await panel.getByTestId('screening-finding').filter({ hasText: '博彩网站' }).waitFor()
      await page.getByTestId('editor').locator('.rm-mark-block').filter({ hasText: '博彩网站' }).waitFor()
      const doubled = panel.getByTestId('proof-suggestion').filter({ hasText: '的的' })
      await doubled.waitFor()
      await page.screenshot({ path: join(artifacts, '17-editor-screening.png') })
      await savedAfter(page, () => doubled.getByTestId('proof-accept').click())
      await page.getByTestId('editor').getByText('这是我的教训').waitFor()
      // A wrong character is suggested; ignoring it is kept with the article (after a reload too).
      await page.keyboard.press('End')
      await savedAfter(page, () => page.keyboard.type('我们去的地放很远。'))
      const spelled = panel.getByTestId('proof-suggestion').filter({ hasText: '放' })
      await spelled.waitFor()
      const kept = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/screening/ignored'))
      await spelled.getByTestId('proof-ignore').click()
      check((await kept).ok(), 'ignoring a suggestion failed')
      await page.reload()
      await panel.getByTestId('proof-ignored').waitFor()
      check(await panel.getByTestId('proof-suggestion').filter({ hasText: '放' }).count() === 0, 'an ignored suggestion came back after a reload')
      // Submitting stops on the blocked term and says what an override needs.
      await page.getByTestId('review-submit').click()
      await page.getByTestId('review-confirm').click()
      await page.getByTestId('screening-blocked').getByText('博彩网站').first().waitFor()
      await page.screenshot({ path: join(artifacts, '18-screening-blocked.png') })
      await page.keyboard.press('Escape')
      await cspClean(page, 'screening')
    })

    await step('disaster-recovery replica: paired from the admin page, it follows and shows its banner, read-only', async () => {
      const a = await newPage(browser, server.url)
      await login(a.page, 'admin', server.adminPassword)
      await a.page.goto('/admin/federation')
      await a.page.getByTestId('federation-status').waitFor()
      await a.page.getByTestId('pair-name').fill('异地灾备')
      await a.page.getByTestId('pair-create').click()
      const shown = await a.page.getByTestId('pair-token').locator('pre').first().textContent()
      const token = shown.match(/--token (\S+)/)[1]
      await a.page.screenshot({ path: join(artifacts, '19-federation-pairing.png') })
      const replicaDir = mkdtempSync(join(tmpdir(), 'rongmei-e2e-replica-'))
      rmSync(replicaDir, { recursive: true, force: true })
      const joined = execFileSync(bin, ['replica', 'join', server.url, '--token', token, '--data-dir', replicaDir], { env: { ...process.env, RONGMEI_LOG: 'warn' } }).toString()
      check(joined.includes('joined instance'), `join failed: ${joined}`)
      const replica = await startServer(bin, { dataDir: replicaDir })
      try {
        const r = await newPage(browser, replica.url)
        await login(r.page, 'admin', server.adminPassword)
        const banner = r.page.getByTestId('replica-banner')
        await banner.getByText('同步中').waitFor()
        await r.page.getByTestId('nav-articles').click()
        await r.page.getByText('全县秋粮收购进度过半').first().waitFor()
        await r.page.screenshot({ path: join(artifacts, '20-replica-banner.png') })
        await cspClean(r.page, 'replica')
        await r.ctx.close()
        await a.page.reload()
        await a.page.getByTestId('peer-table').getByText('异地灾备').waitFor()
      } finally {
        await replica.stop()
      }
      await a.ctx.close()
    })

    await step('provincial hub: a county enrolled from the hub\'s page joins and ships; an instruction and a provincial review go round trip', async () => {
      await provincialHub({ bin, browser, artifacts, newPage, login, check, reloadUntil, cspClean })
    })

    await step('a 20,000-character article opens and stays responsive', async () => {
      const texts = readFileSync(corpus, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).body ?? '')
      let body = ''
      let chars = 0
      for (const t of texts) {
        if (chars >= 20000) break
        const paras = t.split('\n').map((p) => p.replace(/[<&>]/g, '').trim()).filter(Boolean)
        body += paras.map((p) => `<p>${p}</p>`).join('')
        chars += paras.reduce((n, p) => n + Array.from(p).length, 0)
      }
      const big = await new Api(server.url)
      await big.login('reporter-a', PW)
      const art = await big.call('POST', '/api/v1/articles', { outlet: 'tv', title: '长文测试', body })
      const t0 = performance.now()
      await page.goto(`/articles/${art.id}`)
      await page.getByTestId('counts').filter({ hasText: /\d{5} 字/ }).waitFor()
      figures.open20kMs = Math.round(performance.now() - t0)
      await page.getByTestId('editor').locator('p').last().click()
      await page.keyboard.press('End')
      const t1 = performance.now()
      await savedAfter(page, async () => {
        await page.keyboard.type('测试输入响应速度十个字')
        await page.getByTestId('editor').getByText('测试输入响应速度十个字').waitFor()
        figures.type10CharsMs = Math.round(performance.now() - t1)
      })
      figures.chars20k = Array.from(body.replace(/<[^>]+>/g, '')).length
    })
    await step('repeated wrong passwords get the rate-limit message (last: it locks this address)', async () => {
      const { page: p } = await newPage(browser, server.url)
      await p.goto('/login')
      const error = p.getByTestId('login-error')
      for (let i = 0; i < 40; i++) {
        await p.getByTestId('login-username').fill('reporter-a')
        await p.getByTestId('login-password').fill(`wrong-${i}`)
        await p.getByTestId('login-submit').click()
        await error.waitFor()
        if (/登录失败次数过多/.test(await error.innerText())) break
        await p.waitForFunction(() => !document.querySelector('[data-testid="login-submit"]')?.classList.contains('is-loading'))
      }
      const text = await error.innerText()
      check(/登录失败次数过多，请 \d+ 秒后再试/.test(text), `no rate-limit message, last message: ${text}`)
      check(await p.getByTestId('login-submit').isDisabled(), 'the sign-in button stays enabled while locked out')
      await p.screenshot({ path: join(artifacts, '14-login-rate-limited.png') })
    })
    await ctx.close()
  } finally {
    await browser.close()
    await server.stop()
  }
  console.log(`figures: ${JSON.stringify(figures)}`)
  console.log(`${results.filter((r) => r.ok).length} browser tests passed; screenshots in ${artifacts}`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
