// For type-checking the workerd entry only: the Workers bundler turns a `.wasm` import into a
// compiled module. Not emitted.
declare const compiled: WebAssembly.Module;
export default compiled;
