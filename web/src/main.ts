import { createApp } from 'vue'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import './styles.css'
import App from './App.vue'
import { router } from './router'
import { i18n, initialLocale } from './i18n'

document.documentElement.lang = initialLocale()
createApp(App).use(i18n).use(ElementPlus).use(router).mount('#app')
