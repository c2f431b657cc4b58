import { createI18n } from 'vue-i18n'
import zhCN from './zh-CN'
import en from './en'
import { ApiError } from '../api/client'

export type Locale = 'zh-CN' | 'en'
const KEY = 'rongmei.locale'

export function initialLocale(): Locale {
  const saved = typeof localStorage !== 'undefined' ? localStorage.getItem(KEY) : null
  return saved === 'en' ? 'en' : 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
})

export function setLocale(l: Locale) {
  i18n.global.locale.value = l
  localStorage.setItem(KEY, l)
  document.documentElement.lang = l
}

/** A user-facing message for any error, in the current language; server codes map to our own text. */
export function errorMessage(e: unknown): string {
  const t = i18n.global.t
  if (e instanceof ApiError) {
    const key = `errors.${e.code}`
    if (e.code.endsWith('_exists')) return t('errors.already_exists')
    if (i18n.global.te(key)) return t(key, { message: e.message })
    return t('errors.unknown', { message: e.message })
  }
  return t('errors.unknown', { message: String((e as Error)?.message ?? e) })
}
