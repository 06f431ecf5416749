// ES output, so the worker is a module worker with its own import.meta.url (Vite's default
// bundles workers as classic scripts, which work too).
export default {
  worker: { format: 'es' },
};
