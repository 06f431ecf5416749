// Node, Deno and Bun, straight from node_modules: nothing but the import.
import * as annals from 'annals';
import { smoke } from './smoke.js';

console.log(JSON.stringify(await smoke(annals)));
