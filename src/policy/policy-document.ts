import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, parseDuration } from '../config/parse';
import { CLOSE_CLASSIFICATIONS, INCIDENT_SEVERITIES, type IncidentSeverity, type VerificationPolicy } from '../shared/types';
import type { GroupRule, PolicySettings } from './policy-rules';

/**
 * The policy file (POLICY_FILE, YAML or JSON): defaults, then rules chosen by incident severity and by the
 * user's Entra group membership. See README "Policies" for an example. Validated at start-up.
 */
const duration = z.string().transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const settings = z.strictObject({
  timeout: duration.optional(),
  pollInterval: duration.optional(),
  reviewTimeout: duration.optional(),
  reminders: z.strictObject({ interval: duration, max: z.number().int().min(0).max(20) }).optional(),
  closeClassification: z.enum(['FalsePositive', 'BenignPositive']).optional(),
  closeClassificationReason: z.enum(['IncorrectAlertLogic', 'InaccurateData', 'SuspiciousButExpected']).optional(),
  escalationSeverity: z.enum(INCIDENT_SEVERITIES).optional(),
  remediation: z
    .array(z.enum(['revokeSessions', 'disableAccount']))
    .max(2)
    .optional(),
  linkDelivery: z.enum(['caller', 'incode-email', 'graph-email']).optional(),
  verificationLink: z.enum(['confirmation-page', 'incode-direct']).optional(),
  mailFrom: z.email().optional(),
  unknownUser: z.enum(['escalate', 'review']).optional(),
  guestUsers: z.enum(['escalate', 'review', 'verify']).optional(),
  profileMatching: z.boolean().optional(),
});

const guid = z.string().regex(/^[0-9a-fA-F-]{36}$/, 'must be a group object id');

const documentSchema = z.strictObject({
  defaults: settings.default({}),
  rules: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(80),
        when: z
          .strictObject({ severities: z.array(z.enum(INCIDENT_SEVERITIES)).min(1).optional(), groups: z.array(guid).min(1).optional() })
          .refine((when) => when.severities || when.groups, 'a rule needs severities or groups'),
        set: settings,
      }),
    )
    .max(50)
    .default([]),
});

export type PolicyDocument = z.infer<typeof documentSchema>;

export function parsePolicyDocument(text: string, source: string): PolicyDocument {
  let raw: unknown;
  try {
    raw = source.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(
      `Invalid gateway configuration:\n  POLICY_FILE: ${source} is not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'}: ` +
        `${(error as Error).message}`,
    );
  }
  const parsed = documentSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  POLICY_FILE ${source}: ${issue.path.join('.') || '(file)'}: ${issue.message}`);
    throw new ConfigError(`Invalid gateway configuration:\n${lines.join('\n')}`);
  }
  for (const [where, value] of [
    ['defaults', parsed.data.defaults],
    ...parsed.data.rules.map((rule) => [`rule "${rule.name}"`, rule.set] as const),
  ] as const) {
    const classification = value.closeClassification;
    const reason = value.closeClassificationReason;
    if (classification && reason && !(CLOSE_CLASSIFICATIONS[classification] as readonly string[]).includes(reason)) {
      throw new ConfigError(
        `Invalid gateway configuration:\n  POLICY_FILE ${source}: ${where}: ${reason} does not go with ${classification}`,
      );
    }
    if (value.linkDelivery === 'graph-email' && !value.mailFrom && !parsed.data.defaults.mailFrom) {
      throw new ConfigError(`Invalid gateway configuration:\n  POLICY_FILE ${source}: ${where}: linkDelivery graph-email needs mailFrom`);
    }
    // Incode's own e-mail carries Incode's link, which skips the confirmation page.
    if (value.linkDelivery === 'incode-email' && (value.verificationLink ?? parsed.data.defaults.verificationLink) !== 'incode-direct') {
      throw new ConfigError(
        `Invalid gateway configuration:\n  POLICY_FILE ${source}: ${where}: linkDelivery incode-email sends Incode's own link, ` +
          `which skips the confirmation page; it needs verificationLink: incode-direct`,
      );
    }
  }
  return parsed.data;
}

export function loadPolicyDocument(path: string): PolicyDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `Invalid gateway configuration:\n  POLICY_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parsePolicyDocument(text, path);
}

function toSettings(value: z.infer<typeof settings>): PolicySettings {
  return {
    timeoutMs: value.timeout,
    pollIntervalMs: value.pollInterval,
    reviewTimeoutMs: value.reviewTimeout,
    reminderIntervalMs: value.reminders?.interval,
    maxReminders: value.reminders?.max,
    closeClassification: value.closeClassification,
    closeClassificationReason: value.closeClassificationReason,
    escalationSeverity: value.escalationSeverity,
    remediation: value.remediation,
    linkDelivery: value.linkDelivery,
    verificationLink: value.verificationLink,
    mailFrom: value.mailFrom,
    unknownUserPath: value.unknownUser,
    guestUserPath: value.guestUsers,
    profileMatching: value.profileMatching,
  };
}

/**
 * The policy for one incident: environment defaults, the file's defaults, then every rule matching the
 * incident's severity without a group condition, in order. Rules with groups are handed to the workflow,
 * which knows the user's groups only after asking Microsoft Graph.
 */
export function resolvePolicy(
  base: VerificationPolicy,
  document: PolicyDocument | undefined,
  severity: IncidentSeverity | undefined,
): VerificationPolicy {
  if (!document) return base;
  let policy: VerificationPolicy = { ...base, ...defined(toSettings(document.defaults)) };
  const names: string[] = [];
  const groupRules: GroupRule[] = [];
  for (const rule of document.rules) {
    const severityMatches = !rule.when.severities || (severity !== undefined && rule.when.severities.includes(severity));
    if (!severityMatches) continue;
    if (rule.when.groups) {
      groupRules.push({ name: rule.name, groups: rule.when.groups, set: defined(toSettings(rule.set)) });
      continue;
    }
    policy = { ...policy, ...defined(toSettings(rule.set)) };
    names.push(rule.name);
  }
  return { ...policy, policyName: names.length ? names.join(' + ') : 'defaults', ...(groupRules.length ? { groupRules } : {}) };
}

function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
