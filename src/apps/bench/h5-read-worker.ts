/**
 * The worker thread behind `startProfileReader`: loads the HDF5 library at once, then reads the
 * file it is sent and posts each node as soon as it is read, its arrays transferred, not copied.
 */
import { parentPort } from 'node:worker_threads';
import { ProfileError, preloadHdf5, profileNodes, type ReaderMessage } from './h5-reader.ts';

const post = (m: ReaderMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);
// A failed load shows again, with its reason, when the file is read.
const loading = preloadHdf5().catch(() => undefined);

parentPort!.once('message', (msg: { file: string }) => {
  void (async () => {
    try {
      await loading;
      for await (const node of profileNodes(msg.file)) {
        const buffers = new Set<ArrayBuffer>();
        for (const t of node.tables) for (const c of t.columns) buffers.add(c.values.buffer as ArrayBuffer);
        post({ node }, [...buffers]);
      }
      post({ done: true });
    } catch (e) {
      post({ error: e instanceof Error ? e.message : String(e), profile: e instanceof ProfileError });
    }
  })();
});
