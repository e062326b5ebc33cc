import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { stringify } from 'yaml';
import type { ClusterCertificates } from './certificates';
import type { PostgreSql } from './postgresql';
import { freeLowPorts, run, startProcess, waitFor, type RunningProcess } from './processes';

export interface TemporalTools {
  server: string;
  sqlTool: string;
  /** The server module's schema directory (postgresql/v12/{temporal,visibility}/versioned). */
  schemaDir: string;
}

export interface TemporalCluster {
  /** host:port of the frontend (TLS, client certificates required). */
  address: string;
  process: RunningProcess;
  configFile: string;
  /** A gRPC connection with the cluster's client certificate. */
  connect(): Promise<Connection>;
  stop(): Promise<void>;
}

const DATABASES = [
  { name: 'temporal', schema: 'postgresql/v12/temporal/versioned' },
  { name: 'temporal_visibility', schema: 'postgresql/v12/visibility/versioned' },
];

/** Creates the databases and brings their schemas to the server's version with its own SQL tool. */
export function setUpSchemas(tools: TemporalTools, postgres: PostgreSql): void {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: postgres.host,
    SQL_PORT: String(postgres.port),
    SQL_USER: postgres.user,
    SQL_PASSWORD: postgres.password,
  };
  for (const database of DATABASES) {
    const withDb = { ...env, SQL_DATABASE: database.name };
    run(tools.sqlTool, ['create-database'], { env: withDb });
    // Version 0.0 creates only the versioning tables; update-schema then applies every versioned step.
    run(tools.sqlTool, ['setup-schema', '-v', '0.0'], { env: withDb });
    run(tools.sqlTool, ['update-schema', '-d', path.join(tools.schemaDir, database.schema)], { env: withDb });
  }
}

/**
 * The cluster's configuration: PostgreSQL for history and SQL visibility, every service in one process on
 * loopback, the frontend serving TLS with client certificates required (mTLS), the internal system worker
 * authenticating with the same client certificate.
 */
async function writeConfig(file: string, postgres: PostgreSql, certificates: ClusterCertificates): Promise<number> {
  const ports = await freeLowPorts(9);
  const [frontend, frontendMembership, frontendHttp, history, historyMembership, matching, matchingMembership, worker, workerMembership] =
    ports as [number, number, number, number, number, number, number, number, number];
  const sql = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${postgres.host}:${postgres.port}`,
      connectProtocol: 'tcp',
      user: postgres.user,
      password: postgres.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const clientTls = { serverName: 'localhost', rootCaFiles: [certificates.caPath] };
  const service = (grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra },
  });
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: 4,
      datastores: { 'postgres-default': sql('temporal', 20), 'postgres-visibility': sql('temporal_visibility', 5) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      tls: {
        frontend: {
          server: {
            certFile: certificates.serverCertPath,
            keyFile: certificates.serverKeyPath,
            requireClientAuth: true,
            clientCaFiles: [certificates.caPath],
          },
          client: clientTls,
        },
        systemWorker: { certFile: certificates.clientCertPath, keyFile: certificates.clientKeyPath, client: clientTls },
      },
    },
    services: {
      frontend: service(frontend, frontendMembership, { httpPort: frontendHttp }),
      history: service(history, historyMembership),
      matching: service(matching, matchingMembership),
      worker: service(worker, workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${frontend}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
  };
  fs.writeFileSync(file, stringify(config), { mode: 0o600 });
  return frontend;
}

export async function startTemporalCluster(
  tools: TemporalTools,
  postgres: PostgreSql,
  certificates: ClusterCertificates,
  dir: string,
): Promise<TemporalCluster> {
  const configFile = path.join(dir, 'temporal-server.yaml');
  const port = await writeConfig(configFile, postgres, certificates);
  const address = `127.0.0.1:${port}`;
  const server = startProcess('temporal-server', tools.server, ['--config-file', configFile, '--allow-no-auth', 'start'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    logFile: path.join(dir, 'temporal-server.log'),
    cwd: dir,
  });
  const connect = async () =>
    Connection.connect({
      address,
      tls: {
        serverRootCACertificate: fs.readFileSync(certificates.caPath),
        clientCertPair: { crt: fs.readFileSync(certificates.clientCertPath), key: fs.readFileSync(certificates.clientKeyPath) },
      },
      connectTimeout: '2s',
    });
  await waitFor(
    'the Temporal frontend to answer over mTLS',
    async () => {
      const connection = await connect();
      try {
        await connection.withDeadline(Date.now() + 2_000, () => connection.workflowService.getSystemInfo({}));
        return true;
      } finally {
        await connection.close();
      }
    },
    { timeoutMs: 120_000, process: server },
  );
  return { address, process: server, configFile, connect, stop: () => server.stop('SIGTERM', 20_000) };
}
