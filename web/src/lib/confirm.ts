// Confirmation and prompt boxes with buttons in the current language (a message box opened from
// code does not see the <el-config-provider> locale).
import { ElMessageBox } from 'element-plus'
import { i18n } from '../i18n'

const buttons = () => ({
  confirmButtonText: i18n.global.t('common.confirm'),
  cancelButtonText: i18n.global.t('common.cancel'),
})

/** Resolves true when confirmed, false when cancelled or closed. */
export async function confirmBox(message: string, title: string): Promise<boolean> {
  try {
    await ElMessageBox.confirm(message, title, { type: 'warning', ...buttons() })
    return true
  } catch {
    return false
  }
}

/** The entered text, or null when cancelled. */
export async function promptBox(message: string, title: string, value: string): Promise<string | null> {
  try {
    const r = await ElMessageBox.prompt(message, title, { inputValue: value, ...buttons() })
    return r.value ?? ''
  } catch {
    return null
  }
}

/** A required reason (revoking, withdrawing, calling off): the trimmed text, or null when
 *  cancelled. */
export async function reasonBox(message: string, title: string, placeholder = ''): Promise<string | null> {
  try {
    const r = await ElMessageBox.prompt(message, title, {
      inputPlaceholder: placeholder,
      inputValidator: (v: string) => !!v?.trim(),
      inputErrorMessage: i18n.global.t('common.required'),
      type: 'warning',
      ...buttons(),
    })
    return r.value.trim()
  } catch {
    return null
  }
}
