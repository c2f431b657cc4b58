import { describe, expect, it } from 'vitest'
import { mount, flushPromises } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import RichEditor from '../../src/components/RichEditor.vue'
import { i18n } from '../../src/i18n'
import { cleanPastedHtml, isOfficeHtml } from '../../src/lib/paste'
import { countText, htmlToText } from '../../src/lib/text'

function mountEditor(html: string) {
  return mount(RichEditor, { props: { modelValue: html }, global: { plugins: [i18n, ElementPlus] }, attachTo: document.body })
}

type Exposed = { editor: import('@tiptap/core').Editor; insertFigure: (a: object) => void }

describe('RichEditor', () => {
  it('loads article HTML with a captioned figure and keeps it on output', async () => {
    const html = '<p>第一段</p><figure><img src="/api/v1/assets/3/content" data-asset-id="3" alt="现场"><figcaption>现场图片</figcaption></figure><table><tbody><tr><th><p>项目</p></th></tr><tr><td><p>秋粮</p></td></tr></tbody></table>'
    const w = mountEditor(html)
    await flushPromises()
    const ed = (w.vm as unknown as Exposed).editor
    const out = ed.getHTML()
    expect(out).toContain('<figure><img src="/api/v1/assets/3/content" data-asset-id="3" alt="现场"><figcaption>现场图片</figcaption></figure>')
    expect(out).toContain('<th')
    expect(out).toContain('秋粮')
    w.unmount()
  })

  it('emits the new HTML when the text changes, and bold comes from the toolbar', async () => {
    const w = mountEditor('<p>县融媒体中心</p>')
    await flushPromises()
    const ed = (w.vm as unknown as Exposed).editor
    ed.commands.selectAll()
    await w.find('[data-testid="tb-bold"]').trigger('click')
    const emitted = w.emitted('update:modelValue') as string[][]
    expect(emitted.at(-1)![0]).toBe('<p><strong>县融媒体中心</strong></p>')
    expect(w.find('[data-testid="tb-bold"]').attributes('aria-pressed')).toBe('true')
    w.unmount()
  })

  it('inserts an asset as a figure with its caption', async () => {
    const w = mountEditor('<p>正文</p>')
    await flushPromises()
    const vm = w.vm as unknown as Exposed
    vm.editor.commands.focus('end')
    vm.insertFigure({ src: '/api/v1/assets/9/content', kind: 'video', assetId: 9, alt: 'v.mp4', caption: '视频说明' })
    expect(vm.editor.getHTML()).toContain('<figure><video src="/api/v1/assets/9/content" data-asset-id="9" controls="controls"></video><figcaption>视频说明</figcaption></figure>')
    w.unmount()
  })

  it('replaces the document when the parent loads another version', async () => {
    const w = mountEditor('<p>旧</p>')
    await flushPromises()
    await w.setProps({ modelValue: '<p>新版本</p>' })
    expect((w.vm as unknown as Exposed).editor.getHTML()).toBe('<p>新版本</p>')
    w.unmount()
  })
})

describe('paste from Word / WPS', () => {
  const word = `<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><style>p.MsoNormal{margin:0}</style></head><body>
<!--[if gte mso 9]><xml><w:WordDocument></w:WordDocument></xml><![endif]-->
<p class="MsoNormal" style="text-indent:2em"><span style="font-family:宋体;mso-bidi-font-family:SimSun">本报讯<o:p></o:p></span></p>
<p class="MsoListParagraph" style="mso-list:l0 level1 lfo1"><![if !supportLists]><span>·<span>&nbsp;&nbsp;</span></span><![endif]><span>第一条</span></p>
<p class="MsoListParagraph" style="mso-list:l0 level1 lfo1"><![if !supportLists]><span>·<span>&nbsp;&nbsp;</span></span><![endif]><span>第二条</span></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<p class="MsoNormal"><b><span style="color:red">重要</span></b><img src="file:///C:/Users/a/image001.png"></p>
</body></html>`

  it('recognizes Office HTML', () => {
    expect(isOfficeHtml(word)).toBe(true)
    expect(isOfficeHtml('<p>plain</p>')).toBe(false)
  })

  it('drops styles, Office tags, fake bullets, empty paragraphs and local images', () => {
    const out = cleanPastedHtml(word)
    expect(out).not.toMatch(/style=|class=|<o:p|<span|mso|file:|<img|<xml/i)
    expect(out).toContain('<p>本报讯</p>')
    expect(out).toMatch(/<ul><li>第一条<\/li><li>第二条<\/li><\/ul>/)
    expect(out).toContain('<b>重要</b>')
    expect(out.match(/<p>/g)!.length).toBe(2)
  })
})

describe('counting', () => {
  it('counts Chinese characters and English words as 字数', () => {
    const c = countText('县融媒体中心 launched its new app today。\n第二段 2026')
    expect(c.words).toBe(6 + 5 + 3 + 1)
    expect(c.paragraphs).toBe(2)
  })

  it('renders HTML to one line per block', () => {
    expect(htmlToText('<h2>标题</h2><p>一<strong>二</strong></p><ul><li>甲</li><li>乙</li></ul>')).toBe('标题\n一二\n甲\n乙')
  })
})
