export { JsonLinesEventStore, type JsonLinesEventStoreOptions } from './json-lines-event-store.js';
export { jsonLinesEventStoreModule } from './module.js';
