import { openStore } from 'annals';
import { storeCalls } from './page.js';

storeCalls(openStore).then(
  (calls) => {
    onmessage = async ({ data: { id, name, args } }) => postMessage({ id, result: await calls[name](...args) });
    postMessage({ ready: true });
  },
  (e) => postMessage({ ready: false, error: `${e.name}: ${e.message}` }),
);
