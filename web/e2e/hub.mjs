// The provincial hub in the browser, with a county on loopback: enrollment from the hub's page,
// the county's connection page, an instruction (with a file) and a provincial review round trip,
// the shared pool (share, withdraw) and the hub's search over its counties. Split from run.mjs;
// `ctx` carries its helpers.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { startServer, Api } from './server.mjs'

export async function provincialHub(ctx) {
  const { bin, browser, artifacts, newPage, login, check, reloadUntil, cspClean } = ctx
  const hub = await startServer(bin, { env: { RONGMEI_FEDERATION_ROLE: 'hub', RONGMEI_FEDERATION_LISTEN: '127.0.0.1:0' } })
  let county = await startServer(bin)
  const countyPassword = county.adminPassword
  try {
    const h = await newPage(browser, hub.url)
    await login(h.page, 'admin', hub.adminPassword)
    await h.page.goto('/admin/federation')
    await h.page.getByTestId('federation-status').getByText('省级平台').waitFor()
    await h.page.getByTestId('county-name').fill('安吉县融媒体中心')
    await h.page.getByTestId('county-region').fill('330523')
    await h.page.getByTestId('county-create').click()
    const shown = await h.page.getByTestId('county-token').locator('pre').first().textContent()
    const token = shown.match(/--token (\S+)/)[1]
    // Joined while the county runs (it asks the server for its instance id), shipping from its restart.
    const joined = execFileSync(bin, ['join', hub.url, '--token', token, '--data-dir', county.dataDir], { env: { ...process.env, RONGMEI_LOG: 'warn' } }).toString()
    check(joined.includes('joined hub'), `join failed: ${joined}`)
    const dir = county.dataDir
    await county.stop({ keep: true })
    county = await startServer(bin, { dataDir: dir })
    const c = await newPage(browser, county.url)
    await login(c.page, 'admin', countyPassword)
    await c.page.goto('/admin/federation')
    await c.page.getByTestId('hub-connection').getByTestId('hub-state').filter({ hasText: '已同步' }).waitFor()
    await c.page.screenshot({ path: join(artifacts, '21-county-hub-connection.png') })
    await cspClean(c.page, 'county federation')
    await c.ctx.close()
    await h.page.reload()
    const row = h.page.getByTestId('county-table').locator('tr', { hasText: '安吉县融媒体中心' })
    await row.getByText('330523').waitFor()
    await row.getByText('正常').waitFor()
    await h.page.screenshot({ path: join(artifacts, '22-hub-counties.png') })
    await cspClean(h.page, 'hub federation')

    // A reporting instruction round trip: issued at the hub, acknowledged and answered with
    // a published article at the county, the answer shown back at the hub.
    const capi = new Api(county.url)
    await capi.login('admin', countyPassword)
    const admin = (await capi.call('GET', '/api/v1/users')).find((u) => u.username === 'admin')
    const tv = await capi.call('POST', '/api/v1/outlets', { slug: 'tv', name: '安吉县电视台', kind: 'tv' })
    await capi.call('POST', '/api/v1/outlets/tv/chains', {
      slug: 'quick', name: '快审', levels: [{ name: '值班审核', kind: 'review', site: { type: 'outlet', outlet: tv.id }, roles: [], users: [admin.id],
        allow_self: true, quorum: { type: 'any' }, deadline_hours: null, send_back: { type: 'author' } }],
    })
    const story = await capi.call('POST', '/api/v1/articles', { outlet: 'tv', title: '安吉县全力做好防汛工作' })
    await capi.call('POST', `/api/v1/articles/${story.id}/submit`, { revision: 1, chain: 'quick' })
    await capi.call('POST', `/api/v1/articles/${story.id}/approve`, { revision: 1, level: 0 })
    await capi.call('POST', `/api/v1/articles/${story.id}/publish`, { revision: 1 })

    await h.page.getByTestId('nav-instructions').click()
    await h.page.getByTestId('ins-title').fill('防汛防台专题报道')
    await h.page.getByTestId('ins-brief').fill('各县级融媒体中心做好汛期报道，及时反馈稿件。')
    const deadline = h.page.getByTestId('ins-deadline').locator('input')
    await deadline.fill('2099-06-30 18:00:00')
    await deadline.press('Enter')
    // A notice in PDF goes with it; the county fetches it from the hub.
    const notice = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n')
    await h.page.getByTestId('ins-file-input').setInputFiles({ name: '防汛报道通知.pdf', mimeType: 'application/pdf', buffer: notice })
    await h.page.getByTestId('ins-file').filter({ hasText: '防汛报道通知.pdf' }).waitFor()
    await h.page.getByTestId('ins-issue').click()
    const issuedRow = h.page.getByTestId('ins-table').locator('tr', { hasText: '防汛防台专题报道' })
    await issuedRow.getByText('全部县级中心').waitFor()

    const c2 = await newPage(browser, county.url)
    await login(c2.page, 'admin', countyPassword)
    await c2.page.getByTestId('nav-instructions').click()
    const card = c2.page.locator('[data-testid^="inbox-"]', { hasText: '防汛防台专题报道' })
    await reloadUntil(c2.page, card)
    await card.getByText('未签收').waitFor()
    const file = card.getByTestId('inbox-file').filter({ hasText: '防汛报道通知.pdf' })
    await reloadUntil(c2.page, file)
    const got = await c2.page.request.get(await file.first().getAttribute('href'))
    check(got.status() === 200 && Buffer.compare(await got.body(), notice) === 0, `the county's copy of the file: ${got.status()}`)
    await card.locator('[data-testid^="ack-"]').click()
    await card.getByText('已签收').waitFor()
    await card.locator('[data-testid^="pick-"] .el-select__wrapper').click()
    await c2.page.locator('.el-select-dropdown__item', { hasText: '安吉县全力做好防汛工作' }).click()
    await card.locator('[data-testid^="answer-"]').click()
    await card.getByRole('link', { name: '安吉县全力做好防汛工作' }).waitFor()
    await c2.page.screenshot({ path: join(artifacts, '23-county-instruction-inbox.png') })
    await cspClean(c2.page, 'county instructions')
    await c2.ctx.close()

    await reloadUntil(h.page, issuedRow.locator('[data-testid^="ins-answered-"]', { hasText: '1/1' }))
    await issuedRow.click()
    const detail = h.page.getByTestId('ins-detail')
    await detail.getByText('安吉县全力做好防汛工作').waitFor()
    await detail.getByText('安吉县融媒体中心').waitFor()
    await h.page.waitForTimeout(400) // the drawer's slide-in
    await h.page.screenshot({ path: join(artifacts, '24-hub-instruction-progress.png') })
    await cspClean(h.page, 'hub instructions')
    // Done with it: the hub calls it off, with a reason the counties see.
    await h.page.getByTestId('ins-cancel').click()
    await h.page.locator('.el-message-box__input input').fill('专题报道已结束')
    await h.page.locator('.el-message-box__btns .el-button--primary').click()
    await h.page.getByText('已撤销：专题报道已结束').first().waitFor()
    await h.page.keyboard.press('Escape')

    // A provincial review round trip: the county's chain sends an article up after its own
    // level; the hub's reviewer reads and approves it; the county's article is approved.
    await capi.call('POST', '/api/v1/outlets/tv/chains', {
      slug: 'prov', name: '送省级审核', levels: [
        { name: '值班审核', kind: 'review', site: { type: 'outlet', outlet: tv.id }, roles: [], users: [admin.id], allow_self: true, quorum: { type: 'any' }, deadline_hours: null, send_back: { type: 'author' } },
        { name: '省级审核', kind: 'review', site: { type: 'province' }, roles: [], users: [], allow_self: false, quorum: { type: 'any' }, deadline_hours: 48, send_back: { type: 'author' } },
      ],
    })
    const up = await capi.call('POST', '/api/v1/articles', { outlet: 'tv', title: '安吉县重大项目集中开工', body: '<p>今天上午，全县十个重大项目集中开工。</p>' })
    await capi.call('POST', `/api/v1/articles/${up.id}/submit`, { revision: up.revision, chain: 'prov' })
    await capi.call('POST', `/api/v1/articles/${up.id}/approve`, { revision: up.revision, level: 0 })
    await h.page.getByTestId('nav-provincial').click()
    const request = h.page.getByTestId('provincial-table').locator('tr', { hasText: '安吉县重大项目集中开工' })
    await reloadUntil(h.page, request)
    await request.getByText('安吉县融媒体中心').waitFor()
    await request.click()
    const drawer = h.page.getByTestId('provincial-drawer')
    await drawer.getByText('全县十个重大项目集中开工').waitFor()
    await h.page.getByTestId('provincial-comment').fill('同意刊发')
    await h.page.waitForTimeout(300) // the drawer's slide-in
    await h.page.screenshot({ path: join(artifacts, '25-hub-provincial-review.png') })
    await h.page.getByTestId('provincial-approve').click()
    await request.waitFor({ state: 'detached' })
    await cspClean(h.page, 'hub provincial review')

    // The shared pool at the hub: share the county's published article.
    await h.page.getByTestId('nav-shared').click()
    await h.page.getByTestId('share-county').locator('.el-select__wrapper').click()
    await h.page.locator('.el-select-dropdown__item', { hasText: '安吉县融媒体中心' }).click()
    await h.page.getByTestId('share-article').locator('.el-select__wrapper').click()
    await h.page.locator('.el-select-dropdown__item', { hasText: '安吉县全力做好防汛工作' }).click()
    await h.page.getByTestId('share-submit').click()
    await h.page.getByTestId('shared-table').locator('tr', { hasText: '安吉县全力做好防汛工作' }).waitFor()
    await h.page.screenshot({ path: join(artifacts, '27-hub-shared-pool.png') })
    await cspClean(h.page, 'hub shared pool')
    // Shared by mistake: the hub takes it back with a reason.
    await h.page.getByTestId('shared-table').locator('tr', { hasText: '安吉县全力做好防汛工作' }).click()
    await h.page.getByTestId('shared-withdraw').click()
    await h.page.locator('.el-message-box__input input').fill('与省台稿件重复')
    await h.page.locator('.el-message-box__btns .el-button--primary').click()
    await h.page.getByTestId('shared-table').locator('[data-testid^="withdrawn-"]').waitFor()

    // The hub's search over its counties: the county's published article, with its county.
    await h.page.getByTestId('nav-search').click()
    await h.page.getByTestId('search-scope-counties').click()
    await h.page.getByTestId('search-input').fill('防汛')
    await h.page.getByTestId('search-input').press('Enter')
    const hit = h.page.getByTestId('search-hit').filter({ hasText: '安吉县全力做好防汛工作' })
    await reloadUntil(h.page, hit)
    await hit.getByTestId('hit-county').filter({ hasText: '安吉县融媒体中心' }).waitFor()
    await h.page.getByTestId('facet-county').filter({ hasText: '安吉县融媒体中心' }).waitFor()
    await hit.locator('.hit-title').click()
    await h.page.getByTestId('county-article').getByText('县级稿件（只读）').waitFor()
    await h.page.waitForTimeout(300) // the drawer's slide-in
    await h.page.screenshot({ path: join(artifacts, '28-hub-county-search.png') })
    await cspClean(h.page, 'hub county search')
    await h.ctx.close()

    const c3 = await newPage(browser, county.url)
    await login(c3.page, 'admin', countyPassword)
    await c3.page.goto(`/articles/${up.id}`)
    await reloadUntil(c3.page, c3.page.getByTestId('article-status').filter({ hasText: '已审核' }))
    await c3.page.screenshot({ path: join(artifacts, '26-county-after-provincial-review.png') })
    await c3.ctx.close()
  } finally {
    await county.stop()
    await hub.stop()
  }
}
