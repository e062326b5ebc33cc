import { createServer } from 'node:net';

/**
 * A TCP port that was free a moment ago: the OS picks it (port 0), we release it and hand it out.
 * Racy by nature (another process may grab it before the caller binds), which is acceptable for dev
 * servers and tests on one machine; it beats fixed ports that collide between parallel runs.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`could not read the port bound on ${host}`));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
