import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startLocalStack, type LocalStack } from './dev/local-stack';
import { DEMO_TI_FEED, startThreatIntelDemo } from './dev/ti-sync-demo';
import { cacheDir, startTemporalDevServer, type TemporalDevServer } from './dev/temporal-server';
import { ensureDevCertificates } from './simulator/tls';
import { loadWorkerConfig } from './config/config';

/**
 * `npm run dev`: the Temporal dev server with its Web UI, the simulator, a worker and the gateway, in one
 * command. Environment: DEV_TEMPORAL_PORT (7233), DEV_TEMPORAL_UI_PORT (8233), GATEWAY_PORT (8080),
 * DEV_PERSIST=1 to keep Temporal's history in a SQLite file across runs, DEV_INCODE_USERS (comma-separated
 * extra emails the simulated Incode directory knows), and any gateway/worker variable (e.g. VERIFICATION_TIMEOUT).
 * The threat-intelligence sync runs against a seeded feed (TI_SYNC_* pass through; DEV_TI_SYNC=0 turns it off).
 */
const DEMO_USER = 'demo.user@contoso.com';

async function main(): Promise<void> {
  const certificates = ensureDevCertificates(path.join(cacheDir(), 'tls'));
  // Node reads NODE_EXTRA_CA_CERTS only at start-up: run again with it so the SDKs trust the simulator.
  if (process.env.NODE_EXTRA_CA_CERTS !== certificates.caCertPath) {
    const child = spawn(process.execPath, process.argv.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certificates.caCertPath },
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
    child.on('exit', (code) => process.exit(code ?? 0));
    return;
  }

  let temporal: TemporalDevServer | undefined;
  let stack: LocalStack | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    await stack?.stop().catch(() => undefined);
    await temporal?.stop().catch(() => undefined);
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(0));

  const persist = process.env.DEV_PERSIST === '1';
  if (persist) mkdirSync(cacheDir(), { recursive: true });
  console.log('Starting the Temporal dev server…');
  temporal = await startTemporalDevServer({
    port: Number(process.env.DEV_TEMPORAL_PORT ?? 7233),
    uiPort: Number(process.env.DEV_TEMPORAL_UI_PORT ?? 8233),
    dbFilename: persist ? path.join(cacheDir(), 'dev-temporal.sqlite') : undefined,
  });
  const extraUsers = (process.env.DEV_INCODE_USERS ?? '').split(',').map((user) => user.trim()).filter(Boolean);
  const passThrough = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        /^(VERIFICATION_|RESULT_|LINK_|CLOSE_|ESCALATION_|FAILURE_|LOG_LEVEL|INCODE_WEBHOOK_AUTH$|INCODE_WEBHOOK_TOKEN_TTL$|TI_SYNC_)/.test(entry[0]) && entry[1] !== undefined,
    ),
  );
  stack = await startLocalStack({
    temporalAddress: temporal.address,
    gatewayPort: Number(process.env.GATEWAY_PORT ?? 8080),
    directory: [DEMO_USER, ...extraUsers],
    env: {
      LOG_LEVEL: 'info',
      ...(process.env.DEV_TI_SYNC === '0' ? {} : { TI_SYNC_FEEDS: DEMO_TI_FEED, TI_SYNC_SCHEDULE: 'true', TI_SYNC_ACTION: 'Block', TI_SYNC_ACTION_FILE_SHA256: 'BlockAndRemediate' }),
      ...passThrough,
    },
    logLevel: passThrough.LOG_LEVEL ?? 'info',
  });
  const [accountName, upnSuffix] = DEMO_USER.split('@');
  const incident = stack.simulator.sentinel.seedIncident({
    title: 'Impossible travel activity (Defender for Identity)',
    severity: 'Medium',
    accounts: [{ accountName, upnSuffix, friendlyName: 'Demo User' }],
  });
  const tiSync = loadWorkerConfig(stack.env).tiSync;
  const tiSchedule = tiSync ? await startThreatIntelDemo(stack.simulator, stack.client, tiSync) : undefined;
  const gatewayUrl = stack.gateway.url.replace('127.0.0.1', 'localhost');
  const body = JSON.stringify({ incidentId: incident.name, severity: 'High', userEmail: DEMO_USER });
  console.log(`
itdr-verify is running.

  Temporal Web UI      ${temporal.uiUrl}
  Gateway              ${gatewayUrl}
  Sentinel (simulated) ${stack.simulator.urls.arm}/simulator/sentinel
  Test CA              ${certificates.caCertPath}  (the simulator's pages are HTTPS: trust it, or accept the browser warning)

A Sentinel incident is waiting for ${DEMO_USER}. Start its verification (step 7 of Incode's guide):

  curl -X POST ${gatewayUrl}/api/incidents \\
    -H "Content-Type: application/json" \\
    -H "x-api-key: ${stack.apiKey}" \\
    -d '${body}'

Open the verificationUrl it returns and click "Verified" (or "Failed"), then watch the incident close in
the Sentinel view above and the workflow finish in the Web UI. Ctrl-C stops everything.
${
  tiSchedule
    ? `
Threat-intelligence sync: schedule ${tiSchedule} (every ${Math.round(tiSync!.intervalMs / 60_000)} min) has started a run
against a seeded feed "${tiSync!.syncs[0]!.feedName}". See it in the Web UI (Schedules, and the tiSync workflow) and
the indicators it made in the simulated Defender:

  Defender (simulated) ${stack.simulator.urls.defender}/simulator/defender

Run it again, or plan without writing, with the operator CLI:

  TEMPORAL_ADDRESS=${temporal.address} PAYLOAD_ENCRYPTION_KEY=${stack.env.PAYLOAD_ENCRYPTION_KEY} npm run cli -- ti-sync dry-run
`
    : ''
}`);
}

main().catch((error: unknown) => {
  console.error(`npm run dev failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
