import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalStack, type LocalStack } from './dev/local-stack';
import { cacheDir, startTemporalDevServer, type TemporalDevServer } from './dev/temporal-server';
import { ensureDevCertificates } from './simulator/tls';

/**
 * `npm run dev`: the Temporal dev server with its Web UI, the simulator, a worker and the gateway, in one
 * command. Environment: DEV_TEMPORAL_PORT (7233), DEV_TEMPORAL_UI_PORT (8233), GATEWAY_PORT (8080),
 * DEV_PERSIST=1 to keep Temporal's history in a SQLite file across runs, DEV_INCODE_USERS (comma-separated
 * extra emails the simulated Incode directory knows), and any gateway/worker variable (e.g. VERIFICATION_TIMEOUT).
 */
const DEMO_USER = 'demo.user@contoso.com';
const MAIL_FROM = 'security@contoso.com';

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
        /^(VERIFICATION_|RESULT_|LINK_|CLOSE_|ESCALATION_|FAILURE_|LOG_LEVEL|INCODE_WEBHOOK_AUTH$|INCODE_WEBHOOK_TOKEN_TTL$)/.test(entry[0]) && entry[1] !== undefined,
    ),
  );
  // The link reaches the user by e-mail through (simulated) Microsoft Graph, as a deployment would send it.
  const policyFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'itdr-dev-')), 'policy.yaml');
  writeFileSync(policyFile, `defaults:\n  linkDelivery: graph-email\n  mailFrom: ${MAIL_FROM}\n`);
  stack = await startLocalStack({
    temporalAddress: temporal.address,
    gatewayPort: Number(process.env.GATEWAY_PORT ?? 8080),
    directory: [DEMO_USER, ...extraUsers],
    env: { LOG_LEVEL: 'info', POLICY_FILE: process.env.POLICY_FILE ?? policyFile, ...passThrough },
    logLevel: passThrough.LOG_LEVEL ?? 'info',
  });
  stack.simulator.graph.addUser({ userPrincipalName: MAIL_FROM, givenName: 'Security', surname: 'Operations' });
  stack.simulator.graph.addUser({ userPrincipalName: DEMO_USER, givenName: 'Demo', surname: 'User' });
  const [accountName, upnSuffix] = DEMO_USER.split('@');
  const incident = stack.simulator.sentinel.seedIncident({
    title: 'Impossible travel activity (Defender for Identity)',
    severity: 'Medium',
    accounts: [{ accountName, upnSuffix, friendlyName: 'Demo User' }],
    ipAddresses: [{ address: '203.0.113.7', city: 'Lagos', countryName: 'Nigeria' }],
    hosts: [{ hostName: 'DESKTOP-7QK2', osFamily: 'Windows' }],
    applications: ['Office 365 Exchange Online'],
    alerts: [{ displayName: 'Impossible travel activity', startTimeUtc: new Date(Date.now() - 20 * 60_000).toISOString(), clientApp: 'Browser', userAgent: 'Mozilla/5.0 (Windows NT 10.0)' }],
  });
  const gatewayUrl = stack.gateway.url.replace('127.0.0.1', 'localhost');
  const body = JSON.stringify({ incidentId: incident.name, severity: 'High', userEmail: DEMO_USER });
  console.log(`
itdr-verify is running.

  Temporal Web UI      ${temporal.uiUrl}
  Gateway              ${gatewayUrl}
  Sentinel (simulated) ${stack.simulator.urls.arm}/simulator/sentinel
  Mailbox (simulated)  ${stack.simulator.urls.graph}/simulator/graph/mailbox
  Test CA              ${certificates.caCertPath}  (the simulator's pages are HTTPS: trust it, or accept the browser warning)

A Sentinel incident is waiting for ${DEMO_USER}. Start its verification (step 7 of Incode's guide):

  curl -X POST ${gatewayUrl}/api/incidents \\
    -H "Content-Type: application/json" \\
    -H "x-api-key: ${stack.apiKey}" \\
    -d '${body}'

The link is e-mailed to the user: open the simulated mailbox above and click "Review this sign-in" (or open
the verificationUrl the curl returns). The confirmation page shows the activity: "This wasn't me" escalates
the incident at once; "This was me" goes on to the (simulated) Incode check, where "Verified" closes it and
"Failed" escalates it. Watch the incident change in the Sentinel view and the workflow in the Web UI.
Ctrl-C stops everything.
`);
}

main().catch((error: unknown) => {
  console.error(`npm run dev failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
