// An image or video from the asset library with an editable caption:
// <figure><img|video src="/api/v1/assets/ID/content" data-asset-id="ID"><figcaption>…</figcaption></figure>
import { Node, mergeAttributes } from '@tiptap/core'

export interface FigureAttrs {
  src: string
  kind: 'image' | 'video'
  assetId: number | null
  alt: string
  caption?: string
}

declare module '@tiptap/core' {
  interface Commands<ReturnType> {
    figure: { insertFigure: (attrs: FigureAttrs) => ReturnType }
  }
}

function mediaOf(el: HTMLElement): HTMLElement | null {
  return el.querySelector('img, video')
}

export const Figure = Node.create({
  name: 'figure',
  group: 'block',
  content: 'inline*',
  draggable: true,
  isolating: true,
  addAttributes() {
    return {
      src: { default: '', parseHTML: (el) => mediaOf(el as HTMLElement)?.getAttribute('src') ?? '' },
      kind: { default: 'image', parseHTML: (el) => (mediaOf(el as HTMLElement)?.tagName === 'VIDEO' ? 'video' : 'image') },
      assetId: {
        default: null,
        parseHTML: (el) => {
          const v = mediaOf(el as HTMLElement)?.getAttribute('data-asset-id')
          return v ? Number(v) : null
        },
      },
      alt: { default: '', parseHTML: (el) => mediaOf(el as HTMLElement)?.getAttribute('alt') ?? '' },
    }
  },
  parseHTML() {
    return [{ tag: 'figure', contentElement: 'figcaption', getAttrs: (el) => (mediaOf(el as HTMLElement) ? null : false) }]
  },
  renderHTML({ node }) {
    const a = node.attrs as FigureAttrs
    const common: Record<string, string> = { src: a.src }
    if (a.assetId !== null) common['data-asset-id'] = String(a.assetId)
    const media = a.kind === 'video' ? ['video', mergeAttributes(common, { controls: 'controls' })] : ['img', mergeAttributes(common, { alt: a.alt })]
    return ['figure', {}, media, ['figcaption', 0]]
  },
  addCommands() {
    return {
      insertFigure:
        (attrs) =>
        ({ commands }) =>
          commands.insertContent({
            type: this.name,
            attrs: { src: attrs.src, kind: attrs.kind, assetId: attrs.assetId, alt: attrs.alt },
            content: attrs.caption ? [{ type: 'text', text: attrs.caption }] : [],
          }),
    }
  },
})
