import { Writable } from 'node:stream';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../tools/dev/local-stack';
import { workflowInterceptorModules } from '../../src/worker/create-worker';
import { connectTemporal, temporalAddress } from './temporal';

export const DEMO_USER = 'demo.user@contoso.com';
export const OTHER_USER = 'adele.vance@contoso.com';

/** Collects every log line the gateway and simulator write, so tests can assert what never appears in logs. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    callback();
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

export const INTAKE_LIFTED = {
  GATEWAY_INCIDENTS_PER_SUBSCRIPTION_PER_MINUTE: '1000000',
  GATEWAY_INCIDENT_BURST_PER_SUBSCRIPTION: '1000000',
} as const;

export interface TestStack extends LocalStack {
  logs: LogCapture;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  webhook(body: unknown, secret?: string): Promise<{ status: number; body: any; headers: Headers }>;
}

/**
 * Repeat-alert joining is off unless a test turns it on, so each incident gets its own verification. Each
 * subscription's share of new incidents is lifted too: a test file brings many unrelated incidents from the one
 * simulated subscription; test/e2e/subscription-intake.test.ts sets a share and asserts it.
 */
export async function startTestStack(
  env: Record<string, string> = {},
  options: Pick<LocalStackOptions, 'workerMetricsPort'> = {},
): Promise<TestStack> {
  env = { VERIFICATION_JOIN_WINDOW: '0', ...INTAKE_LIFTED, ...env };
  // The workflow code is bundled with the interceptors the production worker adds (outcome metrics; tracing when on).
  const interceptorModules = workflowInterceptorModules({ metrics: true, tracing: env.OTEL_TRACING_ENABLED === 'true' });
  const temporal = await connectTemporal('e2e', { interceptorModules });
  await temporal.close();
  const logs = new LogCapture();
  const stack = await startLocalStack({
    temporalAddress: temporalAddress(),
    taskQueue: temporal.config.taskQueue,
    directory: [DEMO_USER, OTHER_USER],
    env,
    workflowBundle: temporal.bundle,
    logDestination: logs,
    logLevel: 'info',
    ...options,
  });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${stack.gateway.url}${path}`, {
      method,
      headers: { 'x-api-key': stack.apiKey, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: keep the text for the assertion message.
    }
    return { status: response.status, body: parsed as any, headers: response.headers };
  };
  return {
    ...stack,
    logs,
    post: (path, body, headers) => call('POST', path, body, headers),
    get: (path, headers) => call('GET', path, undefined, headers),
    webhook: (body, secret = stack.webhookSecret) =>
      call('POST', '/api/webhooks/incode', body, { 'x-api-key': '', [stack.gatewayConfig.webhook.headerName]: secret }),
  };
}

/**
 * What the user does on the confirmation page: opens the link (GET, which decides nothing), then submits one
 * of its two forms, as a browser would (same origin, the page's nonce). Returns the answer's status and,
 * for "This was me", the Incode link it redirects to. `through`: the address that serves the link's origin
 * (a load balancer in front of the gateways), when the link's own host is not where this process reaches it.
 */
export async function answerConfirmationPage(
  verificationUrl: string,
  answer: 'was-me' | 'wasnt-me',
  options: { through?: string; signal?: AbortSignal } = {},
): Promise<{ status: number; location?: string; html: string }> {
  const link = new URL(verificationUrl);
  const url = options.through ? new URL(`${link.pathname}${link.search}`, options.through).toString() : verificationUrl;
  // A GET is safe to repeat: once more if a kept-alive connection was closed under us.
  const page = await fetch(url, { signal: options.signal }).catch(() => fetch(url, { signal: options.signal }));
  const html = await page.text();
  const nonce = /name="nonce" value="([^"]+)"/.exec(html)?.[1];
  if (page.status !== 200 || !nonce) return { status: page.status, html };
  const posted = await fetch(url, {
    method: 'POST',
    redirect: 'manual',
    signal: options.signal,
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: link.origin },
    body: new URLSearchParams({ nonce, answer }).toString(),
  });
  return { status: posted.status, location: posted.headers.get('location') ?? undefined, html: await posted.text() };
}
