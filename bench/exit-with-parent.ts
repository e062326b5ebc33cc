/**
 * Preloaded (`node --require`) into the worker process the bench starts: the bench holds the other end of
 * its stdin, so when the bench goes away (even by SIGKILL) the worker exits instead of lingering as an
 * orphan. Unreferenced: it keeps nothing alive, and the worker's own shutdown (SIGTERM) ends it as usual.
 * Worker threads (the SDK's workflow thread) inherit the preload and have no stdin of their own: main thread only.
 */
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  process.stdin.on('end', () => process.exit(1)).resume();
  process.stdin.unref();
}
