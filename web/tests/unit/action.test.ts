import { describe, expect, it, vi } from 'vitest'
import { ref } from 'vue'
import { ElMessage } from 'element-plus'
import { attempt } from '../../src/lib/action'
import { ApiError } from '../../src/api/client'
import { i18n } from '../../src/i18n'

describe('attempt', () => {
  it('holds busy while running and reports success', async () => {
    const busy = ref(false)
    let during = false
    const ok = await attempt(async () => {
      during = busy.value
    }, busy)
    expect([ok, during, busy.value]).toEqual([true, true, false])
  })

  it('turns a failure into a translated message and clears busy', async () => {
    i18n.global.locale.value = 'zh-CN'
    const shown = vi.spyOn(ElMessage, 'error').mockImplementation(() => ({ close() {} }) as never)
    const busy = ref(false)
    const ok = await attempt(async () => {
      throw new ApiError({ status: 403, code: 'forbidden', message: 'no' })
    }, busy)
    expect([ok, busy.value]).toEqual([false, false])
    expect(shown).toHaveBeenCalledWith('您没有权限执行此操作')
    shown.mockRestore()
  })
})
