// `import wasm from 'annals/annals_bg.wasm'`: the binary, as your bundler or runtime makes it
// (a URL string with a file loader, bytes with a binary loader, a compiled WebAssembly.Module
// in Cloudflare Workers and Vercel's Edge Runtime). Whichever it is, `initWasm(wasm)` takes it.
import type { WasmSource } from './dist/wasm-load.js';
declare const wasm: WasmSource;
export default wasm;
