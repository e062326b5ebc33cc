import type { WorkspaceRef } from './options';
import {
  workspaceArmId,
  type AuditEntry,
  type CommentResource,
  type EntityResource,
  type IncidentResource,
  type SentinelStore,
  type WorkspaceInfo,
} from './sentinel-store';
import type { IncodeSession } from './incode-store';
import { renderIncidentForms, renderSeedForm, renderSessions, type PlaybookRun } from './sentinel-forms';
import { escapeHtml } from './verification-page';

/**
 * A read-only look at the simulated Sentinel for a person: GET /simulator/sentinel on the ARM server renders
 * every incident (every workspace) with its comments, so a newcomer can watch the product close or escalate it.
 */

export const SENTINEL_PAGE_TITLE = 'Microsoft Sentinel incidents (simulator)';
export const SENTINEL_PAGE_REFRESH_SECONDS = 5;

export interface IncidentComment {
  name: string;
  message: string;
  createdTimeUtc: string;
  lastModifiedTimeUtc: string;
  author: CommentResource['properties']['author'];
}

export interface IncidentAccount {
  accountName: string;
  upnSuffix: string;
  aadUserId?: string;
  friendlyName: string;
  displayName?: string;
}

/** One incident as the admin routes and the page show it. */
export interface IncidentView extends IncidentResource {
  workspace: WorkspaceRef;
  accounts: IncidentAccount[];
  /** Oldest first. */
  comments: IncidentComment[];
}

export interface IncidentDetailView extends IncidentView {
  audit: AuditEntry[];
}

/** Every incident of every workspace, newest first (highest incident number first). */
export function collectIncidents(store: SentinelStore): IncidentView[] {
  return workspacesOf(store)
    .flatMap((workspace) => (store.listIncidents(workspace) ?? []).map((incident) => toView(store, workspace, incident)))
    .sort((a, b) => b.properties.incidentNumber - a.properties.incidentNumber);
}

/** One incident with its audit log; the first match when several workspaces hold the id (narrow with `workspace`). */
export function incidentDetail(
  store: SentinelStore,
  incidentId: string,
  workspace?: Partial<WorkspaceRef>,
): IncidentDetailView | undefined {
  const incident = store.getIncident(incidentId, workspace);
  if (!incident) return undefined;
  const ref =
    workspacesOf(store).find((candidate) => incident.id.toLowerCase().startsWith(incidentsPrefix(candidate))) ??
    workspaceOfId(incident.id) ??
    store.defaultWorkspace;
  return { ...toView(store, ref, incident), audit: store.auditLog(incident.name, ref) };
}

/** With the forms (the simulator serves them when it knows Incode and Graph): what they show besides the incidents. */
export interface SentinelPageForms {
  playbookConfigured: boolean;
  lastPlaybookRun(incidentId: string): PlaybookRun | undefined;
  sessions: readonly IncodeSession[];
  /** The confirmation page a session's user answers first, when the playbook's answer gave one. */
  confirmationLink?(interviewId: string): string | undefined;
  /** A message from the last form (e.g. a session that had already finished). */
  notice?: string;
}

/** The page: pure function of the incidents (as collectIncidents returns them), the render time and the forms' data. */
export function renderSentinelPage(incidents: readonly IncidentView[], now: Date = new Date(), forms?: SentinelPageForms): string {
  const notice = forms?.notice ? `\n    <p class="notice" role="status">${escapeHtml(forms.notice)}</p>` : '';
  const formsHtml = forms
    ? `${notice}${renderSeedForm(forms.playbookConfigured)}` +
      renderSessions(forms.sessions, now.getTime(), (interviewId) => forms.confirmationLink?.(interviewId))
    : '';
  const body =
    formsHtml +
    (incidents.length
      ? incidents.map((incident) => renderIncident(incident, forms)).join('')
      : `\n    <p class="empty">No incidents yet. Seed one${forms ? ' above' : ' (POST /simulator/sentinel/incidents)'} or start ` +
        `a verification.</p>`);
  const closed = incidents.filter((incident) => incident.properties.status === 'Closed').length;
  return (
    `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta http-equiv="refresh" content="${SENTINEL_PAGE_REFRESH_SECONDS}">
  <title>${escapeHtml(SENTINEL_PAGE_TITLE)}</title>
  <style>
    body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; background: #f4f6f8; color: #1d2630; margin: 0; }
    header { max-width: 60rem; margin: 2rem auto 1rem; padding: 0 1rem; }
    header h1 { font-size: 1.4rem; margin: 0 0 .3rem; }
    header p { margin: 0; font-size: .85rem; color: #5b6875; }
    main { max-width: 60rem; margin: 0 auto 2rem; padding: 0 1rem; }
    article { background: #fff; border-radius: 12px; padding: 1.2rem 1.5rem; margin-bottom: 1rem; box-shadow: 0 2px 12px ` +
    `rgba(0,0,0,.08); overflow-wrap: anywhere; }
    article.closed { opacity: .92; }
    h2 { font-size: 1.1rem; margin: 0 0 .6rem; display: flex; flex-wrap: wrap; gap: .5rem; align-items: baseline; }
    h2 .number { color: #5b6875; font-weight: 500; }
    .badge { display: inline-block; font-size: .75rem; font-weight: 600; padding: .15rem .55rem; border-radius: 999px; ` +
    `background: #e4e9ee; color: #1d2630; }
    .sev-high { background: #fbe3e1; color: #8c1d18; } .sev-medium { background: #fdefd8; color: #7a4b00; }
    .sev-low { background: #e3effb; color: #174a7c; } .sev-informational { background: #eceff2; color: #44515d; }
    .st-new { background: #e3effb; color: #174a7c; } .st-active { background: #fdefd8; color: #7a4b00; } .st-closed { background: ` +
    `#dff3e7; color: #14532d; }
    .label { background: #eef0fb; color: #2f3a8f; font-weight: 500; }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0 0 .8rem; font-size: .9rem; }
    dt { color: #5b6875; } dd { margin: 0; }
    .muted { color: #7a8794; }
    h3 { font-size: .9rem; margin: .8rem 0 .4rem; color: #44515d; }
    ol.comments { list-style: none; padding: 0; margin: 0; }
    ol.comments li { border-left: 3px solid #c9d2db; padding: .2rem 0 .2rem .7rem; margin-bottom: .6rem; }
    .meta { font-size: .75rem; color: #7a8794; }
    pre { white-space: pre-wrap; overflow-wrap: anywhere; font-family: inherit; font-size: .9rem; margin: .2rem 0 0; }
    .empty { text-align: center; color: #5b6875; padding: 2rem; }
    footer { text-align: center; font-size: .75rem; color: #7a8794; margin-bottom: 2rem; }
    .card { display: block; background: #fff; border-radius: 12px; padding: 1rem 1.5rem; margin-bottom: 1rem; box-shadow: 0 2px ` +
    `12px rgba(0,0,0,.08); }
    .card label { margin-right: 1rem; font-size: .9rem; }
    .actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: .5rem 0; }
    .actions form { display: inline-flex; gap: .3rem; }
    ul.sessions { list-style: none; padding: 0; margin: 0; } ul.sessions li { margin-bottom: .8rem; }
    .notice { background: #fdefd8; padding: .6rem 1rem; border-radius: 8px; }
    .playbook { font-size: .85rem; }
  </style>
</head>
<body>
  <header>
    <h1>${escapeHtml(SENTINEL_PAGE_TITLE)}</h1>
    <p>${incidents.length} incident${incidents.length === 1 ? '' : 's'}, ${closed} closed. ` +
    `Newest first; refreshes every ${SENTINEL_PAGE_REFRESH_SECONDS} ` +
    `s (last ${renderTime(now.toISOString())}). JSON: <a ` +
    `href="/simulator/sentinel/incidents">/simulator/sentinel/incidents</a></p>
  </header>
  <main>${body}
  </main>
  <footer>itdr-verify simulator: not Microsoft Sentinel</footer>
</body>
</html>
`
  );
}

function renderIncident(incident: IncidentView, forms?: SentinelPageForms): string {
  const p = incident.properties;
  const classification = p.classification
    ? `${escapeHtml(p.classification)}${p.classificationReason ? ` / ${escapeHtml(p.classificationReason)}` : ''}`
    : `<span class="muted">none</span>`;
  const labels = p.labels.length
    ? p.labels.map((label) => `<span class="badge label">${escapeHtml(label.labelName)}</span>`).join(' ')
    : `<span class="muted">none</span>`;
  const accounts = incident.accounts.length ? incident.accounts.map(renderAccount).join('<br>') : `<span class="muted">none</span>`;
  const owner = p.owner.assignedTo ?? p.owner.userPrincipalName ?? p.owner.email;
  const incidentForms = forms
    ? renderIncidentForms(incident.name, p.severity, p.status, forms.lastPlaybookRun(incident.name), forms.playbookConfigured)
    : '';
  const rows: Array<[string, string]> = [
    ['Classification', classification],
    ...(p.classificationComment
      ? [['Classification comment', `<pre>${escapeHtml(p.classificationComment)}</pre>`] as [string, string]]
      : []),
    ['Labels', labels],
    ['Account(s)', accounts],
    ...(owner ? [['Owner', escapeHtml(owner)] as [string, string]] : []),
    ['Last modified', renderTime(p.lastModifiedTimeUtc)],
    ['Created', renderTime(p.createdTimeUtc)],
    ['Incident', `<span class="muted">${escapeHtml(incident.name)} in ${escapeHtml(incident.workspace.workspaceName)}</span>`],
  ];
  const comments = incident.comments.length
    ? `\n        <ol class="comments">${incident.comments.map(renderComment).join('')}\n        </ol>`
    : `\n        <p class="muted">No comments.</p>`;
  return `
    <article class="${p.status === 'Closed' ? 'closed' : 'open'}" id="incident-${escapeHtml(incident.name)}">
      <h2><span class="number">#${Number(p.incidentNumber)}</span> <span class="title">${escapeHtml(p.title)}</span>
        <span class="badge ${severityClass(p.severity)}">${escapeHtml(p.severity)}</span>
        <span class="badge ${statusClass(p.status)}">${escapeHtml(p.status)}</span></h2>
      <dl>${rows.map(([term, value]) => `\n        <dt>${escapeHtml(term)}</dt><dd>${value}</dd>`).join('')}
      </dl>${incidentForms}
      <section>
        <h3>Comments (${incident.comments.length})</h3>${comments}
      </section>
    </article>`;
}

function renderAccount(account: IncidentAccount): string {
  const upn = `${account.accountName}@${account.upnSuffix}`;
  const name = account.displayName ?? account.friendlyName;
  return name && name !== account.accountName ? `${escapeHtml(name)} <span class="muted">(${escapeHtml(upn)})</span>` : escapeHtml(upn);
}

function renderComment(comment: IncidentComment): string {
  const author = comment.author.name ?? comment.author.userPrincipalName ?? comment.author.email ?? comment.author.objectId;
  const edited = comment.lastModifiedTimeUtc !== comment.createdTimeUtc ? `, edited ${renderTime(comment.lastModifiedTimeUtc)}` : '';
  return (
    `
          <li><div ` +
    `class="meta">${renderTime(comment.createdTimeUtc)}${author ? ` by ${escapeHtml(author)}` : ''}${edited}</div>` +
    `<pre>${escapeHtml(comment.message)}</pre></li>`
  );
}

// Class names come from fixed lists, never from the data.
function severityClass(severity: string): string {
  const known: Record<string, string> = { High: 'sev-high', Medium: 'sev-medium', Low: 'sev-low', Informational: 'sev-informational' };
  return known[severity] ?? '';
}

function statusClass(status: string): string {
  const known: Record<string, string> = { New: 'st-new', Active: 'st-active', Closed: 'st-closed' };
  return known[status] ?? '';
}

function renderTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return escapeHtml(iso);
  const shown = date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');
  return `<time datetime="${escapeHtml(date.toISOString())}">${escapeHtml(shown)}</time>`;
}

function toView(store: SentinelStore, workspace: WorkspaceRef, incident: IncidentResource): IncidentView {
  const ref: WorkspaceRef = {
    subscriptionId: workspace.subscriptionId,
    resourceGroup: workspace.resourceGroup,
    workspaceName: workspace.workspaceName,
  };
  const comments = store
    .listComments(incident.name, ref)
    .map((comment) => ({ name: comment.name, ...comment.properties }))
    .sort((a, b) => a.createdTimeUtc.localeCompare(b.createdTimeUtc));
  const accounts = (store.listEntities(incident.name, ref) ?? []).flatMap((entity) =>
    entity.kind === 'Account' ? [accountOf(entity)] : [],
  );
  return { workspace: ref, ...incident, accounts, comments };
}

function accountOf(entity: Extract<EntityResource, { kind: 'Account' }>): IncidentAccount {
  const { accountName, upnSuffix, aadUserId, friendlyName, displayName } = entity.properties;
  return { accountName, upnSuffix, aadUserId, friendlyName, displayName };
}

function workspacesOf(store: SentinelStore): WorkspaceInfo[] {
  return store.listWorkspaces();
}

function incidentsPrefix(ref: WorkspaceRef): string {
  return `${workspaceArmId(ref)}/providers/Microsoft.SecurityInsights/Incidents/`.toLowerCase();
}

/** The workspace an incident's ARM id names. */
function workspaceOfId(id: string): WorkspaceRef | undefined {
  const match =
    /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.OperationalInsights\/workspaces\/([^/]+)\//i.exec(id);
  return match?.[1] && match[2] && match[3] ? { subscriptionId: match[1], resourceGroup: match[2], workspaceName: match[3] } : undefined;
}
