// The same page without annals: its bundle is what the app costs by itself, so the packaging
// test reports what annals adds.
import { run } from './app.js';

run(async () => {
  throw new Error('the baseline has no store');
});
