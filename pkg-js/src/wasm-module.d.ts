// For type-checking the edge-light entry only: Vercel's bundlers turn a `.wasm?module` import
// into a compiled module. Not emitted.
declare module '*.wasm?module' {
  const compiled: WebAssembly.Module;
  export default compiled;
}
