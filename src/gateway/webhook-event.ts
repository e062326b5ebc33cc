import { z } from 'zod';
import type { IncodeSessionEvent } from '../shared/types';

/**
 * Incode's session webhook. Field names are not fully documented: accept `eventType` or the older
 * `onboardingStatus`, and `externalCustomerId` or `externalId`. Unknown fields are ignored.
 */
const webhookBody = z
  .object({
    eventType: z.string().min(1).max(64).optional(),
    onboardingStatus: z.string().min(1).max(64).optional(),
    interviewId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'is malformed')
      .optional(),
    externalCustomerId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,128}$/, 'is malformed')
      .optional(),
    externalId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,128}$/, 'is malformed')
      .optional(),
  })
  .refine((body) => body.eventType ?? body.onboardingStatus, { message: 'eventType (or onboardingStatus) is required' })
  .refine((body) => body.interviewId ?? body.externalCustomerId ?? body.externalId, {
    message: 'interviewId or externalCustomerId is required',
  });

/** Events that can carry a result and are worth waking the workflow for; the rest are acknowledged only. */
const RESULT_EVENTS = new Set([
  'SESSION_SUCCEEDED',
  'SESSION_FAILED',
  'SESSION_PENDING_REVIEW',
  'ONBOARDING_FINISHED',
  'MANUAL_REVIEW_APPROVED',
  'MANUAL_REVIEW_REJECTED',
]);

export interface ParsedWebhook {
  event: IncodeSessionEvent;
  wakesWorkflow: boolean;
}

export function parseWebhook(body: unknown, receivedAt: Date): { ok: true; value: ParsedWebhook } | { ok: false; issues: string[] } {
  const parsed = webhookBody.safeParse(body);
  if (!parsed.success) {
    return { ok: false, issues: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`) };
  }
  const eventType = (parsed.data.eventType ?? parsed.data.onboardingStatus ?? '').toUpperCase();
  return {
    ok: true,
    value: {
      event: {
        eventType,
        interviewId: parsed.data.interviewId,
        externalCustomerId: parsed.data.externalCustomerId ?? parsed.data.externalId,
        receivedAt: receivedAt.toISOString(),
      },
      wakesWorkflow: RESULT_EVENTS.has(eventType),
    },
  };
}
