// Clean HTML pasted from Word or WPS before the editor parses it. The editor's schema already drops
// unknown tags and attributes; this removes what the schema would otherwise turn into text or junk:
// conditional comments, Office XML, list bullets Word fakes with spans, empty Office paragraphs,
// and every style and class. The server sanitizes again (ammonia) whatever the browser sends.

const DROP = 'style, meta, link, title, xml, script, o\\:p, w\\:sdt, v\\:shapetype, v\\:shape'

export function isOfficeHtml(html: string): boolean {
  return /urn:schemas-microsoft-com:office|class="?Mso|mso-|<o:p>|<!--\[if|xmlns:w=|WPS|Kingsoft/i.test(html)
}

export function cleanPastedHtml(html: string): string {
  // Conditional comments wrap Word's fake list bullets and VML images: drop them with their content.
  let s = html.replace(/<!--\[if[\s\S]*?<!\[endif\]-->/gi, '')
  s = s.replace(/<!\[if !supportLists\]>[\s\S]*?<!\[endif\]>/gi, '')
  s = s.replace(/<!--[\s\S]*?-->/g, '')
  const doc = new DOMParser().parseFromString(s, 'text/html')
  doc.querySelectorAll(DROP).forEach((el) => el.remove())
  // Word list paragraphs: <p class=MsoListParagraph...> become list items of one list.
  convertWordLists(doc)
  doc.body.querySelectorAll('*').forEach((el) => {
    for (const a of Array.from(el.attributes)) {
      const keep = (el.tagName === 'A' && a.name === 'href') || ((el.tagName === 'TD' || el.tagName === 'TH') && /^(colspan|rowspan)$/.test(a.name))
      if (!keep) el.removeAttribute(a.name)
    }
  })
  // Images from the clipboard point at the author's disk (file://) and cannot be fetched: drop them.
  doc.body.querySelectorAll('img').forEach((img) => img.remove())
  // Unwrap spans and fonts (formatting is carried by b/i/strong/em only).
  doc.body.querySelectorAll('span, font').forEach((el) => el.replaceWith(...Array.from(el.childNodes)))
  // Empty paragraphs Office uses for spacing.
  doc.body.querySelectorAll('p').forEach((p) => {
    if (!p.textContent?.replace(/[\s\u00a0\u3000]/g, '') && !p.querySelector('img, video, br')) p.remove()
  })
  return doc.body.innerHTML.trim()
}

function convertWordLists(doc: Document) {
  const items = Array.from(doc.querySelectorAll('p')).filter(
    (p) => /MsoListParagraph/i.test(p.className) || /mso-list:/i.test(p.getAttribute('style') ?? ''),
  )
  let list: HTMLElement | null = null
  for (const p of items) {
    const ordered = /^\s*[\d一二三四五六七八九十]+[.、)．]/.test(p.textContent ?? '')
    // Consecutive list paragraphs form one list; anything in between starts a new one.
    if (!list || p.previousElementSibling !== list) {
      list = doc.createElement(ordered ? 'ol' : 'ul')
      p.before(list)
    }
    const li = doc.createElement('li')
    li.innerHTML = p.innerHTML.replace(/^\s*(?:[·•§\u00b7\u2022\uf0b7]|[\d一二三四五六七八九十]+[.、)．])\s*/, '')
    list.append(li)
    p.remove()
  }
}
