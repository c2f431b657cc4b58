import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import Highlighted from '../../src/components/Highlighted.vue'

describe('Highlighted', () => {
  it('marks hits and renders article text as text, never as markup', () => {
    const w = mount(Highlighted, {
      props: {
        segments: [
          { text: '<img src=x onerror=alert(1)>', hit: false },
          { text: '经济', hit: true },
          { text: '发展', hit: false },
        ],
      },
    })
    expect(w.findAll('mark').map((m) => m.text())).toEqual(['经济'])
    expect(w.find('img').exists()).toBe(false)
    expect(w.text()).toBe('<img src=x onerror=alert(1)>经济发展')
  })
})
