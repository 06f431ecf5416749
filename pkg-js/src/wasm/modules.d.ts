// The binary, imported as a compiled module by the workerd and edge-light entries (wrangler
// and Vercel's bundlers make it one). For type-checking this package's sources only.
declare module '*.wasm' {
  const compiled: WebAssembly.Module;
  export default compiled;
}
declare module '*.wasm?module' {
  const compiled: WebAssembly.Module;
  export default compiled;
}
