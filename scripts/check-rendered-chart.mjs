// Checks manifests rendered by `helm template` against the product (needs `npm run build`):
// every environment variable a container sets is one its process's configuration reads, the probes hit
// /healthz and /readyz on the port the process listens on, and, with --complete, the environment loads
// (secrets stand in as placeholders). Usage: node scripts/check-rendered-chart.mjs [--complete] FILE...
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { loadGatewayConfig } = require(path.join(root, 'dist/src/config/gateway.js'));
const { loadWorkerConfig } = require(path.join(root, 'dist/src/config/worker.js'));
const { unreadVariables } = require(path.join(root, 'dist/test/deploy/env-check.js'));

const args = process.argv.slice(2);
const complete = args[0] === '--complete';
const files = complete ? args.slice(1) : args;
const PLACEHOLDERS = {
  PAYLOAD_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
  INCODE_WEBHOOK_SECRET: 'placeholder-webhook-secret-24',
  TEMPORAL_API_KEY: 'placeholder-temporal-api-key',
  GATEWAY_API_KEYS: 'soc-cli=placeholder-key-of-24-characters',
};
const problems = [];
// The webhook projects the service account token into the pod; a stand-in file takes its place here.
const tokenDir = fs.mkdtempSync(path.join(os.tmpdir(), 'itdr-chart-check-'));
const tokenFile = path.join(tokenDir, 'azure-identity-token');
fs.writeFileSync(tokenFile, 'stand-in for the projected service account token');
process.on('exit', () => fs.rmSync(tokenDir, { recursive: true, force: true }));

// What AKS's workload identity webhook adds to a pod labelled azure.workload.identity/use=true, from the
// annotations of its service account (the webhook's documented variables).
function workloadIdentityEnv(pod, serviceAccounts, where) {
  if (pod.metadata.labels?.['azure.workload.identity/use'] !== 'true') {
    problems.push(`${where}: the pod lacks the label azure.workload.identity/use: "true"`);
    return {};
  }
  const account = serviceAccounts.get(pod.spec.serviceAccountName);
  const clientId = account?.metadata.annotations?.['azure.workload.identity/client-id'];
  if (clientId === undefined) {
    problems.push(`${where}: service account ${pod.spec.serviceAccountName} has no azure.workload.identity/client-id annotation`);
    return {};
  }
  return {
    AZURE_CLIENT_ID: clientId,
    AZURE_TENANT_ID: account.metadata.annotations['azure.workload.identity/tenant-id'] ?? '',
    AZURE_FEDERATED_TOKEN_FILE: tokenFile,
    AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com/',
  };
}

for (const file of files) {
  const manifests = parseAllDocuments(fs.readFileSync(file, 'utf8'))
    .map((document) => document.toJS())
    .filter(Boolean);
  const serviceAccounts = new Map(
    manifests.filter((manifest) => manifest.kind === 'ServiceAccount').map((manifest) => [manifest.metadata.name, manifest]),
  );
  for (const manifest of manifests) {
    if (manifest.kind !== 'Deployment') continue;
    const injected = workloadIdentityEnv(manifest.spec.template, serviceAccounts, `${path.basename(file)} ${manifest.metadata.name}`);
    for (const container of manifest.spec.template.spec.containers) {
      const where = `${path.basename(file)} ${manifest.metadata.name}/${container.name}`;
      const entry = container.command?.join(' ') ?? '';
      const processName = entry.includes('dist/src/gateway.js') ? 'gateway' : entry.includes('dist/src/worker.js') ? 'worker' : undefined;
      if (!processName) {
        problems.push(`${where}: command ${JSON.stringify(container.command)} starts neither the gateway nor the worker`);
        continue;
      }
      const load = processName === 'gateway' ? loadGatewayConfig : loadWorkerConfig;
      const env = Object.fromEntries(
        (container.env ?? []).map((variable) => [
          variable.name,
          variable.valueFrom ? (PLACEHOLDERS[variable.name] ?? `placeholder-${variable.name}`) : String(variable.value ?? ''),
        ]),
      );
      for (const name of unreadVariables(env, load))
        problems.push(`${where}: sets ${name}, which the ${processName}'s configuration does not read`);
      let config;
      try {
        config = load({ ...injected, ...env });
      } catch (error) {
        if (complete) problems.push(`${where}: the environment does not load: ${error.message}`);
      }
      const listening = processName === 'gateway' ? Number(env.GATEWAY_PORT ?? 8080) : Number(env.WORKER_METRICS_PORT ?? 9464);
      if (config) {
        const configured = processName === 'gateway' ? config.port : config.observability.metricsPort;
        if (configured !== listening) problems.push(`${where}: listens on ${configured}, not ${listening}`);
      }
      const portOf = (port) =>
        typeof port === 'number' ? port : container.ports?.find((candidate) => candidate.name === port)?.containerPort;
      for (const [probe, paths] of [
        ['startupProbe', ['/healthz']],
        ['livenessProbe', ['/healthz']],
        ['readinessProbe', ['/readyz']],
      ]) {
        const httpGet = container[probe]?.httpGet;
        if (!httpGet) problems.push(`${where}: no ${probe}`);
        else if (!paths.includes(httpGet.path)) problems.push(`${where}: ${probe} on ${httpGet.path}, not ${paths.join(' or ')}`);
        else if (portOf(httpGet.port) !== listening)
          problems.push(`${where}: ${probe} on port ${portOf(httpGet.port)}, the process listens on ${listening}`);
      }
    }
  }
}

if (problems.length) {
  for (const problem of problems) console.error(`check-rendered-chart: ${problem}`);
  process.exit(1);
}
console.log(`check-rendered-chart: ${files.length} file(s): environment and probes match the processes`);
