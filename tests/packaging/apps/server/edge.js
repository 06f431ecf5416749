// A Vercel Edge Function: nothing but the import (Vercel's build resolves the `edge-light`
// condition and turns the entry's `?module` wasm import into a compiled module).
import * as annals from 'annals';
import { smoke } from './smoke.js';

export default async function handler() {
  return Response.json(await smoke(annals));
}
