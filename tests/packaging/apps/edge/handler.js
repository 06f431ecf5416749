import { openStore, isWrongExpectedVersionError } from 'annals';
import { smoke } from './smoke.js';

export const config = { runtime: 'edge' };

export default async function handler() {
  return Response.json(await smoke(openStore, isWrongExpectedVersionError));
}
