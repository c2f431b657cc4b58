import { createRouter, createWebHistory } from 'vue-router'
import { api } from './api/client'
import { session, restore, clear } from './session'

// Every screen but login is its own chunk: the login page loads only the shell's code.
export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
    {
      path: '/',
      component: () => import('./layouts/AppShell.vue'),
      children: [
        { path: '', redirect: { name: 'articles' } },
        { path: 'search', name: 'search', component: () => import('./views/SearchView.vue') },
        { path: 'articles', name: 'articles', component: () => import('./views/ArticleListView.vue') },
        { path: 'articles/new', name: 'article-new', component: () => import('./views/ArticleEditView.vue') },
        { path: 'articles/:id', name: 'article-edit', component: () => import('./views/ArticleEditView.vue'), props: true },
        { path: 'articles/:id/history', name: 'article-history', component: () => import('./views/HistoryView.vue'), props: true },
        { path: 'planning', name: 'planning', component: () => import('./views/PlanningView.vue') },
        { path: 'reviews', name: 'reviews', component: () => import('./views/MyReviewsView.vue') },
        { path: 'provincial-reviews', name: 'provincial-reviews', component: () => import('./views/ProvincialReviewsView.vue') },
        { path: 'shared', name: 'shared', component: () => import('./views/SharedView.vue') },
        { path: 'instructions', name: 'instructions', component: () => import('./views/InstructionsView.vue') },
        { path: 'assets', name: 'assets', component: () => import('./views/AssetsView.vue') },
        { path: 'admin/outlets', name: 'admin-outlets', component: () => import('./views/admin/OutletsView.vue'), meta: { admin: true } },
        { path: 'admin/users', name: 'admin-users', component: () => import('./views/admin/UsersView.vue'), meta: { admin: true } },
        { path: 'admin/users/:id/audit', name: 'user-audit', component: () => import('./views/admin/UserAuditView.vue'), props: true },
        { path: 'admin/chains', name: 'admin-chains', component: () => import('./views/admin/ChainsView.vue') },
        { path: 'admin/lexicons', name: 'admin-lexicons', component: () => import('./views/admin/LexiconsView.vue') },
        { path: 'admin/tokens', name: 'admin-tokens', component: () => import('./views/admin/TokensView.vue') },
        { path: 'admin/federation', name: 'admin-federation', component: () => import('./views/admin/FederationView.vue'), meta: { admin: true } },
        { path: 'admin/instance', name: 'admin-instance', component: () => import('./views/admin/InstanceView.vue'), meta: { admin: true } },
        { path: ':rest(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue') },
      ],
    },
  ],
})

router.beforeEach(async (to) => {
  if (!session.loaded) {
    try {
      await restore()
    } catch {
      // Server unreachable: let the login page show the error when the user tries.
    }
  }
  if (to.meta.public) return session.user && to.name === 'login' ? { name: 'articles' } : true
  if (!session.user) return { name: 'login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  if (to.meta.admin && !session.user.instance_admin) return { name: 'articles' }
  return true
})

api.onSessionLost(() => {
  clear()
  const here = router.currentRoute.value
  if (!here.meta.public) router.replace({ name: 'login', query: { next: here.fullPath, expired: '1' } })
})
