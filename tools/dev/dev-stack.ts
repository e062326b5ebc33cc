import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowBundleOption } from '@temporalio/worker';
import type { DestinationStream } from 'pino';
import { SIMULATED_SERVICES, type SimulatedService } from '../simulator/services';
import type { IncidentResource } from '../simulator/sentinel-store';
import { ensureDevCertificates } from '../simulator/tls';
import { cliEnvFile, loadOrCreateDevIdentity, removeStackRecord, writeStackRecord } from './dev-state';
import { startLocalStack, type LocalStack } from './local-stack';
import { persistSimulator, restoreSimulator, type SimulatorPersistence } from './simulator-state';
import { startTemporalDevServer, type TemporalDevServer } from './temporal-server';
import { DEMO_TI_FEED, startThreatIntelDemo } from './ti-sync-demo';
import { loadWorkerConfig } from '../../src/config/worker';
import { cacheDir, devStateDir, type DevStackRecord } from '../../src/doctor/dev-stack-record';
import type { TiSyncConfig } from '../../src/config/ti-sync';

export const DEMO_USER = 'demo.user@contoso.com';
/** The mailbox the dev stack's links are sent from (graph-email, as a deployment sends them). */
export const MAIL_FROM = 'security@contoso.com';

export interface DevStackOptions {
  /** DEV_STATE_DIR; default `~/.cache/itdr-verify/dev`. */
  stateDir?: string;
  /** DEV_PERSIST=1: keep Temporal's database and the simulator's state in the state folder. */
  persist?: boolean;
  temporalPort: number;
  /** Temporal's Web UI; headless when omitted. */
  temporalUiPort?: number;
  gatewayPort: number;
  /** The first of consecutive ports, one per simulated service (SIMULATED_SERVICES order). */
  simulatorBasePort: number;
  /** Emails the simulated Incode directory knows besides the demo user. */
  extraUsers?: string[];
  /** Gateway and worker variables passed through (VERIFICATION_TIMEOUT, ...). */
  env?: Record<string, string>;
  logLevel?: string;
  logDestination?: DestinationStream;
  workflowBundle?: WorkflowBundleOption;
  /** Run the threat-intelligence sync against a seeded feed (DEV_TI_SYNC=0 turns it off). Default false. */
  tiSyncDemo?: boolean;
}

export interface DevStack {
  temporal: TemporalDevServer;
  stack: LocalStack;
  stateDir: string;
  record: DevStackRecord;
  /** The CLI's environment (the key included). */
  cliEnv: Record<string, string>;
  /** The incident the banner's curl starts. */
  demoIncident: IncidentResource;
  /** Whether the simulator's state was restored from the state folder (DEV_PERSIST=1 after a run). */
  restored: boolean;
  identityCreated: boolean;
  /** The threat-intelligence sync's schedule id and settings, when the demo sync runs. */
  tiSync?: { scheduleId: string; config: TiSyncConfig };
  stop(): Promise<void>;
}

export function simulatorPorts(base: number): Record<SimulatedService, number> {
  return Object.fromEntries(SIMULATED_SERVICES.map((service, index) => [service, base + index])) as Record<SimulatedService, number>;
}

/**
 * `npm run dev`: the Temporal dev server, the simulator, a worker and the gateway, with the dev identity of this
 * machine (the state folder's secrets) on stable ports. The process must trust the simulator's CA
 * (NODE_EXTRA_CA_CERTS) before it starts; tools/dev.ts re-runs itself with it.
 */
export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const stateDir = options.stateDir ?? devStateDir();
  const { identity, created } = loadOrCreateDevIdentity(stateDir);
  const certificates = ensureDevCertificates(path.join(cacheDir(), 'tls'));
  // The link reaches the user by e-mail through (simulated) Microsoft Graph, as a deployment would send it.
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const policyFile = path.join(stateDir, 'policy.yaml');
  writeFileSync(policyFile, `defaults:\n  linkDelivery: graph-email\n  mailFrom: ${MAIL_FROM}\n`);
  const temporal = await startTemporalDevServer({
    port: options.temporalPort,
    ...(options.temporalUiPort === undefined ? { headless: true } : { uiPort: options.temporalUiPort }),
    dbFilename: options.persist ? path.join(stateDir, 'temporal.sqlite') : undefined,
  });
  const stateFile = path.join(stateDir, 'simulator.json');
  let restored = false;
  let persistence: SimulatorPersistence | undefined;
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      temporalAddress: temporal.address,
      gatewayPort: options.gatewayPort,
      directory: [DEMO_USER, ...(options.extraUsers ?? [])],
      env: {
        LOG_LEVEL: options.logLevel ?? 'info',
        POLICY_FILE: policyFile,
        ...(options.tiSyncDemo
          ? {
              TI_SYNC_FEEDS: DEMO_TI_FEED,
              TI_SYNC_SCHEDULE: 'true',
              TI_SYNC_ACTION: 'Block',
              TI_SYNC_ACTION_FILE_SHA256: 'BlockAndRemediate',
            }
          : {}),
        ...options.env,
      },
      logLevel: options.logLevel ?? 'info',
      logDestination: options.logDestination,
      identity,
      simulatorPorts: simulatorPorts(options.simulatorBasePort),
      ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : {}),
      prepareSimulator: (simulator) => {
        if (options.persist) restored = restoreSimulator(simulator, stateFile);
      },
    });
  } catch (error) {
    await temporal.stop();
    throw error;
  }
  if (options.persist) persistence = persistSimulator(stack.simulator, stateFile);
  for (const [userPrincipalName, givenName, surname] of [
    [MAIL_FROM, 'Security', 'Operations'],
    [DEMO_USER, 'Demo', 'User'],
  ] as const) {
    if (!stack.simulator.graph.getUser(userPrincipalName)) stack.simulator.graph.addUser({ userPrincipalName, givenName, surname });
  }

  const demoIncident = openIncidentOf(stack, DEMO_USER) ?? seedDemoIncident(stack);
  const tiSyncConfig = options.tiSyncDemo ? loadWorkerConfig(stack.env).tiSync : undefined;
  const tiSync = tiSyncConfig && {
    scheduleId: await startThreatIntelDemo(stack.simulator, stack.client, tiSyncConfig),
    config: tiSyncConfig,
  };
  const gatewayUrl = stack.gateway.url.replace('127.0.0.1', 'localhost');
  const cliEnv = {
    TEMPORAL_ADDRESS: stack.env.TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: stack.env.TEMPORAL_NAMESPACE,
    TEMPORAL_TASK_QUEUE: stack.env.TEMPORAL_TASK_QUEUE,
    PAYLOAD_ENCRYPTION_KEY: stack.env.PAYLOAD_ENCRYPTION_KEY,
  };
  const record: DevStackRecord = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    gatewayUrl,
    temporalAddress: temporal.address,
    temporalUiUrl: temporal.uiUrl,
    sentinelPageUrl: `${stack.simulator.urls.arm}/simulator/sentinel`,
    caCertPath: certificates.caCertPath,
    env: { ...stack.env, ...stack.simulator.identityEnv },
  };
  writeStackRecord(stateDir, record, cliEnv);

  let stopping: Promise<void> | undefined;
  return {
    temporal,
    stack,
    stateDir,
    record,
    cliEnv,
    demoIncident,
    restored,
    identityCreated: created,
    ...(tiSync ? { tiSync } : {}),
    stop() {
      stopping ??= (async () => {
        removeStackRecord(stateDir);
        try {
          persistence?.stop();
        } catch (error) {
          process.stderr.write(`simulator state not saved: ${(error as Error).message}\n`);
        }
        await stack.stop().catch(() => undefined);
        await temporal.stop().catch(() => undefined);
      })();
      return stopping;
    },
  };
}

/** The newest incident of `user` still New (a restored one the banner can start again). */
function openIncidentOf(stack: LocalStack, user: string): IncidentResource | undefined {
  const sentinel = stack.simulator.sentinel;
  const [accountName, upnSuffix] = user.split('@');
  return (sentinel.listIncidents(sentinel.defaultWorkspace) ?? [])
    .filter((incident) => incident.properties.status === 'New')
    .filter((incident) =>
      (sentinel.listEntities(incident.name) ?? []).some(
        (entity) =>
          'accountName' in entity.properties && entity.properties.accountName === accountName && entity.properties.upnSuffix === upnSuffix,
      ),
    )
    .sort((a, b) => b.properties.incidentNumber - a.properties.incidentNumber)[0];
}

function seedDemoIncident(stack: LocalStack): IncidentResource {
  const [accountName, upnSuffix] = DEMO_USER.split('@');
  return stack.simulator.sentinel.seedIncident({
    title: 'Impossible travel activity (Defender for Identity)',
    severity: 'Medium',
    accounts: [{ accountName, upnSuffix, friendlyName: 'Demo User' }],
    ipAddresses: [{ address: '203.0.113.7', city: 'Lagos', countryName: 'Nigeria' }],
    hosts: [{ hostName: 'DESKTOP-7QK2', osFamily: 'Windows' }],
    applications: ['Office 365 Exchange Online'],
    alerts: [
      {
        displayName: 'Impossible travel activity',
        startTimeUtc: new Date(Date.now() - 20 * 60_000).toISOString(),
        clientApp: 'Browser',
        userAgent: 'Mozilla/5.0 (Windows NT 10.0)',
      },
    ],
  });
}

/** The text `npm run dev` prints once the stack runs: every address, and the exact commands to try it. */
export function devBanner(dev: DevStack): string {
  const { stack, temporal, record, demoIncident } = dev;
  const body = JSON.stringify({ incidentId: demoIncident.name, severity: demoIncident.properties.severity, userEmail: DEMO_USER });
  const home = process.env.HOME;
  const short = (file: string) => (home && file.startsWith(`${home}/`) ? `~${file.slice(home.length)}` : file);
  const cli = (args: string) => `  npm run -s cli -- ${args}`;
  // A state folder of its own (DEV_STATE_DIR) must reach the doctor too.
  const doctorEnv = process.env.DEV_STATE_DIR?.trim() ? `DEV_STATE_DIR=${dev.stateDir} ` : '';
  return (
    `
itdr-verify is running${dev.restored ? ' (DEV_PERSIST=1: Temporal and the simulator were restored)' : ''}.

  Temporal Web UI      ${temporal.uiUrl ?? '(headless)'}
  Gateway              ${record.gatewayUrl}
  Sentinel (simulated) ${record.sentinelPageUrl}
                       seed incidents (one account, several, a guest, an unknown user), act as the analyst,
                       answer as the user (every Incode outcome): plain forms, no code
  Mailbox (simulated)  ${stack.simulator.urls.graph}/simulator/graph/mailbox
  Test CA              ${short(record.caCertPath)}  (the simulator's pages are HTTPS: trust it, or accept the browser warning)
  Dev state            ${short(dev.stateDir)}  (secrets${dev.identityCreated ? ', generated now' : ', reused'}; DEV_PERSIST=1 ` +
    `keeps Temporal and the simulator there)

Incident #${demoIncident.properties.incidentNumber} (${demoIncident.properties.severity}) is waiting for ${DEMO_USER}. Start its ` +
    `verification (step 7 of Incode's guide):

  curl -X POST ${record.gatewayUrl}/api/incidents \\
    -H "Content-Type: application/json" \\
    -H "x-api-key: ${stack.apiKey}" \\
    -d '${body}'

The link is e-mailed to the user: open the simulated mailbox above and click "Review this sign-in" (or open
the verificationUrl the curl returns). The confirmation page shows the activity: "This wasn't me" escalates
the incident at once; "This was me" goes on to the (simulated) Incode check, where "Verified" closes it and
"Failed" escalates it. Watch the incident change in the Sentinel view and the workflow in the Web UI.

Operator CLI: load its environment once (the file holds the payload key, so it is not printed here), then:
  set -a; . ${short(cliEnvFile(dev.stateDir))}; set +a
${cli('list')}
${cli(`show ${demoIncident.name}`)}
${cli(`resend ${demoIncident.name}`)}
${cli(`approve ${demoIncident.name}`)}    # or reject: a verification in manual review (AwaitingReview)

Doctor against this stack (reads ${short(dev.stateDir)}/stack.json):
  ${doctorEnv}npm run doctor
Tests (their own Temporal server and simulator; this stack may keep running):
  npm test
${dev.tiSync ? tiSyncBanner(dev) : ''}
Ctrl-C stops everything.
`
  );
}

function tiSyncBanner(dev: DevStack): string {
  const { scheduleId, config } = dev.tiSync!;
  return `
Threat-intelligence sync: schedule ${scheduleId} (every ${Math.round(config.intervalMs / 60_000)} min) has started a run
against a seeded feed "${config.syncs[0].feedName}". See it in the Web UI (Schedules, and the tiSync workflow) and
the indicators it made in the simulated Defender:

  Defender (simulated) ${dev.stack.simulator.urls.defender}/simulator/defender

Run it again, or plan without writing, with the operator CLI (its environment loaded as above):
  npm run -s cli -- ti-sync dry-run
`;
}
