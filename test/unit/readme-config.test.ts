import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadGatewayConfig } from '../../src/config/gateway';
import { ConfigError } from '../../src/config/parse';
import { loadWorkerConfig } from '../../src/config/worker';
import { RUNTIME_VARIABLES } from '../deploy/env-check';

/**
 * README's "Configuration" tables against the processes' schemas: every variable a table lists is read by the
 * processes it is listed for, every variable a process reads is listed, and one marked **required** stops that
 * process, named, when it is missing.
 */

interface Row {
  names: string[];
  required: boolean;
}

/** The rows of each `### ` table of README's Configuration section, by subsection title. */
function configurationTables(readme: string): Map<string, Row[]> {
  const section = readme.split(/^## Configuration$/m)[1]?.split(/^## /m)[0] ?? '';
  const tables = new Map<string, Row[]>();
  for (const part of section.split(/^### /m).slice(1)) {
    const title = part.slice(0, part.indexOf('\n')).trim();
    const rows = part
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => {
        const [first = '', defaults = ''] = line.split(' | ');
        return {
          names: [...first.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]),
          required: defaults.trim() === '**required**',
        };
      });
    tables.set(title, rows);
  }
  return tables;
}

/** The variables `load` reads from an environment (a valid one, so that every section is reached). */
function readVariables(env: Record<string, string>, load: (env: NodeJS.ProcessEnv) => unknown): Set<string> {
  const read = new Set<string>();
  load(
    new Proxy(
      { ...env },
      {
        get(target, property) {
          if (typeof property === 'string') read.add(property);
          return Reflect.get(target, property);
        },
      },
    ),
  );
  return read;
}

const KEY = Buffer.alloc(32, 7).toString('base64');
const workerEnv = {
  PAYLOAD_ENCRYPTION_KEY: KEY,
  AZURE_KEY_VAULT_URL: 'https://soc-kv.vault.azure.net',
  SENTINEL_SUBSCRIPTION_ID: '11111111-2222-3333-4444-555555555555',
};
const gatewayEnv = {
  PAYLOAD_ENCRYPTION_KEY: KEY,
  SENTINEL_SUBSCRIPTION_ID: '11111111-2222-3333-4444-555555555555',
  SENTINEL_RESOURCE_GROUP: 'soc-rg',
  SENTINEL_WORKSPACE_NAME: 'soc-ws',
  GATEWAY_API_KEYS: 'sentinel-playbook=0123456789abcdef01234567',
  INCODE_WEBHOOK_SECRET: 'webhook-secret-0123456789abcdef',
};

describe("README's configuration tables match the schemas", () => {
  const tables = configurationTables(readFileSync(path.join(__dirname, '../../../README.md'), 'utf8'));
  const rows = (title: string) => {
    const found = tables.get(title);
    assert.ok(found?.length, `README's Configuration section has a "${title}" table`);
    return found;
  };
  const processes = [
    { name: 'worker', load: loadWorkerConfig, env: workerEnv, tables: ['Both processes', 'Worker', 'Threat-intelligence sync (worker)'] },
    { name: 'gateway', load: loadGatewayConfig, env: gatewayEnv, tables: ['Both processes', 'Gateway'] },
  ];

  for (const { name, load, env, tables: titles } of processes) {
    it(`lists exactly the variables the ${name} reads`, () => {
      const documented = new Set(
        titles.flatMap((title) => rows(title).flatMap((row) => row.names)).filter((variable) => !RUNTIME_VARIABLES.has(variable)),
      );
      const read = readVariables(env, load);
      assert.deepEqual(
        [...documented].filter((variable) => !read.has(variable)),
        [],
        `listed for the ${name}, never read`,
      );
      assert.deepEqual([...read].filter((variable) => !documented.has(variable)).sort(), [], `read by the ${name}, not listed`);
    });

    it(`marks **required** exactly what stops the ${name} when missing`, () => {
      const required = titles.flatMap((title) =>
        rows(title)
          .filter((row) => row.required)
          .flatMap((row) => row.names),
      );
      assert.ok(required.length > 0);
      assert.throws(
        () => load({}),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          const missing = [...error.message.matchAll(/^ {2}([A-Z0-9_]+): is required but not set$/gm)].map((match) => match[1]);
          assert.deepEqual(missing.sort(), [...new Set(required)].sort());
          return true;
        },
      );
    });
  }
});
