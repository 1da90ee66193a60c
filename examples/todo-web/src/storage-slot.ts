import localforage from 'localforage';

const DATABASE = 'local-first-todo';
const MOST_SLOTS = 8;

/**
 * The localforage instance this tab may write. The storage adapter assumes it is the only
 * writer of its instance, so two windows of the app must not share one: each tab takes the
 * lowest free slot, held by a Web Lock for as long as the tab lives. The first window always
 * gets slot 0 and so finds its own data again after a reload; a second window gets slot 1,
 * which it keeps up to date from the server like any other device.
 */
export async function claimStorage(): Promise<LocalForage> {
  const slot = await claimSlot();
  return localforage.createInstance({ name: DATABASE, storeName: `slot_${slot}` });
}

async function claimSlot(): Promise<number> {
  // Web Locks exist only in secure contexts (https, localhost); elsewhere one window it is.
  if (!('locks' in navigator)) return 0;
  for (let slot = 0; slot < MOST_SLOTS; slot++) {
    if (await tryHold(`${DATABASE}/slot_${slot}`)) return slot;
  }
  throw new Error(`the app is open in ${MOST_SLOTS} windows already; close one and reload`);
}

/** Resolves true once the lock is ours (kept until the tab closes), false if another tab has it. */
function tryHold(name: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    navigator.locks
      .request(name, { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        // A promise that never settles keeps the lock; the browser frees it with the tab.
        return lock ? new Promise<never>(() => {}) : undefined;
      })
      .catch(reject);
  });
}
