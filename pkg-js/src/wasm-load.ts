/**
 * Loading the wasm module, shared by every entry point, and {@link WasmLoadError}: what every
 * entry reports when the binary cannot be found, fetched or instantiated, naming the place it
 * tried, what came back and the likely fix.
 * @module
 */

import init, * as wasm from './wasm/annals.js';
import { AnnalsError, ErrorCode, isAnnalsError } from './errors.js';
import { makeOpenStore } from './store.js';
import type { EventStore, OpenStoreOptions } from './types.js';

/**
 * The wasm binary (`annals/annals_bg.wasm`) in any form a runtime or bundler hands it over:
 * a compiled `WebAssembly.Module` (Cloudflare Workers, Vercel's `?module`), its bytes
 * (esbuild's `binary` loader, `fs.readFile`), a `Response`, or a URL to fetch (a file path or
 * `file:` URL in Node, Deno and Bun), or a promise of one of these.
 */
export type WasmSource = WasmBinary | Promise<WasmBinary>;
type WasmBinary = string | URL | Response | BufferSource | WebAssembly.Module;

/**
 * The wasm module could not be loaded, so no store can be opened. `url` is where annals looked
 * (`undefined` when it could not tell where to look), `contentType` what a server answered
 * with (`undefined` when nothing was fetched), `cause` the underlying failure; the message
 * says the likely fix.
 */
export class WasmLoadError extends AnnalsError {
  override readonly name = 'WasmLoadError' as const;
  constructor(
    message: string,
    /** Where the binary was looked for: a URL or a file path. */
    readonly url: string | undefined,
    /** The `Content-Type` the server answered with, if something was fetched. */
    readonly contentType: string | undefined,
    cause?: unknown,
  ) {
    super(message, ErrorCode.WasmLoad, { cause });
  }
}

/** Whether `e` is a {@link WasmLoadError} (from any copy of the package). */
export function isWasmLoadError(e: unknown): e is WasmLoadError {
  return isAnnalsError(e) && e.name === 'WasmLoadError';
}

/** How an entry point finds its binary. @internal */
export interface WasmLocation {
  /** The binary to use when `initWasm` was not called first (may throw: reported as such). */
  readonly default: () => WasmSource;
  /** Gets the binary a URL or path names: `fetch` on the web, the file system in Node. */
  readonly get: (where: string | URL) => Promise<Response | BufferSource>;
  /** What to do when the default binary cannot be found, in this entry's kind of runtime. */
  readonly fix: string;
}

// What an entry whose binary is imported compiled needs from the platform's bundler.
const COMPILED_BY = {
  workerd:
    'Bundle with wrangler (or give `.wasm` imports the CompiledWasm rule) so that annals_bg.wasm arrives as a WebAssembly.Module.',
  'edge-light':
    "Bundle with Next.js or Vercel's builder, which turn a `.wasm?module` import into a WebAssembly.Module.",
};

/**
 * The entry whose binary is imported, compiled by the platform's bundler: Cloudflare Workers
 * (`workerd`) or Vercel's edge (`edge-light`).
 * @internal
 */
export function importedEntry(compiled: WebAssembly.Module, platform: keyof typeof COMPILED_BY): WasmEntry {
  return wasmEntry({ default: () => compiled, get: (url) => fetch(url), fix: COMPILED_BY[platform] });
}

/** What an entry point exports besides the errors and types. @internal */
export interface WasmEntry {
  initWasm(source?: WasmSource): Promise<void>;
  openStore(options?: OpenStoreOptions): Promise<EventStore>;
}

/**
 * `initWasm` and `openStore` of one entry point over `location`. The module is instantiated
 * once; a failed attempt is forgotten, so a later call may try again.
 * @internal
 */
export function wasmEntry(location: WasmLocation): WasmEntry {
  let ready: Promise<void> | undefined;
  const initWasm = (source?: WasmSource): Promise<void> => {
    ready ??= instantiate(location, source).catch((e: unknown) => {
      ready = undefined;
      throw e;
    });
    return ready;
  };
  const openStore = makeOpenStore(async () => {
    await initWasm();
    return wasm;
  });
  return { initWasm, openStore };
}

// The first bytes of every wasm binary: "\0asm".
const MAGIC = [0x00, 0x61, 0x73, 0x6d];

// By tag, not instanceof: a module or buffer may come from another realm (edge-runtime's
// context is one; so is an iframe).
const tag = (x: unknown): string => Object.prototype.toString.call(x);
const isModule = (x: unknown): x is WebAssembly.Module => tag(x) === '[object WebAssembly.Module]';
const isBytes = (x: unknown): x is BufferSource =>
  ArrayBuffer.isView(x) || tag(x) === '[object ArrayBuffer]' || tag(x) === '[object SharedArrayBuffer]';
const isResponse = (x: unknown): x is Response =>
  typeof x === 'object' && x !== null && typeof (x as Response).arrayBuffer === 'function' && 'headers' in x;

async function instantiate(location: WasmLocation, source: WasmSource | undefined): Promise<void> {
  const tried: Tried = { url: undefined, contentType: undefined, status: undefined };
  try {
    let binary: unknown = await (source ?? beside(location));
    if (typeof binary === 'string' || binary instanceof URL) {
      tried.url = String(binary);
      binary = await location.get(binary);
    }
    if (isResponse(binary)) {
      tried.url ||= binary.url || undefined;
      tried.contentType = binary.headers.get('content-type') ?? undefined;
      tried.status = binary.status;
      if (!binary.ok) throw new Error(`the answer was ${binary.status} ${binary.statusText}`.trim());
      // Streamed compilation needs this type; anything else is read and checked first.
      if (!tried.contentType?.startsWith('application/wasm')) binary = await binary.arrayBuffer();
    }
    if (isBytes(binary)) {
      const head = firstBytes(binary);
      if (!MAGIC.every((b, i) => head[i] === b)) {
        throw new Error(`that is not a wasm binary: it starts with ${JSON.stringify(text(head))}`);
      }
    } else if (!isModule(binary) && !isResponse(binary)) {
      throw new TypeError(`initWasm takes a URL, a Response, bytes or a WebAssembly.Module, not ${tag(binary)}`);
    }
    await init({ module_or_path: binary });
  } catch (e) {
    if (isWasmLoadError(e)) throw e;
    throw new WasmLoadError(explain(location, tried, e), tried.url, tried.contentType, e);
  }
}

/** The default binary; `new URL(…, import.meta.url)` throws where modules have no URL. */
function beside(location: WasmLocation): WasmSource {
  try {
    return location.default();
  } catch (e) {
    throw new Error(
      'it could not tell where the binary is: this module has no URL (import.meta.url is not set: ' +
        'the module was bundled into a script, or the runtime gives modules none)',
      { cause: e },
    );
  }
}

interface Tried {
  url: string | undefined;
  contentType: string | undefined;
  status: number | undefined;
}

function firstBytes(b: BufferSource): Uint8Array {
  const bytes = ArrayBuffer.isView(b)
    ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
    : new Uint8Array(b);
  return bytes.subarray(0, 32);
}

function text(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
}

/** The message: what was tried, what came back, the likely fix. */
function explain(location: WasmLocation, tried: Tried, cause: unknown): string {
  const why = cause instanceof Error ? cause.message : String(cause);
  const where = tried.url === undefined ? 'its wasm' : `its wasm from ${tried.url}`;
  const answer =
    tried.contentType === undefined && tried.status === undefined
      ? ''
      : ` (HTTP ${tried.status ?? '?'}, content-type ${tried.contentType ?? 'none'})`;
  return `annals could not load ${where}${answer}: ${why}. ${likelyFix(location, tried, why)}`;
}

function likelyFix(location: WasmLocation, tried: Tried, why: string): string {
  if (tried.url?.includes('/.vite/deps/')) {
    return "Vite's dev server pre-bundled annals away from its wasm: add `optimizeDeps: { exclude: ['annals'] }` to your Vite config.";
  }
  if (/code generation|disallowed|not allowed|embedder/i.test(why)) {
    return 'This runtime compiles no wasm from bytes: pass a compiled WebAssembly.Module to initWasm (the `workerd` and `edge-light` entries of annals do this by themselves).';
  }
  if (/--allow-read|NotCapable|requires read access/i.test(why)) {
    return 'Deno: allow reading the binary, e.g. `deno run --allow-read=node_modules/annals main.js`.';
  }
  return location.fix;
}
