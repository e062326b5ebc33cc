import { createHash } from 'node:crypto';
import type { WorkspaceRef } from './types';

/**
 * One workflow per incident: the id is derived from the workspace and the incident GUID, so a retried
 * Sentinel call finds the same workflow. The workspace name keeps the id readable; the short hash of the
 * full workspace address keeps two customers' identically named workspaces apart.
 */
export function verificationWorkflowId(workspace: WorkspaceRef, incidentId: string): string {
  const address = `${workspace.subscriptionId}/${workspace.resourceGroup}/${workspace.workspaceName}`.toLowerCase();
  const digest = createHash('sha256').update(address).digest('hex').slice(0, 8);
  return `idv-${workspace.workspaceName.toLowerCase()}-${digest}-${incidentId.toLowerCase()}`;
}

/**
 * Sentinel comment ids are chosen by the client; deriving them from the workflow and the step makes an
 * activity retry overwrite its own comment instead of adding a second one.
 */
export function deterministicGuid(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  // Shape it like a version-5 (name-based) UUID so services that validate GUIDs accept it.
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
