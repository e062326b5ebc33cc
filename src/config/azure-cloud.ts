import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { inspect } from 'node:util';
import { z } from 'zod';
import { ConfigError, httpsUrlSchema } from './parse';

/**
 * Which Azure cloud the process talks to, and how it authenticates there. Read from the environment with the
 * rest of the configuration (azure.ts spreads `azureEnvShape` into its Azure section and calls
 * `resolveAzureEnvironment`), validated at start-up, each problem naming its variable. Secret values are held
 * in `SecretValue`s, which print and serialize as "[redacted]", and never appear in an error message.
 */

export const AZURE_CLOUD_NAMES = ['public', 'usgovernment', 'china', 'custom'] as const;
export type AzureCloudName = (typeof AZURE_CLOUD_NAMES)[number];

export interface AzureCloud {
  name: AzureCloudName;
  /** Microsoft Entra ID authority host (no tenant). */
  authorityHost: string;
  /** Azure Resource Manager endpoint (Sentinel's API). */
  armEndpoint: string;
  /** DNS suffix of Key Vaults: a vault's host is `<name>.<suffix>`. */
  keyVaultSuffix: string;
}

/** The national clouds (values from Microsoft's documentation; the same as @azure/identity's AzureAuthorityHosts). */
export const AZURE_CLOUDS: Readonly<Record<Exclude<AzureCloudName, 'custom'>, Readonly<AzureCloud>>> = Object.freeze({
  public: Object.freeze({
    name: 'public',
    authorityHost: 'https://login.microsoftonline.com',
    armEndpoint: 'https://management.azure.com',
    keyVaultSuffix: 'vault.azure.net',
  }),
  usgovernment: Object.freeze({
    name: 'usgovernment',
    authorityHost: 'https://login.microsoftonline.us',
    armEndpoint: 'https://management.usgovcloudapi.net',
    keyVaultSuffix: 'vault.usgovcloudapi.net',
  }),
  china: Object.freeze({
    name: 'china',
    authorityHost: 'https://login.chinacloudapi.cn',
    armEndpoint: 'https://management.chinacloudapi.cn',
    keyVaultSuffix: 'vault.azure.cn',
  }),
});

/**
 * Microsoft Graph per national cloud (Microsoft's "national cloud deployments" table). US Government has two:
 * L4 (graph.microsoft.us, the default) and DoD L5 (dod-graph.microsoft.us), which GRAPH_ENDPOINT may select.
 * Kept apart from AZURE_CLOUDS, whose shape other code and tests compare whole.
 */
export const GRAPH_ENDPOINTS: Readonly<Record<Exclude<AzureCloudName, 'custom'>, readonly string[]>> = Object.freeze({
  public: Object.freeze(['https://graph.microsoft.com']),
  usgovernment: Object.freeze(['https://graph.microsoft.us', 'https://dod-graph.microsoft.us']),
  china: Object.freeze(['https://microsoftgraph.chinacloudapi.cn']),
});

// `az cloud list` names, accepted as aliases.
const CLOUD_ALIASES: Record<string, AzureCloudName> = {
  azurecloud: 'public',
  azureusgovernment: 'usgovernment',
  azurechinacloud: 'china',
};

export const AZURE_AUTH_MODES = ['managed-identity', 'workload-identity', 'client-secret', 'client-certificate', 'azure-cli'] as const;
export type AzureAuthMode = (typeof AZURE_AUTH_MODES)[number];

/** A configured secret. `reveal()` is the only way to read it; printing, logging or JSON gives "[redacted]". */
export class SecretValue {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'SecretValue([redacted])';
  }
}

export type AzureAuth =
  /** System-assigned, or user-assigned when clientId is set. */
  | { mode: 'managed-identity'; clientId?: string }
  /** Federated token file (AKS workload identity). */
  | { mode: 'workload-identity'; tenantId: string; clientId: string; federatedTokenFile: string }
  | { mode: 'client-secret'; tenantId: string; clientId: string; clientSecret: SecretValue }
  /** PEM file with the certificate and its private key (optionally encrypted). */
  | { mode: 'client-certificate'; tenantId: string; clientId: string; certificatePath: string; certificatePassword?: SecretValue }
  /** The developer's `az login` (local use only); the cloud is the one `az cloud set` selected. */
  | { mode: 'azure-cli'; tenantId?: string };

/** What `resolveAzureEnvironment` adds to the Azure configuration. */
export interface AzureEnvironment {
  cloud: AzureCloud;
  auth: AzureAuth;
  /** Authority host the credentials use: the cloud's, or a loopback override (a local simulator). */
  authorityHost: string;
  /** ARM endpoint Sentinel is called on: the cloud's, or a loopback override (a local simulator). */
  armEndpoint: string;
  /**
   * Microsoft Graph endpoint (no path): the cloud's, or GRAPH_ENDPOINT (a loopback host is the local simulator).
   * Undefined only for AZURE_CLOUD=custom without GRAPH_ENDPOINT: Graph features are then unavailable.
   */
  graphEndpoint?: string;
  /** Skip MSAL's instance discovery (a call to the public cloud): needed for private clouds and the simulator. */
  disableInstanceDiscovery: boolean;
  /** Kept for compatibility: AZURE_CLIENT_ID in managed-identity mode. */
  managedIdentityClientId?: string;
}

const flagSchema = z.enum(['true', 'false']);

/** The variables read by `resolveAzureEnvironment`. */
export const azureEnvShape = {
  AZURE_AUTH_MODE: z.enum(AZURE_AUTH_MODES).default('managed-identity'),
  AZURE_CLOUD: z
    .string()
    .default('public')
    .transform((value, ctx) => {
      const name = value.toLowerCase();
      const resolved = (AZURE_CLOUD_NAMES as readonly string[]).includes(name) ? (name as AzureCloudName) : CLOUD_ALIASES[name];
      if (!resolved) {
        ctx.addIssue({ code: 'custom', message: `must be one of ${AZURE_CLOUD_NAMES.join(', ')}` });
        return z.NEVER;
      }
      return resolved;
    }),
  AZURE_TENANT_ID: z.string().optional(),
  AZURE_CLIENT_ID: z.string().optional(),
  AZURE_CLIENT_SECRET: z.string().optional(),
  AZURE_CLIENT_CERTIFICATE_PATH: z.string().optional(),
  AZURE_CLIENT_CERTIFICATE_PASSWORD: z.string().optional(),
  AZURE_FEDERATED_TOKEN_FILE: z.string().optional(),
  AZURE_AUTHORITY_HOST: httpsUrlSchema.optional(),
  ARM_ENDPOINT: httpsUrlSchema.optional(),
  GRAPH_ENDPOINT: httpsUrlSchema.optional(),
  AZURE_KEY_VAULT_SUFFIX: z
    .string()
    .regex(/^\.?[a-z0-9-]+(\.[a-z0-9-]+)+$/i, 'must be a DNS suffix such as vault.azure.net')
    .optional(),
  AZURE_DISABLE_INSTANCE_DISCOVERY: flagSchema.optional(),
};

export type AzureEnv = z.infer<z.ZodObject<typeof azureEnvShape>>;

// Entra tenant ids are GUIDs or verified domains; the SDK allows these characters only.
const TENANT_ID = /^[0-9A-Za-z.-]+$/;

/** Resolves the cloud and the auth mode, checking every variable the mode and the cloud need. */
export function resolveAzureEnvironment(env: AzureEnv): AzureEnvironment {
  const problems = new Problems();
  const cloud = resolveCloud(env, problems);
  const auth = resolveAuth(env, problems);
  if (problems.count > 0 || !cloud || !auth) {
    throw new ConfigError(`Invalid Azure configuration:\n${problems.lines.join('\n')}`);
  }

  const authorityHost = env.AZURE_AUTHORITY_HOST ? trimUrl(env.AZURE_AUTHORITY_HOST) : cloud.authorityHost;
  const armEndpoint = env.ARM_ENDPOINT ? trimUrl(env.ARM_ENDPOINT) : cloud.armEndpoint;
  const graphEndpoint = env.GRAPH_ENDPOINT
    ? new URL(env.GRAPH_ENDPOINT).origin
    : cloud.name === 'custom'
      ? undefined
      : GRAPH_ENDPOINTS[cloud.name][0];
  const knownAuthority = Object.values(AZURE_CLOUDS).some((known) => sameUrl(known.authorityHost, authorityHost));
  return Object.freeze({
    cloud: Object.freeze(cloud),
    auth: Object.freeze(auth),
    authorityHost,
    armEndpoint,
    graphEndpoint,
    // Instance discovery asks login.microsoftonline.com about the authority: it can only vouch for Microsoft's own.
    disableInstanceDiscovery: env.AZURE_DISABLE_INSTANCE_DISCOVERY ? env.AZURE_DISABLE_INSTANCE_DISCOVERY === 'true' : !knownAuthority,
    managedIdentityClientId: auth.mode === 'managed-identity' ? auth.clientId : undefined,
  });
}

/** Every problem is reported at once, each naming its variable. */
class Problems {
  readonly lines: string[] = [];
  get count(): number {
    return this.lines.length;
  }
  add(name: string, message: string): void {
    this.lines.push(`  ${name}: ${message}`);
  }
}

function resolveCloud(env: AzureEnv, problems: Problems): AzureCloud | undefined {
  if (env.AZURE_CLOUD === 'custom') {
    const missing = (['AZURE_AUTHORITY_HOST', 'ARM_ENDPOINT', 'AZURE_KEY_VAULT_SUFFIX'] as const).filter((name) => !env[name]);
    for (const name of missing)
      problems.add(name, 'is required when AZURE_CLOUD=custom (it sets the authority host, ARM endpoint and Key Vault suffix together)');
    if (missing.length > 0) return undefined;
    return {
      name: 'custom',
      authorityHost: trimUrl(env.AZURE_AUTHORITY_HOST!),
      armEndpoint: trimUrl(env.ARM_ENDPOINT!),
      keyVaultSuffix: env.AZURE_KEY_VAULT_SUFFIX!.replace(/^\./, '').toLowerCase(),
    };
  }
  const cloud = AZURE_CLOUDS[env.AZURE_CLOUD];
  // An explicit value must be the cloud's own; a loopback address is a local simulator and always allowed.
  const mustAgree = (name: 'AZURE_AUTHORITY_HOST' | 'ARM_ENDPOINT', given: string | undefined, field: 'authorityHost' | 'armEndpoint') => {
    if (!given || sameUrl(given, cloud[field]) || isLoopbackHost(new URL(given).hostname)) return;
    const owner = Object.values(AZURE_CLOUDS).find((known) => sameUrl(known[field], given));
    problems.add(
      name,
      `${trimUrl(given)} is not the ${cloud.name} cloud's (${cloud[field]}). ` +
        (owner
          ? `It belongs to the ${owner.name} cloud: set AZURE_CLOUD=${owner.name}, or remove ${name} (AZURE_CLOUD sets it).`
          : `Remove ${name} (AZURE_CLOUD=${cloud.name} sets it), or set AZURE_CLOUD=custom with AZURE_AUTHORITY_HOST, ` +
            `ARM_ENDPOINT and AZURE_KEY_VAULT_SUFFIX.`),
    );
  };
  mustAgree('AZURE_AUTHORITY_HOST', env.AZURE_AUTHORITY_HOST, 'authorityHost');
  mustAgree('ARM_ENDPOINT', env.ARM_ENDPOINT, 'armEndpoint');
  checkGraphEndpoint(env.GRAPH_ENDPOINT, cloud.name as Exclude<AzureCloudName, 'custom'>, problems);
  if (env.AZURE_KEY_VAULT_SUFFIX && env.AZURE_KEY_VAULT_SUFFIX.replace(/^\./, '').toLowerCase() !== cloud.keyVaultSuffix) {
    problems.add(
      'AZURE_KEY_VAULT_SUFFIX',
      `is ${cloud.keyVaultSuffix} in the ${cloud.name} cloud: remove it (AZURE_CLOUD sets it), or set AZURE_CLOUD=custom.`,
    );
  }
  return { ...cloud };
}

/** GRAPH_ENDPOINT must be one of the cloud's Graph hosts (no path), or loopback (a local simulator). */
function checkGraphEndpoint(given: string | undefined, cloud: Exclude<AzureCloudName, 'custom'>, problems: Problems): void {
  if (!given) return;
  const url = new URL(given);
  if (url.pathname.replace(/\/+$/, '') !== '' || url.search) {
    problems.add('GRAPH_ENDPOINT', `must be the Graph host only (${url.origin}), without a path or version: the client adds /v1.0`);
    return;
  }
  if (isLoopbackHost(url.hostname) || GRAPH_ENDPOINTS[cloud].some((known) => sameUrl(known, url.origin))) return;
  const owner = (Object.keys(GRAPH_ENDPOINTS) as Array<keyof typeof GRAPH_ENDPOINTS>).find((name) =>
    GRAPH_ENDPOINTS[name].some((known) => sameUrl(known, url.origin)),
  );
  problems.add(
    'GRAPH_ENDPOINT',
    `${url.origin} is not the ${cloud} cloud's Microsoft Graph (${GRAPH_ENDPOINTS[cloud].join(' or ')}). ` +
      (owner
        ? `It belongs to the ${owner} cloud: set AZURE_CLOUD=${owner}, or remove GRAPH_ENDPOINT (AZURE_CLOUD sets it).`
        : `Remove GRAPH_ENDPOINT (AZURE_CLOUD=${cloud} sets it), or set AZURE_CLOUD=custom.`),
  );
}

function resolveAuth(env: AzureEnv, problems: Problems): AzureAuth | undefined {
  const mode = env.AZURE_AUTH_MODE;
  const before = problems.count;
  const require = (
    name: 'AZURE_TENANT_ID' | 'AZURE_CLIENT_ID' | 'AZURE_CLIENT_SECRET' | 'AZURE_CLIENT_CERTIFICATE_PATH' | 'AZURE_FEDERATED_TOKEN_FILE',
  ) => {
    const value = env[name];
    if (!value) problems.add(name, `is required when AZURE_AUTH_MODE=${mode}`);
    return value ?? '';
  };
  const tenant = (required: boolean): string | undefined => {
    const value = required ? require('AZURE_TENANT_ID') : env.AZURE_TENANT_ID;
    if (value && !TENANT_ID.test(value))
      problems.add('AZURE_TENANT_ID', 'must be the directory (tenant) id, a GUID, or its domain (contoso.onmicrosoft.com)');
    return value || undefined;
  };

  switch (mode) {
    case 'managed-identity':
      return { mode, clientId: env.AZURE_CLIENT_ID };
    case 'azure-cli':
      return { mode, tenantId: tenant(false) };
    case 'client-secret': {
      const tenantId = tenant(true);
      const clientId = require('AZURE_CLIENT_ID');
      const secret = require('AZURE_CLIENT_SECRET');
      if (problems.count > before) return undefined;
      return { mode, tenantId: tenantId!, clientId, clientSecret: new SecretValue(secret) };
    }
    case 'client-certificate': {
      const tenantId = tenant(true);
      const clientId = require('AZURE_CLIENT_ID');
      const certificatePath = require('AZURE_CLIENT_CERTIFICATE_PATH');
      if (certificatePath) checkCertificateFile(certificatePath, env.AZURE_CLIENT_CERTIFICATE_PASSWORD, problems);
      if (problems.count > before) return undefined;
      return {
        mode,
        tenantId: tenantId!,
        clientId,
        certificatePath,
        certificatePassword:
          env.AZURE_CLIENT_CERTIFICATE_PASSWORD === undefined ? undefined : new SecretValue(env.AZURE_CLIENT_CERTIFICATE_PASSWORD),
      };
    }
    case 'workload-identity': {
      const tenantId = tenant(true);
      const clientId = require('AZURE_CLIENT_ID');
      const federatedTokenFile = require('AZURE_FEDERATED_TOKEN_FILE');
      if (federatedTokenFile) {
        try {
          fs.accessSync(federatedTokenFile, fs.constants.R_OK);
        } catch (error) {
          problems.add(
            'AZURE_FEDERATED_TOKEN_FILE',
            `cannot read ${federatedTokenFile} (${errorCode(error)}); on AKS, label the pod azure.workload.identity/use=true`,
          );
        }
      }
      if (problems.count > before) return undefined;
      return { mode, tenantId: tenantId!, clientId, federatedTokenFile };
    }
  }
}

/**
 * The SDK reads the file at every token request; check it now so a wrong path or password stops start-up.
 * Messages name the file, never the password.
 */
function checkCertificateFile(path: string, password: string | undefined, problems: Problems): void {
  let pem: string;
  try {
    pem = fs.readFileSync(path, 'utf8');
  } catch (error) {
    problems.add('AZURE_CLIENT_CERTIFICATE_PATH', `cannot read ${path} (${errorCode(error)})`);
    return;
  }
  const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  const keyBlock = /-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/.exec(pem);
  if (!certificateBlock || !keyBlock) {
    problems.add(
      'AZURE_CLIENT_CERTIFICATE_PATH',
      `${path} must be a PEM file holding the certificate and its private key (convert a .pfx with: openssl pkcs12 -in app.pfx ` +
        `-out app.pem -nodes)`,
    );
    return;
  }
  const encrypted = keyBlock[1] === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(keyBlock[0]);
  if (encrypted && password === undefined) {
    problems.add('AZURE_CLIENT_CERTIFICATE_PASSWORD', 'is required: the private key in AZURE_CLIENT_CERTIFICATE_PATH is encrypted');
    return;
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(encrypted ? { key: keyBlock[0], format: 'pem', passphrase: password } : keyBlock[0]);
  } catch {
    if (encrypted) problems.add('AZURE_CLIENT_CERTIFICATE_PASSWORD', 'does not decrypt the private key in AZURE_CLIENT_CERTIFICATE_PATH');
    else problems.add('AZURE_CLIENT_CERTIFICATE_PATH', `the private key in ${path} cannot be read`);
    return;
  }
  try {
    if (!new X509Certificate(certificateBlock).checkPrivateKey(key)) {
      problems.add('AZURE_CLIENT_CERTIFICATE_PATH', `the private key in ${path} does not belong to its (first) certificate`);
    }
  } catch {
    problems.add('AZURE_CLIENT_CERTIFICATE_PATH', `the certificate in ${path} cannot be read`);
  }
}

/**
 * Fails start-up when the vault is not in the configured cloud (its host must end with the cloud's Key Vault
 * suffix), saying what to change. A loopback host (127.0.0.1, localhost, NAME.vault.localhost) is a local
 * simulator and is accepted in any cloud. Returns the URL, so a loader can use it inline.
 */
export function checkKeyVaultUrl(url: string, azure: Pick<AzureEnvironment, 'cloud'>): string {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    throw new ConfigError('Invalid worker configuration:\n  AZURE_KEY_VAULT_URL: is not a URL');
  }
  const suffix = azure.cloud.keyVaultSuffix.toLowerCase();
  if (isLoopbackHost(host) || (host.endsWith(`.${suffix}`) && host.length > suffix.length + 1)) return url;
  const owner = Object.values(AZURE_CLOUDS).find((known) => host.endsWith(`.${known.keyVaultSuffix}`));
  const fix = owner
    ? `It is a vault of the ${owner.name} cloud: set AZURE_CLOUD=${owner.name}, or use a vault of the ${azure.cloud.name} cloud.`
    : azure.cloud.name === 'custom'
      ? 'Use a vault under AZURE_KEY_VAULT_SUFFIX, or correct AZURE_KEY_VAULT_SUFFIX.'
      : `Use the vault's URL as the portal shows it (https://<name>.${suffix}), or set AZURE_CLOUD to the vault's cloud.`;
  throw new ConfigError(
    `Invalid worker configuration:\n  AZURE_KEY_VAULT_URL: ${host} is not a Key Vault of the ${azure.cloud.name} cloud (vault ` +
      `hosts end with .${suffix}). ${fix}`,
  );
}

/** localhost, *.localhost (RFC 6761), 127.0.0.0/8 and ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(host) || host === '::1';
}

function trimUrl(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

function sameUrl(a: string, b: string): boolean {
  try {
    const left = new URL(a);
    const right = new URL(b);
    return left.origin === right.origin && left.pathname.replace(/\/+$/, '') === right.pathname.replace(/\/+$/, '');
  } catch {
    return false;
  }
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException)?.code ?? 'unreadable';
}
