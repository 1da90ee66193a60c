// Runs callbacks once the current task is over (after its microtasks), so that everything a
// burst of commits changed reaches a watch as one emission. Node: setImmediate; browsers: a
// MessageChannel message; else setTimeout. The functions are taken when this module loads, so
// fake timers installed later by a test do not hold the emissions back.

type Schedule = (run: () => void) => void;

function scheduler(): Schedule {
  const immediate = globalThis.setImmediate;
  if (typeof immediate === 'function') return (run) => void immediate(run);
  if (typeof MessageChannel === 'function') {
    const channel = new MessageChannel();
    const queue: (() => void)[] = [];
    channel.port1.onmessage = () => queue.shift()?.();
    return (run) => {
      queue.push(run);
      channel.port2.postMessage(undefined);
    };
  }
  const timeout = globalThis.setTimeout;
  return (run) => void timeout(run, 0);
}

/** Calls `run` after the current task and its microtasks. */
export const afterTask: Schedule = scheduler();
