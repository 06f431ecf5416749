/**
 * The wasm binary of annals, in the form your bundler or runtime gives a `.wasm` import: a
 * compiled `WebAssembly.Module` (wrangler; Vercel's `?module`), its bytes (esbuild's `binary`
 * loader) or its URL or path (esbuild's `file` loader, Bun). Pass it to `initWasm` before
 * opening a store.
 */
declare const wasm: WebAssembly.Module | Uint8Array | string;
export default wasm;
