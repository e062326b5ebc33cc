import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import https from 'node:https';

/**
 * An HTTPS agent that resolves NAME.localhost to 127.0.0.1 (RFC 6761 reserves the whole .localhost zone for
 * loopback, but glibc without systemd-resolved does not resolve subdomains). With it, a Key Vault client can
 * address the simulator as https://NAME.vault.localhost:PORT and keep the SDK's challenge-resource
 * verification on: pass it as the `agent` client option.
 */
export function localhostSubdomainAgent(options: https.AgentOptions = {}): https.Agent {
  return new https.Agent({ keepAlive: true, ...options, lookup: lookupLocalhost });
}

/** The simulator's Key Vault URL rewritten to NAME.vault.localhost, for use with localhostSubdomainAgent. */
export function vaultLocalhostUrl(keyVaultUrl: string, vaultName = 'itdr'): string {
  const url = new URL(keyVaultUrl);
  return `https://${vaultName}.vault.localhost:${url.port}`;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function lookupLocalhost(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  if (!hostname.toLowerCase().endsWith('.localhost')) {
    dns.lookup(hostname, options, (error, address, family) => callback(error, address, family));
    return;
  }
  // Node 20 connects with autoSelectFamily, which asks for every address at once.
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}
