/**
 * Loading the wasm module, for every entry point: what a runtime or bundler hands over (a URL,
 * a `Response`, bytes, a compiled `WebAssembly.Module`) becomes the instantiated module, or a
 * {@link WasmLoadError} that says what was tried, what came back and the likely fix.
 * @module
 */

import init, * as wasm from './wasm/annals.js';
import { AnnalsError, ErrorCode, isAnnalsError } from './errors.js';
import { makeOpenStore } from './store.js';
import type { EventStore, OpenStoreOptions } from './types.js';

/**
 * Where the wasm binary comes from: a URL (or, in Node, a file path), a `Response`, its bytes,
 * or a compiled `WebAssembly.Module`. Whatever your bundler or runtime makes of
 * `import wasm from 'annals/annals_bg.wasm'` is one of these.
 */
export type WasmSource =
  | string
  | URL
  | Response
  | BufferSource
  | WebAssembly.Module
  | Promise<Response | BufferSource | WebAssembly.Module>;

/**
 * The wasm module could not be loaded, so no store can open. Nothing was written. `url` is
 * where it was looked for (if anywhere), `contentType` what came back (if an HTTP answer did),
 * and `fix` the likely fix for the setup that usually causes it.
 */
export class WasmLoadError extends AnnalsError {
  override readonly name = 'WasmLoadError' as const;
  constructor(
    message: string,
    /** Where the binary was looked for: a URL or file path; `undefined` if nowhere. */
    readonly url: string | undefined,
    /** The `Content-Type` of the answer, when an HTTP answer came. */
    readonly contentType: string | undefined,
    /** What usually fixes it. */
    readonly fix: string,
    cause?: unknown,
  ) {
    super(`${message}. Likely fix: ${fix}`, ErrorCode.WasmLoad, { cause });
  }
}

/** Whether `e` is a {@link WasmLoadError} (from any copy of the package). */
export function isWasmLoadError(e: unknown): e is WasmLoadError {
  return isAnnalsError(e) && e.name === 'WasmLoadError';
}

const IMPORT_IT =
  "import the binary and hand it over before opening a store: `import wasm from 'annals/annals_bg.wasm'` " +
  '(esbuild: --loader:.wasm=file in a browser bundle, --loader:.wasm=binary in a Node bundle), ' +
  'then `await initWasm(wasm)`';

/** The likely fix, from what the failure looked like. */
function likelyFix(url: string | undefined, cause: unknown): string {
  const text = String((cause as Error | undefined)?.message ?? cause ?? '');
  const kind = (cause as Error | undefined)?.name ?? '';
  if (url?.includes('/node_modules/.vite/')) {
    return "Vite's dependency pre-bundling moved annals away from its wasm: add `optimizeDeps: { exclude: ['annals'] }` to vite.config";
  }
  if (kind === 'NotCapable' || kind === 'PermissionDenied') {
    return 'Deno reads the wasm file only with read permission: run with --allow-read';
  }
  if (/disallow|not allowed|code generation/i.test(text)) {
    return (
      'this runtime compiles no wasm from bytes (Cloudflare Workers, Vercel Edge): pass a compiled WebAssembly.Module, ' +
      "which `import wasm from 'annals/annals_bg.wasm'` gives there (the `workerd` and `edge-light` entries do it for you)"
    );
  }
  if (url === undefined) return `this code has no import.meta.url (an iife or CommonJS bundle, or an edge runtime): ${IMPORT_IT}`;
  return `the binary is not at this URL (a bundler moved annals without its annals_bg.wasm?): ${IMPORT_IT}`;
}

/** A load error for `url` caused by `cause` (kept as `cause`). */
function loadError(what: string, url: string | undefined, contentType: string | undefined, cause?: unknown): WasmLoadError {
  if (isWasmLoadError(cause)) return cause;
  const detail = cause === undefined ? '' : `: ${String((cause as Error).message ?? cause)}`;
  const where = url === undefined ? '' : ` from ${url}`;
  const type = contentType === undefined ? '' : ` (content type ${contentType})`;
  return new WasmLoadError(`could not load annals_bg.wasm${where}${type}: ${what}${detail}`, url, contentType, likelyFix(url, cause), cause);
}

// By tag, not instanceof: a runtime may hand over a module compiled in another realm (the
// edge-runtime sandbox gets its wasm bindings from the Node realm around it).
const tag = (s: unknown): string => Object.prototype.toString.call(s);
const isBytes = (s: unknown): s is BufferSource => ArrayBuffer.isView(s) || tag(s) === '[object ArrayBuffer]';
const isModule = (s: unknown): s is WebAssembly.Module => tag(s) === '[object WebAssembly.Module]';

/** Refuses bytes that are not a wasm module, naming what they look like instead. */
function checkMagic(bytes: BufferSource, url: string | undefined, contentType: string | undefined): void {
  const view = ArrayBuffer.isView(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, Math.min(4, bytes.byteLength))
    : new Uint8Array(bytes, 0, Math.min(4, bytes.byteLength));
  if (view.length === 4 && view[0] === 0 && view[1] === 0x61 && view[2] === 0x73 && view[3] === 0x6d) return;
  const start = String.fromCharCode(...view).replace(/[^\x20-\x7e]/g, '.');
  throw loadError(`these ${bytes.byteLength} bytes are not a wasm module (they start with "${start}")`, url, contentType);
}

/** Reads a `file:` URL or path (Node), or `undefined` where there is no file system. */
export type ReadFile = (file: URL | string) => Promise<Uint8Array>;

/** Turns `source` into bytes, a `Response` the engine can compile while it streams, or a module. */
async function fetchSource(
  source: WasmSource,
  readFile: ReadFile | undefined,
): Promise<{ input: BufferSource | Response | WebAssembly.Module; url?: string; contentType?: string }> {
  const resolved = await source;
  if (typeof resolved === 'string' || resolved instanceof URL) {
    let url: URL | undefined;
    try {
      url = new URL(resolved);
    } catch {
      // Not an absolute URL: a file path in Node, relative to the page elsewhere.
    }
    if (readFile !== undefined && (url === undefined || url.protocol === 'file:')) {
      const file = url ?? (resolved as string);
      try {
        return { input: await readFile(file), url: String(file) };
      } catch (e) {
        throw loadError('reading the file failed', String(file), undefined, e);
      }
    }
    const where = url?.href ?? String(resolved);
    let answer: Response;
    try {
      answer = await fetch(resolved);
    } catch (e) {
      throw loadError('fetching it failed', where, undefined, e);
    }
    return fromResponse(answer, where);
  }
  if (typeof Response === 'function' && resolved instanceof Response) return fromResponse(resolved, resolved.url || undefined);
  if (isModule(resolved) || isBytes(resolved)) return { input: resolved };
  throw loadError(`initWasm got ${tag(resolved)}, not a URL, Response, bytes or WebAssembly.Module`, undefined, undefined);
}

async function fromResponse(answer: Response, url: string | undefined) {
  const contentType = answer.headers.get('Content-Type') ?? undefined;
  if (!answer.ok) throw loadError(`the server answered ${answer.status} ${answer.statusText}`.trimEnd(), url, contentType);
  // application/wasm compiles while it streams; anything else is checked first.
  if (contentType?.split(';')[0]?.trim() === 'application/wasm') return { input: answer, url, contentType };
  return { input: await answer.arrayBuffer(), url, contentType };
}

/** What every entry point exports besides the shared API. */
export interface EntryPoint {
  initWasm(source?: WasmSource): Promise<void>;
  openStore(options?: OpenStoreOptions): Promise<EventStore>;
}

/**
 * Makes an entry point: `initWasm` loads `source` (default: `defaultSource()`) once and
 * instantiates it (later calls return the first call's promise; after a failure, the next call
 * tries again); `openStore` calls `initWasm()` first.
 */
export function makeEntryPoint(defaultSource: () => WasmSource, readFile?: ReadFile): EntryPoint {
  let ready: Promise<void> | undefined;
  const load = async (source: WasmSource | undefined): Promise<void> => {
    let url: string | undefined;
    let contentType: string | undefined;
    if (source === undefined) {
      try {
        source = defaultSource();
      } catch (e) {
        throw loadError('no URL for it beside this module', undefined, undefined, e);
      }
    }
    try {
      const fetched = await fetchSource(source, readFile);
      ({ url, contentType } = fetched);
      if (isBytes(fetched.input)) checkMagic(fetched.input, url, contentType);
      await init({ module_or_path: fetched.input });
    } catch (e) {
      throw loadError('instantiating it failed', url, contentType, e);
    }
  };
  const initWasm = (source?: WasmSource): Promise<void> => {
    ready ??= load(source).catch((e: unknown) => {
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
