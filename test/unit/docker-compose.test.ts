import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Connection } from '@temporalio/client';
import { parse } from 'yaml';
import { freePort } from '../../tools/dev/free-port';
import { packageRoot, startTemporalDevServer } from '../../tools/dev/temporal-server';
import { ALL_SEARCH_ATTRIBUTES, searchAttributeCliArgs } from '../../src/shared/search-attributes';

const root = packageRoot();

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: string | (string | { path: string })[];
  ports?: (string | number)[];
  healthcheck?: { test?: string | string[] };
}

const composeText = fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText) as { services: Record<string, ComposeService> };
const services = compose.services;

function service(name: string): ComposeService {
  const found = services[name];
  assert.ok(found, `service ${name} is missing`);
  return found;
}

function dependsOn(name: string): Record<string, string | undefined> {
  const deps = service(name).depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((dep) => [dep, undefined]));
  return Object.fromEntries(Object.entries(deps).map(([dep, spec]) => [dep, spec.condition]));
}

function environment(name: string): Record<string, string> {
  const env = service(name).environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0], entry.slice(entry.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value ?? '')]));
}

/** `host:container` pairs; `published` is the host side. */
function ports(name: string): { published: string; target: string }[] {
  return (service(name).ports ?? []).map((entry) => {
    const parts = String(entry).split(':');
    return { published: parts.length > 1 ? parts[parts.length - 2] : parts[0], target: parts[parts.length - 1] };
  });
}

describe('docker-compose.yml', () => {
  test('has the whole stack', () => {
    for (const name of ['postgresql', 'temporal', 'temporal-admin-tools', 'temporal-ui', 'worker', 'gateway']) {
      service(name);
    }
  });

  test('pins every external image to a version', () => {
    for (const [name, svc] of Object.entries(services)) {
      if (svc.build) continue;
      assert.ok(svc.image, `${name} has neither image nor build`);
      const tag = svc.image.includes('@') ? 'digest' : svc.image.split(':')[1];
      assert.ok(tag, `${name}: ${svc.image} has no tag`);
      assert.notEqual(tag, 'latest', `${name}: ${svc.image} uses latest`);
      assert.match(tag, /\d/, `${name}: ${svc.image} is not a version tag`);
    }
    assert.match(service('temporal').image ?? '', /^temporalio\/auto-setup:/);
    assert.match(service('temporal-ui').image ?? '', /^temporalio\/ui:/);
    assert.match(service('postgresql').image ?? '', /^postgres:16/);
  });

  test('builds worker and gateway from the Dockerfile with their own commands', () => {
    const commands: Record<string, string> = { worker: 'dist/src/worker.js', gateway: 'dist/src/gateway.js' };
    for (const [name, script] of Object.entries(commands)) {
      const { build, command } = service(name);
      const dockerfile = typeof build === 'string' ? 'Dockerfile' : (build?.dockerfile ?? 'Dockerfile');
      const context = typeof build === 'string' ? build : build?.context;
      assert.equal(context, '.', `${name} builds from the repo root`);
      assert.equal(dockerfile, 'Dockerfile');
      assert.deepEqual(command, ['node', script]);
    }
    const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^FROM node:20-bookworm-slim AS build$/m);
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /^ENV NODE_ENV=production$/m);
  });

  test('starts in order: postgresql healthy, temporal healthy, search attributes, then the apps', () => {
    assert.ok(service('postgresql').healthcheck?.test, 'postgresql has a healthcheck');
    assert.ok(service('temporal').healthcheck?.test, 'temporal has a healthcheck');
    assert.equal(dependsOn('temporal').postgresql, 'service_healthy');
    assert.equal(dependsOn('temporal-admin-tools').temporal, 'service_healthy');
    assert.equal(dependsOn('temporal-ui').temporal, 'service_healthy');
    for (const app of ['worker', 'gateway']) {
      assert.equal(dependsOn(app).temporal, 'service_healthy', `${app} waits for temporal`);
      assert.equal(dependsOn(app)['temporal-admin-tools'], 'service_completed_successfully', `${app} waits for the search attributes`);
      assert.equal(environment(app).TEMPORAL_ADDRESS, 'temporal:7233');
      const envFiles = [service(app).env_file ?? []].flat().map((entry) => (typeof entry === 'string' ? entry : entry.path));
      assert.deepEqual(envFiles, ['.env'], `${app} reads .env`);
    }
    assert.equal(environment('temporal').DB, 'postgres12');
    assert.equal(environment('temporal').POSTGRES_SEEDS, 'postgresql');
  });

  test('registers exactly the search attributes of src/shared/search-attributes.ts', () => {
    const script = [service('temporal-admin-tools').command ?? []].flat().join('\n');
    const registered = [...script.matchAll(/^\s*register\s+(\w+)\s+(\w+)\s*$/gm)].map((m) => `${m[1]}=${m[2]}`);
    const expected = searchAttributeCliArgs().filter((arg) => arg !== '--search-attribute');
    assert.equal(expected.length, ALL_SEARCH_ATTRIBUTES.length);
    assert.deepEqual([...registered].sort(), [...expected].sort());
  });

  test('publishes 7233 (Temporal), 8233 (UI) and 8080 (gateway)', () => {
    assert.deepEqual(ports('temporal'), [{ published: '7233', target: '7233' }]);
    assert.deepEqual(ports('temporal-ui'), [{ published: '8233', target: '8080' }]);
    assert.deepEqual(ports('gateway'), [{ published: '8080', target: '8080' }]);
    assert.equal(environment('gateway').GATEWAY_PORT, '8080');
    assert.equal(environment('temporal-ui').TEMPORAL_ADDRESS, 'temporal:7233');
  });

  test('holds no literal secret', () => {
    const secretName = /PASSWORD|PWD|SECRET|TOKEN|API_KEYS?$|ENCRYPTION_KEY|PRIVATE_KEY/;
    for (const name of Object.keys(services)) {
      for (const [key, value] of Object.entries(environment(name))) {
        if (!secretName.test(key)) continue;
        assert.match(value, /^\$\{[A-Z0-9_]+(:?[?-][^}]*)?\}$/, `${name}.${key} must come from .env, not be written here`);
        assert.doesNotMatch(value, /:-/, `${name}.${key} must not have a default value`);
      }
    }
    // The app secrets reach the containers only through env_file.
    for (const key of ['GATEWAY_API_KEYS', 'INCODE_WEBHOOK_SECRET', 'PAYLOAD_ENCRYPTION_KEY']) {
      assert.doesNotMatch(composeText, new RegExp(`${key}\\s*[:=]`), `${key} is set in docker-compose.yml`);
    }
  });

  test('.env.example lists every variable, with placeholders only', () => {
    const example = fs.readFileSync(path.join(root, '.env.example'), 'utf8');
    const entries = Object.fromEntries(
      example
        .split('\n')
        .filter((line) => /^[A-Z0-9_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const required = [
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'TEMPORAL_TASK_QUEUE',
      'AZURE_KEY_VAULT_URL',
      'AZURE_CLIENT_ID',
      'SENTINEL_SUBSCRIPTION_ID',
      'SENTINEL_RESOURCE_GROUP',
      'SENTINEL_WORKSPACE_NAME',
      'GATEWAY_PORT',
      'GATEWAY_API_KEYS',
      'INCODE_WEBHOOK_SECRET',
      'PAYLOAD_ENCRYPTION_KEY',
      'LOG_LEVEL',
      'POSTGRES_PASSWORD',
    ];
    for (const key of required) assert.ok(key in entries, `.env.example lacks ${key}`);
    for (const key of ['GATEWAY_API_KEYS', 'INCODE_WEBHOOK_SECRET', 'PAYLOAD_ENCRYPTION_KEY', 'POSTGRES_PASSWORD']) {
      assert.match(entries[key], /replace-with/, `${key} in .env.example must be a placeholder`);
    }
    // Compose interpolates ${VAR:?…}: each such variable must be documented.
    for (const [, variable] of composeText.matchAll(/\$\{([A-Z0-9_]+):\?/g)) {
      assert.ok(variable in entries, `${variable} is required by docker-compose.yml but missing from .env.example`);
    }
  });
});

describe('scripts/temporal-cli.sh', () => {
  const script = path.join(root, 'scripts', 'temporal-cli.sh');

  function run(env: Record<string, string>) {
    return spawnSync('bash', [script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  }

  test('rejects a TEMPORAL_CLI that is not executable', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-cli-'));
    try {
      const notExecutable = path.join(dir, 'temporal');
      fs.writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
      for (const target of [notExecutable, path.join(dir, 'missing')]) {
        const result = run({ TEMPORAL_CLI: target, ITDR_CACHE_DIR: dir });
        assert.notEqual(result.status, 0);
        assert.equal(result.stdout, '');
        assert.match(result.stderr, /TEMPORAL_CLI=.* is not an executable file/);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('prints the path of an executable TEMPORAL_CLI', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-cli-'));
    try {
      const fake = path.join(dir, 'fake-temporal');
      fs.writeFileSync(fake, '#!/bin/sh\necho "temporal version 0.0.1 (fake)"\n', { mode: 0o755 });
      const result = run({ TEMPORAL_CLI: fake, ITDR_CACHE_DIR: dir });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, `${fs.realpathSync(fake)}\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .once('error', reject);
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startTemporalDevServer', { timeout: 180_000 }, () => {
  test('serves the namespace with the search attributes registered, then stops', async () => {
    const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-dev-')), 'server.log');
    const server = await startTemporalDevServer({ namespace: 'itdr-test', logFile });
    try {
      assert.match(server.address, /^127\.0\.0\.1:\d+$/);
      assert.equal(server.namespace, 'itdr-test');
      assert.ok(server.uiUrl);
      assert.equal(await httpStatus(server.uiUrl), 200);

      const connection = await Connection.connect({ address: server.address });
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: server.namespace });
        // temporal.api.enums.v1.IndexedValueType
        const indexedType: Record<string, number> = {
          TEXT: 1,
          KEYWORD: 2,
          INT: 3,
          DOUBLE: 4,
          BOOL: 5,
          DATETIME: 6,
          KEYWORD_LIST: 7,
        };
        for (const key of ALL_SEARCH_ATTRIBUTES) {
          assert.equal(customAttributes?.[key.name], indexedType[key.type], `${key.name} is registered as ${key.type}`);
        }
      } finally {
        await connection.close();
      }
      assert.ok(fs.readFileSync(logFile, 'utf8').includes('server start-dev'), 'the log starts with the command line');
    } finally {
      await server.stop();
    }
    assert.equal(isRunning(server.pid), false, 'the server process is gone');
    await server.stop(); // idempotent
  });

  test('reports the log tail when the server cannot start', async () => {
    // Drop whatever connects: the readiness probe dials this port too, and an open socket would keep
    // the test process alive.
    const blocker = net.createServer((socket) => socket.destroy());
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-dev-')), 'server.log');
    try {
      await assert.rejects(startTemporalDevServer({ port, headless: true, logFile }), (err: Error) => {
        assert.match(err.message, /exited during startup|not ready after/);
        assert.ok(err.message.includes(logFile), 'names the log file');
        assert.match(err.message, /server start-dev/, 'includes the log tail');
        return true;
      });
    } finally {
      blocker.close();
    }
  });
});
