/**
 * Export to NDJSON and import from it. Text only: which events go where, and what an import
 * may write, is the wasm store's (`importEvents`: each event appended at its own version).
 * @internal
 */

import { InvalidArgumentError } from './errors.js';
import { readOption } from './input.js';
import { fromRaw } from './translate.js';
import type { ExportOptions, ImportResult, ImportSource } from './types.js';
import type { RawEvent, WasmStore } from './wasm/annals.js';

/** One exported event: the line format documented in `docs/api.md`. */
function line(e: RawEvent): string {
  const { id, stream, version, type, recordedAt, data, metadata } = e;
  return JSON.stringify({ id, stream, version, type, recordedAt: recordedAt.getTime(), data, metadata });
}

/** The export options as the wasm read takes them: only `after`, `streams` and `streamPrefix`. */
function exportFilter(options: unknown): ExportOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw new InvalidArgumentError('options must be an object', 'options');
  const [after, streams, streamPrefix] = ['after', 'streams', 'streamPrefix'].map((key) => readOption(options, key));
  return { after, streams, streamPrefix } as ExportOptions;
}

/** The store's events as NDJSON, a page of lines per chunk, as stored (not upcast). */
export async function* exportEvents(raw: WasmStore, options: unknown): AsyncGenerator<string, void, undefined> {
  let reader;
  try {
    reader = raw.readAll(exportFilter(options));
  } catch (e) {
    throw fromRaw(e);
  }
  for (;;) {
    let page: RawEvent[];
    try {
      page = await reader.nextPage();
    } catch (e) {
      throw fromRaw(e);
    }
    if (page.length === 0) return;
    yield page.map(line).join('\n') + '\n';
  }
}

/** The text of `source`, chunk by chunk (UTF-8 bytes decoded). */
async function* text(source: ImportSource): AsyncGenerator<string, void, undefined> {
  if (typeof source === 'string') {
    yield source;
    return;
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const decode = (chunk: unknown): string => {
    if (typeof chunk === 'string') return chunk;
    if (chunk instanceof Uint8Array) {
      try {
        return decoder.decode(chunk, { stream: true });
      } catch {
        throw new InvalidArgumentError('source is not UTF-8 text', 'source');
      }
    }
    throw new InvalidArgumentError('source must yield strings or Uint8Arrays', 'source');
  };
  let chunks: AsyncIterable<unknown> | Iterable<unknown>;
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    chunks = readAll(source.stream());
  } else if (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) {
    chunks = readAll(source);
  } else if (typeof source === 'object' && source !== null && (Symbol.asyncIterator in source || Symbol.iterator in source)) {
    chunks = source;
  } else {
    throw new InvalidArgumentError('source must be NDJSON text: a string, a Blob, a stream or an iterable of chunks', 'source');
  }
  for await (const chunk of chunks) yield decode(chunk);
  const rest = decode(new Uint8Array());
  if (rest !== '') yield rest;
}

/** The chunks of a `ReadableStream` (not every browser makes one async-iterable). */
async function* readAll<T>(stream: ReadableStream<T>): AsyncGenerator<T, void, undefined> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The most events, and about the most bytes of text, one `importEvents` call carries. */
const BATCH_EVENTS = 256;
const BATCH_BYTES = 4 << 20;

/**
 * Imports the NDJSON `source`: blank lines are skipped; event `i` (counting from 0, in input
 * order) is named `events[i]` in errors. Sent to the store a batch at a time.
 */
export async function importEvents(raw: WasmStore, source: ImportSource): Promise<ImportResult> {
  let batch: unknown[] = [];
  let batchBytes = 0;
  let events = 0;
  let lineNumber = 0;
  const flush = async (): Promise<void> => {
    const first = events - batch.length;
    const sending = batch;
    batch = [];
    batchBytes = 0;
    try {
      await raw.importEvents(sending, first);
    } catch (e) {
      throw fromRaw(e);
    }
  };
  const take = async (text: string): Promise<void> => {
    lineNumber += 1;
    if (text.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (e) {
      const field = `events[${events}]`;
      throw new InvalidArgumentError(`${field}: line ${lineNumber} is not JSON (${(e as Error).message})`, field);
    }
    batch.push(record);
    batchBytes += text.length;
    events += 1;
    if (batch.length >= BATCH_EVENTS || batchBytes >= BATCH_BYTES) await flush();
  };
  await flush(); // an empty batch: a closed store refuses before any input is read
  let pending = '';
  for await (const chunk of text(source)) {
    pending += chunk;
    let start = 0;
    let end: number;
    while ((end = pending.indexOf('\n', start)) >= 0) {
      await take(pending.slice(start, end).replace(/\r$/, ''));
      start = end + 1;
    }
    pending = pending.slice(start);
  }
  await take(pending.replace(/\r$/, ''));
  await flush();
  return { events };
}
