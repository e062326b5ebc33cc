import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../tools/simulator';
import { ensureDevCertificates, type DevCertificates } from '../../tools/simulator/tls';

/**
 * The certificates this test process trusts: NODE_EXTRA_CA_CERTS is read once at start-up, so the simulator
 * must serve a certificate from exactly that CA (scripts/run-tests.mjs sets it and ITDR_TLS_DIR).
 */
export function testCertificates(): DevCertificates {
  const caFile = process.env.NODE_EXTRA_CA_CERTS;
  if (!caFile) throw new Error('NODE_EXTRA_CA_CERTS must name the simulator test CA (scripts/run-tests.mjs sets it)');
  const certificates = ensureDevCertificates(process.env.ITDR_TLS_DIR ?? path.dirname(caFile));
  if (fs.readFileSync(caFile, 'utf8') !== certificates.caPem) {
    throw new Error(`NODE_EXTRA_CA_CERTS (${caFile}) is not the CA of ${certificates.caCertPath}`);
  }
  return certificates;
}

export function startTestSimulator(options: Omit<SimulatorOptions, 'tls'> = {}): Promise<RunningSimulator> {
  const { certPem, keyPem } = testCertificates();
  return startSimulator({ ...options, tls: { certPem, keyPem } });
}

export interface ReceivedWebhook {
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

/** A plain-http webhook receiver (the gateway's role); `respond` picks the answer for the n-th request (0-based). */
export async function startWebhookReceiver(respond: (index: number) => { status: number; delayMs?: number } = () => ({ status: 200 })) {
  const received: ReceivedWebhook[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const index = received.length;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      received.push({ headers: req.headers, body });
      const { status, delayMs = 0 } = respond(index);
      const timer = setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"success":true}' : '{"success":false}');
      }, delayMs);
      res.on('close', () => clearTimeout(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/incode`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Runs `action` and returns how long it took. */
export async function timed<T>(action: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await action();
  return { value, ms: Date.now() - started };
}
