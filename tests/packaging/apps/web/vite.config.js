// Vite 5, 6 and 7 dev servers: pre-bundling would move annals away from its wasm (Vite 8 and
// every `vite build` need no configuration).
export default {
  optimizeDeps: { exclude: ['annals'] },
};
