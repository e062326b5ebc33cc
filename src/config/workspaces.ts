import { z } from 'zod';
import type { WorkspaceRef } from '../shared/types';
import { csvSchema, parseEnv } from './parse';

/** The Sentinel workspaces a deployment serves: the default one (SENTINEL_*) and, for an MSSP, more. */

export const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const RESOURCE_GROUP = /^[-\w._()]{1,90}$/;
const WORKSPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{2,62}$/;

export const subscriptionIdSchema = z.string().regex(/^[0-9a-fA-F-]{36}$/, 'must be a subscription GUID');

export const workspaceShape = {
  SENTINEL_SUBSCRIPTION_ID: subscriptionIdSchema,
  SENTINEL_RESOURCE_GROUP: z.string().min(1),
  SENTINEL_WORKSPACE_NAME: z.string().min(1),
};

/** Why one `subscriptionId/resourceGroup/workspaceName` entry is not a workspace, or undefined. */
function entryProblem(parts: string[]): string | undefined {
  const [subscriptionId = '', resourceGroup = '', workspaceName = ''] = parts;
  if (parts.length !== 3) return 'is not subscriptionId/resourceGroup/workspaceName';
  if (!GUID.test(subscriptionId)) return 'its subscription id is not a GUID';
  if (!RESOURCE_GROUP.test(resourceGroup) || resourceGroup.endsWith('.')) return 'its resource group name is not valid';
  if (!WORKSPACE_NAME.test(workspaceName)) return 'its workspace name is not valid (4-63 letters, digits and hyphens)';
  return undefined;
}

/**
 * `SENTINEL_ALLOWED_WORKSPACES=<subscriptionId>/<resourceGroup>/<workspaceName>,...`: more workspaces this
 * deployment serves (an MSSP serving several customers), besides the default one. Unset: none.
 */
export const allowedWorkspacesSchema = csvSchema
  .transform((entries, ctx): WorkspaceRef[] =>
    entries.flatMap((entry) => {
      const parts = entry.split('/').map((part) => part.trim());
      const problem = entryProblem(parts);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: `"${entry}" ${problem}` });
        return [];
      }
      const [subscriptionId, resourceGroup, workspaceName] = parts as [string, string, string];
      return [{ subscriptionId, resourceGroup, workspaceName }];
    }),
  )
  .default([]);

/** The default workspace first, then each other one, each once (case-insensitive). */
export function servedWorkspaces(defaultWorkspace: WorkspaceRef, others: WorkspaceRef[]): WorkspaceRef[] {
  const key = (ref: WorkspaceRef) => `${ref.subscriptionId}/${ref.resourceGroup}/${ref.workspaceName}`.toLowerCase();
  const served = new Map<string, WorkspaceRef>();
  for (const ref of [defaultWorkspace, ...others]) if (!served.has(key(ref))) served.set(key(ref), ref);
  return [...served.values()];
}

/** The default subscription first, then each other one of the served workspaces, lower case, each once. */
export function servedSubscriptions(defaultSubscription: string, others: WorkspaceRef[]): string[] {
  return [...new Set([defaultSubscription, ...others.map((ref) => ref.subscriptionId)].map((id) => id.toLowerCase()))];
}

/** SENTINEL_SUBSCRIPTION_ID, _RESOURCE_GROUP, _WORKSPACE_NAME when all are set (the doctor's Sentinel check); undefined when none is. */
export function loadWorkspaceRef(env: NodeJS.ProcessEnv = process.env): WorkspaceRef | undefined {
  if (!Object.keys(workspaceShape).some((name) => env[name]?.trim())) return undefined;
  const parsed = parseEnv(z.object(workspaceShape), env, 'Sentinel workspace');
  return {
    subscriptionId: parsed.SENTINEL_SUBSCRIPTION_ID,
    resourceGroup: parsed.SENTINEL_RESOURCE_GROUP,
    workspaceName: parsed.SENTINEL_WORKSPACE_NAME,
  };
}
