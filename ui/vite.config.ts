// Vite for the Tauri shell: a fixed dev port the shell's devUrl names, output in `dist` for the
// bundled app, and a target WebKitGTK understands.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  // The shell's devUrl is http://localhost:1420, which reaches this address.
  server: {
    port: 1420,
    strictPort: true,
    host: '127.0.0.1',
    watch: { ignored: ['**/test-artifacts/**'] },
  },
  build: { target: 'safari15', outDir: 'dist', emptyOutDir: true },
});
