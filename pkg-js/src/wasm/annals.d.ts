// For type-checking this package's sources only: wasm-bindgen generates the real module and
// its own declarations into dist/wasm/ at build time. This file is not emitted.
import type { RawStore } from '../raw.js';

export default function init(
  input?: { module_or_path: unknown } | Promise<unknown> | unknown,
): Promise<unknown>;
export function initSync(input: { module: BufferSource | WebAssembly.Module }): unknown;
export function openStore(options?: unknown): Promise<RawStore>;
