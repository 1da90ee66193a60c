import { describeTransport } from '@local-first/contract';
import { socketIoSetup } from './setup.js';

describeTransport('socketio', socketIoSetup);
