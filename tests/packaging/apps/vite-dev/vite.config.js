// Vite 5–7 dev servers: keep annals out of dependency pre-bundling, so it stays beside its wasm.
export default {
  optimizeDeps: { exclude: ['annals'] },
};
