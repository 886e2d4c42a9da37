// Two pages (the map and its embeddable form) bundled with MapLibre into dist/, served by
// `ideo serve` under /map/: no CDN, the page works offline.
import { defineConfig } from 'vite';
import { resolve } from 'node:path';

export default defineConfig({
  base: '/map/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500, // MapLibre alone is about 1 MB minified
    rollupOptions: {
      input: {
        index: resolve(import.meta.dirname, 'index.html'),
        embed: resolve(import.meta.dirname, 'embed.html'),
      },
    },
  },
});
