// The page forwards the test's calls to a module worker that holds the store.
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let next = 0;
const pending = new Map();
worker.onmessage = ({ data }) => {
  if (data.ready !== undefined) {
    if (data.ready) document.title = 'ready';
    else { document.body.textContent = data.error; document.title = 'failed'; }
    return;
  }
  pending.get(data.id)(data.result);
  pending.delete(data.id);
};
const call = (name) => (...args) => new Promise((resolve) => {
  pending.set(++next, resolve);
  worker.postMessage({ id: next, name, args });
});
window.smoke = { append: call('append'), read: call('read'), watch: call('watch'), seen: call('seen') };
