import { describeTransport } from '@local-first/contract';
import { wsSetup } from './setup.js';

describeTransport('ws', wsSetup);
