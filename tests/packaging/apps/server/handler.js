// A Lambda-style function, bundled into one file with esbuild (--platform=node
// --loader:.wasm=binary) or bun build: the binary travels inside the bundle as bytes.
import * as annals from 'annals';
import wasm from 'annals/annals_bg.wasm';
import { smoke } from './smoke.js';

await annals.initWasm(wasm);

export async function handler() {
  return { statusCode: 200, body: JSON.stringify(await smoke(annals)) };
}
