import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SIMULATED_SERVICES, type SimulatedService } from './services';

export const faultSpecSchema = z
  .object({
    service: z.enum(SIMULATED_SERVICES as [SimulatedService, ...SimulatedService[]]),
    method: z.string().min(1).max(16).optional(),
    /** Case-insensitive substring of the request path and query. */
    pathIncludes: z.string().min(1).max(2000).optional(),
    status: z.number().int().min(400).max(599).optional(),
    retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
    delayMs: z.number().int().min(0).max(120_000).optional(),
    /** The real handler runs (its change is applied), then the connection is cut before the answer arrives. */
    loseResponse: z.boolean().optional(),
    times: z.number().int().min(1).max(1_000_000),
  })
  .strict();

export type FaultSpec = z.infer<typeof faultSpecSchema>;

export interface Fault extends FaultSpec {
  readonly id: string;
  /** How many more requests it will hit. */
  remaining: number;
  /** How many requests it has hit so far. */
  hits: number;
}

/**
 * What a matched fault does: wait `delayMs`, then answer `status` (if any) or let the real handler answer,
 * and with `loseResponse` cut the connection instead of delivering that answer.
 */
export interface FaultAction {
  fault: Fault;
  delayMs: number;
  status?: number;
  retryAfterSeconds?: number;
  loseResponse: boolean;
}

/**
 * Injected failures, shared by the five servers. Each fault hits the next `times` matching requests; a fault
 * with `retryAfterSeconds` but no `status` answers 429.
 */
export class FaultStore {
  private faults: Fault[] = [];

  add(spec: FaultSpec): Fault {
    const parsed = faultSpecSchema.safeParse(spec);
    if (!parsed.success) throw new Error(`invalid fault: ${z.prettifyError(parsed.error)}`);
    const fault: Fault = { ...parsed.data, id: randomUUID(), remaining: parsed.data.times, hits: 0 };
    this.faults.push(fault);
    return fault;
  }

  /** Removes every fault, or only those of one service. */
  clear(service?: SimulatedService): void {
    this.faults = service ? this.faults.filter((fault) => fault.service !== service) : [];
  }

  list(): Fault[] {
    return [...this.faults];
  }

  /** Consumes one hit of the first fault matching this request, if any. */
  take(service: SimulatedService, method: string, pathAndQuery: string): FaultAction | undefined {
    const target = pathAndQuery.toLowerCase();
    const fault = this.faults.find(
      (candidate) =>
        candidate.service === service &&
        candidate.remaining > 0 &&
        (!candidate.method || candidate.method.toUpperCase() === method.toUpperCase()) &&
        (!candidate.pathIncludes || target.includes(candidate.pathIncludes.toLowerCase())),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    fault.hits += 1;
    if (fault.remaining === 0) this.faults = this.faults.filter((candidate) => candidate !== fault);
    const status = fault.status ?? (fault.retryAfterSeconds !== undefined ? 429 : undefined);
    return {
      fault,
      delayMs: fault.delayMs ?? 0,
      status,
      retryAfterSeconds: fault.retryAfterSeconds,
      loseResponse: fault.loseResponse === true,
    };
  }
}
