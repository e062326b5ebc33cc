import type { PipelinePolicy } from '@azure/core-rest-pipeline';

/** The services whose failed calls are counted in `itdr_api_errors_total`. */
export type ApiService = 'incode' | 'sentinel' | 'keyvault' | 'graph';

/** Called for every failed call to a dependency: `code` is the HTTP status, or `network` / `timeout`. */
export type ApiErrorObserver = (service: ApiService, code: string) => void;

/** `timeout` or `network` for a call that got no HTTP answer; the HTTP status otherwise. */
export function errorCodeOf(error: unknown): string {
  const status = (error as { statusCode?: unknown })?.statusCode;
  if (typeof status === 'number') return String(status);
  const name = (error as Error)?.name;
  return name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network';
}

/**
 * An Azure SDK pipeline policy that reports each failed operation (Sentinel through ARM, Key Vault). Added
 * `perCall`, it sits outside the SDK's retry and authentication policies: it sees the final answer of an
 * operation once, after the SDK's own retries, and not Key Vault's expected 401 challenge. Rest-level
 * clients (Key Vault) return error responses, core-client ones (ARM) throw a RestError: both are counted.
 */
export function apiErrorPolicy(service: ApiService, observe: ApiErrorObserver): { policy: PipelinePolicy; position: 'perCall' } {
  return {
    position: 'perCall',
    policy: {
      name: `itdrApiErrors-${service}`,
      async sendRequest(request, next) {
        let response;
        try {
          response = await next(request);
        } catch (error) {
          observe(service, errorCodeOf(error));
          throw error;
        }
        if (response.status >= 400) observe(service, String(response.status));
        return response;
      },
    },
  };
}
