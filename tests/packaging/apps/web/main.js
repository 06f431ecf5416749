// What the README shows for Vite, webpack and Rollup: nothing but the import.
import { openStore } from 'annals';
import { run } from './app.js';

run(openStore);
