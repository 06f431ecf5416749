// One device of the soak in a worker thread of its own, so that its JS heap can be sampled
// alone: a ChaosClient driven by messages from the soak ({ id, op, ... } → { id, result } or
// { id, error }). The ids it appends are posted to the soak as they are made ({ appended }),
// not kept here.
import v8 from 'node:v8';
import vm from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { ChaosClient } from './client.mjs';

const { openStore } = await import(workerData.package);
// A worker cannot be given --expose-gc: the flag is set here, and `gc` taken from a fresh context.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
let client;

const ops = {
  async start({ label, seed, url, token, pause }) {
    client = await ChaosClient.open(openStore, { label, seed, pause, onAppended: (ids) => parentPort.postMessage({ appended: ids }) });
    client.startSync({ url, token });
    client.startAppending();
  },
  /** This worker's JS heap in use (its own isolate's) after a full garbage collection (bytes). */
  heap() {
    gc();
    return v8.getHeapStatistics().used_heap_size;
  },
  async stopAppending() {
    await client.stopAppending();
  },
  async flush() {
    const r = await client.tryFlush();
    return { ...r, pending: client.sync.state.pending, conflicts: client.conflicts };
  },
  async report() {
    return {
      label: client.label,
      events: await client.events(),
      discarded: client.discarded,
      resolveErrors: client.resolveErrors.map((e) => String(e?.stack ?? e)),
      conflicts: client.conflicts,
      conflictEvents: client.conflictEvents,
      refusedLocally: client.refusedLocally,
    };
  },
  async close() {
    await client.close();
  },
};

parentPort.on('message', async ({ id, op, args }) => {
  try {
    parentPort.postMessage({ id, result: await ops[op](args ?? {}) });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e?.stack ?? e) });
  }
});
parentPort.postMessage({ ready: true });
