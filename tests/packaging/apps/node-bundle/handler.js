import { initWasm, openStore, isWrongExpectedVersionError } from 'annals';
import wasm from 'annals/annals_bg.wasm'; // --loader:.wasm=binary puts its bytes in the bundle
import { smoke } from './smoke.js';

const ready = initWasm(wasm);

export async function handler() {
  await ready;
  return smoke(openStore, isWrongExpectedVersionError);
}
