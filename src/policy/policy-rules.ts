import type { VerificationPolicy } from '../shared/types';

/** Policy settings a file or rule can set; all optional. Pure types and functions: workflows import this. */
export type PolicySettings = Partial<
  Pick<
    VerificationPolicy,
    | 'timeoutMs'
    | 'pollIntervalMs'
    | 'reviewTimeoutMs'
    | 'reminderIntervalMs'
    | 'maxReminders'
    | 'closeClassification'
    | 'closeClassificationReason'
    | 'escalationSeverity'
    | 'remediation'
    | 'linkDelivery'
    | 'verificationLink'
    | 'mailFrom'
    | 'unknownUserPath'
    | 'guestUserPath'
    | 'profileMatching'
  >
>;

export interface GroupRule {
  name: string;
  groups: string[];
  set: PolicySettings;
}

/** Applies, in order, every group rule whose groups intersect the user's; deterministic, for use in workflows. */
export function applyGroupRules(policy: VerificationPolicy, groupIds: readonly string[]): VerificationPolicy {
  const member = new Set(groupIds.map((id) => id.toLowerCase()));
  let effective = policy;
  const names: string[] = [];
  for (const rule of policy.groupRules ?? []) {
    if (!rule.groups.some((group) => member.has(group.toLowerCase()))) continue;
    effective = { ...effective, ...rule.set };
    names.push(rule.name);
  }
  if (names.length === 0) return effective;
  const base = policy.policyName && policy.policyName !== 'defaults' ? `${policy.policyName} + ` : '';
  return { ...effective, policyName: base + names.join(' + ') };
}

/** Whether the workflow must read the user's Entra profile before it can act. */
export function needsEntraProfile(policy: VerificationPolicy): boolean {
  return (
    (policy.groupRules?.length ?? 0) > 0 ||
    policy.profileMatching === true ||
    (policy.guestUserPath !== undefined && policy.guestUserPath !== 'verify') ||
    (policy.remediation?.length ?? 0) > 0
  );
}
