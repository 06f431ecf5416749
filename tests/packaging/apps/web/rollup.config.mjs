import { nodeResolve } from '@rollup/plugin-node-resolve';
import { importMetaAssets } from '@web/rollup-plugin-import-meta-assets';

export default {
  input: 'main.js',
  output: { dir: 'dist', format: 'es' },
  // importMetaAssets copies annals_bg.wasm, which annals finds with new URL(…, import.meta.url).
  plugins: [nodeResolve({ browser: true }), importMetaAssets()],
};
