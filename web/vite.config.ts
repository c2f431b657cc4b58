import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The built UI is embedded into the release binary (rust-embed), so everything it needs must be
// in `dist/`: no CDN, no third-party origin. Hashed file names under /assets are served `immutable`.
export default defineConfig({
  plugins: [vue()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
  test: {
    environment: 'jsdom',
    include: ['tests/unit/**/*.test.ts'],
  },
} as any)
