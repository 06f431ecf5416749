import { openStore, isWrongExpectedVersionError } from 'annals';
import { smoke } from './smoke.js';

export default {
  async fetch() {
    return Response.json(await smoke(openStore, isWrongExpectedVersionError));
  },
};
