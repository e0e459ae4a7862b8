import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// The API lives under /api/v1 on the same origin in production. During `npm run dev`
// requests are proxied to the backend (override with ORBIT_API_URL).
const apiTarget = process.env.ORBIT_API_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
  },
  server: {
    proxy: {
      '/api': { target: apiTarget, changeOrigin: true },
    },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
