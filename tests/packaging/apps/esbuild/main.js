import { initWasm, openStore } from 'annals';
import wasmUrl from 'annals/annals_bg.wasm'; // --loader:.wasm=file copies it and gives its URL
import { servePage } from './page.js';

await initWasm(wasmUrl);
servePage(openStore);
