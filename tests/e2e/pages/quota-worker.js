// Dedicated worker of tests/e2e/pages/quota.html: the quota operations on its own store
// connection. Module workers do not see the document's import map: annals by its path.
import * as annals from '/node_modules/annals/dist/browser.js';
import { ops } from './quota-ops.js';

const params = new URLSearchParams(location.search);
const store = await annals.openStore({ name: params.get('db') ?? 'quota' });
const o = ops(annals, store);

self.onmessage = async ({ data: { id, op, args } }) => {
  try {
    self.postMessage({ id, result: await o[op](...args) });
  } catch (err) {
    self.postMessage({ id, error: `${err?.name}: ${err?.message}` });
  }
};
self.postMessage({ ready: true });
