export type { FanoutFixture, FanoutSetup } from './fixtures.js';
export { describeFanout } from './suite.js';
