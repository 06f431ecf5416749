import { openStore } from 'annals';
import { servePage } from './page.js';

servePage(openStore);
