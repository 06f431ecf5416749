// What the README shows for esbuild: the binary imported with `--loader:.wasm=file` and handed
// to initWasm before the first store opens.
import { initWasm, openStore } from 'annals';
import wasm from 'annals/annals_bg.wasm';
import { run } from './app.js';

run(async (options) => {
  await initWasm(wasm);
  return openStore(options);
});
