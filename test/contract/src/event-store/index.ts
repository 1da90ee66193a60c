export type { EventStoreFixture, EventStoreSetup, EventStoreSetupContext } from './fixtures.js';
export { describeEventStore } from './suite.js';
