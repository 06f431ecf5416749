// The page only talks to the worker: `window.note(text)` asks it to append, and the worker's
// live subscription fills the list. `document.body.dataset` says `ready` or the error it met.
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const list = document.querySelector('#events');
const pending = new Map();
window.note = (text) =>
  new Promise((resolve) => {
    pending.set(text, resolve);
    worker.postMessage({ note: text });
  });
worker.onmessage = ({ data }) => {
  if (data.ready) document.body.dataset.state = 'ready';
  if (data.error) Object.assign(document.body.dataset, { state: 'failed', error: data.error });
  if (data.appended) pending.get(data.appended)?.(data.appended);
  if (data.event) list.append(Object.assign(document.createElement('li'), { textContent: data.event }));
};
