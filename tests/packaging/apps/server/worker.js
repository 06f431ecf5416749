// A Cloudflare Worker: nothing but the import. The store is in memory and lives as long as the
// isolate: /smoke runs the smoke test on it, /read (a later request) reads what is still there.
import { openStore, isWrongExpectedVersionError } from 'annals';
import { smoke } from './smoke.js';

let store; // opened by the first request, kept by the isolate

export default {
  async fetch(request) {
    store ??= await openStore();
    const { pathname } = new URL(request.url);
    if (pathname === '/smoke') return Response.json(await smoke({ openStore, isWrongExpectedVersionError }, store));
    const events = await store.readStream('Notes').toArray();
    return Response.json(events.map((e) => [e.version, e.data.text]));
  },
};
