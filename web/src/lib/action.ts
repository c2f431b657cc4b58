// The one way a screen runs a request on the user's behalf: a failure becomes an error message
// in the current language, and an optional `busy` flag (a button's or table's loading state) is
// on while it runs.
import type { Ref } from 'vue'
import { ElMessage } from 'element-plus'
import { errorMessage } from '../i18n'

/** Resolves true when `fn` succeeded, false when it failed (the user has been told why). */
export async function attempt(fn: () => Promise<unknown>, busy?: Ref<boolean>): Promise<boolean> {
  if (busy) busy.value = true
  try {
    await fn()
    return true
  } catch (e) {
    ElMessage.error(errorMessage(e))
    return false
  } finally {
    if (busy) busy.value = false
  }
}
