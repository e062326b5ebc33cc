import { randomBytes } from 'node:crypto';

export interface SecretVersion {
  name: string;
  version: string;
  value: string;
  enabled: boolean;
  createdOn: Date;
  updatedOn: Date;
  expiresOn?: Date;
  notBefore?: Date;
  contentType?: string;
  tags?: Record<string, string>;
}

export interface SetSecretOptions {
  enabled?: boolean;
  expiresOn?: Date;
  notBefore?: Date;
  contentType?: string;
  tags?: Record<string, string>;
}

const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

export function isValidSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Versioned secrets of the simulated vault. Names are case-insensitive, as in Key Vault. */
export class KeyVaultStore {
  private readonly secrets = new Map<string, SecretVersion[]>();
  private readonly reads = new Map<string, number>();
  /** Authenticated secret reads served (challenges not counted): tests assert caching with it. */
  requestCount = 0;

  /** Adds a new version (the latest from now on) and returns it. */
  setSecret(name: string, value: string, options: SetSecretOptions = {}): SecretVersion {
    if (!isValidSecretName(name)) throw new Error(`invalid Key Vault secret name "${name}"`);
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const version: SecretVersion = {
      name,
      version: randomBytes(16).toString('hex'),
      value,
      enabled: options.enabled ?? true,
      createdOn: now,
      updatedOn: now,
      expiresOn: options.expiresOn,
      notBefore: options.notBefore,
      contentType: options.contentType,
      tags: options.tags,
    };
    const key = name.toLowerCase();
    this.secrets.set(key, [...(this.secrets.get(key) ?? []), version]);
    return { ...version };
  }

  /** Enables or disables one version (the latest by default) without adding a version, as the portal does. */
  setEnabled(name: string, enabled: boolean, version?: string): void {
    const found = this.find(name, version);
    if (!found) throw new Error(`no secret "${name}"${version ? ` version ${version}` : ''}`);
    found.enabled = enabled;
    found.updatedOn = new Date();
  }

  deleteSecret(name: string): boolean {
    return this.secrets.delete(name.toLowerCase());
  }

  getSecret(name: string, version?: string): SecretVersion | undefined {
    const found = this.find(name, version);
    return found && { ...found };
  }

  versions(name: string): SecretVersion[] {
    return (this.secrets.get(name.toLowerCase()) ?? []).map((version) => ({ ...version }));
  }

  names(): string[] {
    return [...this.secrets.values()].map((versions) => versions[versions.length - 1]?.name ?? '').filter(Boolean);
  }

  /** Authenticated reads of one secret, whatever their outcome. */
  readCount(name: string): number {
    return this.reads.get(name.toLowerCase()) ?? 0;
  }

  /** Called by the HTTP layer for each authenticated read. */
  countRead(name: string): void {
    this.requestCount += 1;
    this.reads.set(name.toLowerCase(), this.readCount(name) + 1);
  }

  private find(name: string, version?: string): SecretVersion | undefined {
    const versions = this.secrets.get(name.toLowerCase());
    if (!versions) return undefined;
    return version ? versions.find((candidate) => candidate.version === version.toLowerCase()) : versions[versions.length - 1];
  }
}
