import { z } from 'zod';
import {
  CLOSE_CLASSIFICATIONS,
  INCIDENT_SEVERITIES,
  type CloseClassification,
  type CloseClassificationReason,
  type VerificationPolicy,
} from '../shared/types';
import { durationSchema, optionalDurationSchema, reportOn } from './parse';

/** The gateway's default verification policy (POLICY_FILE's rules refine it per incident). */
export const policyShape = {
  VERIFICATION_TIMEOUT: durationSchema.default(24 * 3_600_000),
  RESULT_POLL_INTERVAL: durationSchema.default(5 * 60_000),
  LINK_VALIDITY_MINUTES: z.coerce
    .number()
    .int()
    .min(5)
    .max(60 * 24 * 30)
    .default(1440),
  CLOSE_CLASSIFICATION: z.enum(Object.keys(CLOSE_CLASSIFICATIONS) as [CloseClassification]).default('FalsePositive'),
  CLOSE_CLASSIFICATION_REASON: z.string().optional(),
  ESCALATION_SEVERITY: z.enum(INCIDENT_SEVERITIES).default('High'),
  FAILURE_LABEL: z.string().min(1).max(128).default('identity-verification-failed'),
  VERIFICATION_JOIN_WINDOW: optionalDurationSchema.default(3_600_000),
  REVIEW_TIMEOUT: durationSchema.default(8 * 3_600_000),
  REMINDER_INTERVAL: optionalDurationSchema.default(0),
  MAX_REMINDERS: z.coerce.number().int().min(0).max(20).default(2),
};

type PolicyEnv = z.infer<z.ZodObject<typeof policyShape>>;

/** The classification's reasons; unset, its first. */
function closeReason(env: Pick<PolicyEnv, 'CLOSE_CLASSIFICATION' | 'CLOSE_CLASSIFICATION_REASON'>): string {
  return env.CLOSE_CLASSIFICATION_REASON ?? CLOSE_CLASSIFICATIONS[env.CLOSE_CLASSIFICATION][0];
}

/** CLOSE_CLASSIFICATION_REASON must be one of CLOSE_CLASSIFICATION's reasons. */
export function checkPolicy(env: Pick<PolicyEnv, 'CLOSE_CLASSIFICATION' | 'CLOSE_CLASSIFICATION_REASON'>, ctx: z.RefinementCtx): void {
  const allowed: readonly string[] = CLOSE_CLASSIFICATIONS[env.CLOSE_CLASSIFICATION];
  const reason = closeReason(env);
  if (!allowed.includes(reason)) {
    reportOn(
      ctx,
      'CLOSE_CLASSIFICATION_REASON',
      `"${reason}" does not go with ${env.CLOSE_CLASSIFICATION} (CLOSE_CLASSIFICATION); use one of ${allowed.join(', ')}`,
    );
  }
}

/** From variables that passed `checkPolicy`. */
export function policyFrom(env: PolicyEnv): VerificationPolicy {
  return {
    timeoutMs: env.VERIFICATION_TIMEOUT,
    pollIntervalMs: env.RESULT_POLL_INTERVAL,
    linkValidityMinutes: env.LINK_VALIDITY_MINUTES,
    closeClassification: env.CLOSE_CLASSIFICATION,
    closeClassificationReason: closeReason(env) as CloseClassificationReason,
    escalationSeverity: env.ESCALATION_SEVERITY,
    failureLabel: env.FAILURE_LABEL,
    joinWindowMs: env.VERIFICATION_JOIN_WINDOW,
    reviewTimeoutMs: env.REVIEW_TIMEOUT,
    reminderIntervalMs: env.REMINDER_INTERVAL,
    maxReminders: env.MAX_REMINDERS,
  };
}
