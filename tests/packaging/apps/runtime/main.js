import { openStore, isWrongExpectedVersionError } from 'annals';
import { smoke } from './smoke.js';

const first = await smoke(openStore, isWrongExpectedVersionError);
const second = await smoke(openStore, isWrongExpectedVersionError);
console.log(JSON.stringify([first, second]));
