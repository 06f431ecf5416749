// Test page for tests/e2e/quota.test.mjs: exposes `window.quota` once the store is open —
// the operations of quota-ops.js on this page's store, a subscription, and the same
// operations run in a dedicated worker (`window.quota.worker(op, ...args)`).
import * as annals from 'annals';
import { ops, plain } from './quota-ops.js';

const params = new URLSearchParams(location.search);
const db = params.get('db') ?? 'quota';
const store = await annals.openStore({ name: db });

let subscription = null;
let worker = null;
let nextId = 0;
const pending = new Map();

window.quota = {
  ...ops(annals, store),

  /** Starts a subscription from position 0 that collects every event it is given. */
  subscribe() {
    const received = [];
    const sub = store.subscribe({ after: 0 });
    const loop = (async () => {
      for await (const e of sub) received.push(plain(e));
      return 'ended';
    })().catch((err) => `error: ${err?.name}: ${err?.message}`);
    subscription = { sub, loop, received, outcome: null };
    loop.then((outcome) => {
      subscription.outcome = outcome;
    });
  },

  /** Waits up to `ms` for the subscription to have received `count` events; returns them. */
  async received(count, ms) {
    const deadline = Date.now() + ms;
    while (subscription.received.length < count && subscription.outcome === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { events: subscription.received, outcome: subscription.outcome };
  },

  /** Starts the dedicated worker (same store name) and waits until its store is open. */
  async startWorker() {
    worker = new Worker(new URL(`./quota-worker.js?db=${encodeURIComponent(db)}`, import.meta.url), { type: 'module' });
    await new Promise((resolve, reject) => {
      worker.onerror = (e) => reject(new Error(`worker failed: ${e.message}`));
      worker.onmessage = ({ data }) => {
        if (data.ready) {
          worker.onmessage = ({ data: { id, result, error } }) => {
            const p = pending.get(id);
            pending.delete(id);
            if (error !== undefined) p.reject(new Error(`in the worker: ${error}`));
            else p.resolve(result);
          };
          resolve();
        }
      };
    });
  },

  /** Runs `op` of quota-ops.js in the worker. */
  worker(op, ...args) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, args });
    });
  },
};
document.body.dataset.ready = 'true';
