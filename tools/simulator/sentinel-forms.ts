import express, { type Request, type Response, type Router } from 'express';
import type { GraphStore } from './graph-store';
import { IncodeSessionError, type IncodeSession, type IncodeStore } from './incode-store';
import {
  CLASSIFICATIONS,
  REASONS_FOR,
  SEVERITIES,
  type AccountInput,
  type Classification,
  type SentinelStore,
  type Severity,
} from './sentinel-store';
import { escapeHtml, maskEmail } from './verification-page';

/**
 * The Sentinel page's plain HTML forms (no script), so a person tries every path without reading code:
 * seed an incident (one account, several, a guest, an unknown user, none), act as the analyst (close it,
 * change its severity), run the Sentinel playbook (the gateway call an automation rule makes), and answer as the
 * user: the gateway's confirmation page first (linked per session), then Incode (every outcome the flow knows).
 * Each form posts to /simulator/sentinel/forms/... and is answered with a redirect back to the page
 * (post/redirect/get).
 */

/** The people the seed form uses; all but the unknown one are added to the simulated Incode directory. */
export const SEED_SCENARIOS = {
  one: { label: 'one account (demo.user)', accounts: ['demo.user@contoso.com'] },
  several: { label: 'several accounts (demo.user, adele.vance)', accounts: ['demo.user@contoso.com', 'adele.vance@contoso.com'] },
  guest: { label: 'a guest (B2B) account', accounts: ['megan.bowen@fabrikam.com'] },
  unknown: { label: 'a user Incode does not know', accounts: ['unknown.user@contoso.com'] },
  none: { label: 'no account at all', accounts: [] },
} as const satisfies Record<string, { label: string; accounts: readonly string[] }>;
export type SeedScenario = keyof typeof SEED_SCENARIOS;

/** What the user can answer at Incode: the session outcomes, and a check passed by someone else. */
export const USER_ANSWERS = {
  succeeded: 'Verified (the check passes)',
  failed: 'Failed (the check fails)',
  'pending-review': "Manual review (Incode's reviewers decide)",
  'someone-else': 'Verified, but as another person',
} as const;
export type UserAnswer = keyof typeof USER_ANSWERS;

/** Where the simulated Sentinel's automation rule sends its playbook: the gateway's POST /api/incidents. */
export interface PlaybookTarget {
  url: string;
  headers: Record<string, string>;
}

export interface PlaybookRun {
  at: string;
  eventType: 'Create' | 'Update';
  httpStatus: number | null;
  /** `status` or `error.code` of the answer. */
  answer: string;
  verificationUrl?: string;
}

/** The gateway's answer, as far as the page uses it. */
interface PlaybookAnswer {
  status?: string;
  error?: { code?: string };
  verificationUrl?: string;
  interviewId?: string;
  confirmationPage?: boolean;
  verifications?: Array<{ interviewId?: string; verificationUrl?: string }>;
}

/**
 * Runs the playbook for an incident and remembers the last answer per incident, and each Incode session's
 * confirmation page link, for the page.
 */
export class SimulatedPlaybook {
  target?: PlaybookTarget;
  private readonly runs = new Map<string, PlaybookRun>();
  private readonly confirmationLinks = new Map<string, string>();

  lastRun(incidentId: string): PlaybookRun | undefined {
    return this.runs.get(incidentId.toLowerCase());
  }

  /** The confirmation page ("was this you?") a session's user answers before Incode's check, if the gateway gave one. */
  confirmationLink(interviewId: string): string | undefined {
    return this.confirmationLinks.get(interviewId.toLowerCase());
  }

  private rememberConfirmationLinks(answer: PlaybookAnswer): void {
    // Without the page (policy verificationLink: incode-direct) the link is Incode's own: nothing to confirm first.
    if (!answer.confirmationPage) return;
    const links = answer.verifications ?? [{ interviewId: answer.interviewId, verificationUrl: answer.verificationUrl }];
    for (const { interviewId, verificationUrl } of links) {
      if (interviewId && verificationUrl) this.confirmationLinks.set(interviewId.toLowerCase(), verificationUrl);
    }
  }

  async run(sentinel: SentinelStore, incidentId: string, eventType: 'Create' | 'Update'): Promise<PlaybookRun | undefined> {
    const target = this.target;
    if (!target) return undefined;
    const body = sentinel.playbookTrigger(incidentId, eventType);
    let run: PlaybookRun;
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        headers: { ...target.headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const answer = (await response.json().catch(() => ({}))) as PlaybookAnswer;
      this.rememberConfirmationLinks(answer);
      run = {
        at: new Date().toISOString(),
        eventType,
        httpStatus: response.status,
        answer: answer.error?.code ?? answer.status ?? '',
        ...(answer.verificationUrl ? { verificationUrl: answer.verificationUrl } : {}),
      };
    } catch (error) {
      run = { at: new Date().toISOString(), eventType, httpStatus: null, answer: (error as Error).message };
    }
    this.runs.set(incidentId.toLowerCase(), run);
    return run;
  }
}

export interface SentinelFormsDependencies {
  sentinel: SentinelStore;
  incode: IncodeStore;
  graph: GraphStore;
  playbook: SimulatedPlaybook;
}

const FORMS = '/simulator/sentinel/forms';
const PAGE = '/simulator/sentinel';

function field(req: Request, name: string): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.trim() : '';
}

function back(res: Response, anchor?: string, notice?: string): void {
  const query = notice ? `?notice=${encodeURIComponent(notice)}` : '';
  res.redirect(303, `${PAGE}${query}${anchor ? `#${anchor}` : ''}`);
}

function accountOf(upn: string): AccountInput {
  const at = upn.lastIndexOf('@');
  return { accountName: upn.slice(0, at), upnSuffix: upn.slice(at + 1) };
}

export function sentinelFormsRouter(deps: SentinelFormsDependencies): Router {
  const router = express.Router();
  router.use('/sentinel/forms', express.urlencoded({ extended: false, limit: '8kb' }));

  router.post('/sentinel/forms/seed', async (req, res) => {
    const scenario = field(req, 'scenario') as SeedScenario;
    const severity = field(req, 'severity') as Severity;
    if (!(scenario in SEED_SCENARIOS) || !SEVERITIES.includes(severity)) {
      res
        .status(400)
        .type('text/plain')
        .send(`scenario must be one of ${Object.keys(SEED_SCENARIOS).join(', ')}; severity one of ${SEVERITIES.join(', ')}`);
      return;
    }
    const accounts = SEED_SCENARIOS[scenario].accounts.map((upn: string) => {
      // A guest as Sentinel names one: by their home address, with the object id Graph answers "Guest" for.
      if (scenario === 'guest') {
        const guest =
          deps.graph.getUser(upn) ??
          deps.graph.addUser({ userPrincipalName: upn, givenName: 'Megan', surname: 'Bowen', userType: 'Guest' });
        return { ...accountOf(upn), aadUserId: guest.id };
      }
      return accountOf(upn);
    });
    for (const account of accounts) {
      if (scenario !== 'unknown') deps.incode.addDirectoryUser(`${account.accountName}@${account.upnSuffix}`);
    }
    const title = field(req, 'title').slice(0, 200) || `Suspicious sign-in: ${SEED_SCENARIOS[scenario].label}`;
    const incident = deps.sentinel.seedIncident({ title, severity, accounts });
    if (field(req, 'playbook') === 'on') await deps.playbook.run(deps.sentinel, incident.name, 'Create');
    back(res, `incident-${incident.name}`);
  });

  router.post('/sentinel/forms/incidents/:incidentId/playbook', async (req, res) => {
    const incidentId = req.params.incidentId ?? '';
    if (!deps.sentinel.getIncident(incidentId)) return notFound(res, incidentId);
    await deps.playbook.run(deps.sentinel, incidentId, 'Create');
    back(res, `incident-${incidentId}`);
  });

  router.post('/sentinel/forms/incidents/:incidentId/analyst', async (req, res) => {
    const incidentId = req.params.incidentId ?? '';
    const incident = deps.sentinel.getIncident(incidentId);
    if (!incident) return notFound(res, incidentId);
    const action = field(req, 'action');
    if (action === 'close') {
      const classification = (field(req, 'classification') || 'TruePositive') as Classification;
      if (!CLASSIFICATIONS.includes(classification)) {
        res
          .status(400)
          .type('text/plain')
          .send(`classification must be one of ${CLASSIFICATIONS.join(', ')}`);
        return;
      }
      deps.sentinel.simulateAnalystEdit(incidentId, {
        status: 'Closed',
        classification,
        classificationReason: REASONS_FOR[classification][0] ?? null,
        classificationComment: 'Closed by an analyst (simulator page)',
      });
    } else if (action === 'severity') {
      const severity = field(req, 'severity') as Severity;
      if (!SEVERITIES.includes(severity)) {
        res
          .status(400)
          .type('text/plain')
          .send(`severity must be one of ${SEVERITIES.join(', ')}`);
        return;
      }
      deps.sentinel.simulateAnalystEdit(incidentId, { severity });
    } else {
      res.status(400).type('text/plain').send('action must be close or severity');
      return;
    }
    // Sentinel's incident-update automation rule runs the playbook too.
    await deps.playbook.run(deps.sentinel, incidentId, 'Update');
    back(res, `incident-${incidentId}`);
  });

  router.post('/sentinel/forms/sessions/:interviewId/answer', async (req, res) => {
    const interviewId = req.params.interviewId ?? '';
    const answer = field(req, 'answer') as UserAnswer;
    if (!(answer in USER_ANSWERS)) {
      res
        .status(400)
        .type('text/plain')
        .send(`answer must be one of ${Object.keys(USER_ANSWERS).join(', ')}`);
      return;
    }
    try {
      await deps.incode.completeSession(interviewId, answer === 'someone-else' ? 'succeeded' : answer, {
        ...(answer === 'someone-else' ? { verifiedLoginHint: 'someone.else@contoso.com' } : {}),
      });
      back(res, 'sessions');
    } catch (error) {
      if (!(error instanceof IncodeSessionError)) throw error;
      back(res, 'sessions', error.message);
    }
  });

  return router;
}

function notFound(res: Response, incidentId: string): void {
  res.status(404).type('text/plain').send(`Incident '${incidentId}' was not found.`);
}

const options = (values: readonly string[], selected?: string, labels: Record<string, string> = {}) =>
  values
    .map(
      (value) =>
        `<option value="${escapeHtml(value)}"${value === selected ? ' selected' : ''}>${escapeHtml(labels[value] ?? value)}</option>`,
    )
    .join('');

/** The seed form, at the top of the page. */
export function renderSeedForm(playbookConfigured: boolean): string {
  const labels = Object.fromEntries(Object.entries(SEED_SCENARIOS).map(([key, value]) => [key, value.label]));
  return `
    <form class="card" method="post" action="${FORMS}/seed" id="seed">
      <h2>Seed an incident</h2>
      <label>Accounts <select name="scenario">${options(Object.keys(SEED_SCENARIOS), 'one', labels)}</select></label>
      <label>Severity <select name="severity">${options(SEVERITIES, 'Medium')}</select></label>
      <label>Title <input name="title" maxlength="200" placeholder="Suspicious sign-in"></label>
      ${
        playbookConfigured
          ? `<label><input type="checkbox" name="playbook" checked> run the playbook (starts the verification through the gateway)</label>`
          : `<span class="muted">no playbook configured: start the verification with the gateway's POST /api/incidents</span>`
      }
      <button type="submit">Seed incident</button>
    </form>`;
}

/** Per incident: the playbook's last answer, the analyst's actions. */
export function renderIncidentForms(
  incidentId: string,
  severity: string,
  status: string,
  run: PlaybookRun | undefined,
  playbookConfigured: boolean,
): string {
  const action = `${FORMS}/incidents/${encodeURIComponent(incidentId)}`;
  const answer = run
    ? `<p class="playbook">Playbook (${escapeHtml(run.eventType)}, ${renderClock(run.at)}): HTTP ${run.httpStatus ?? 'none'} ` +
      `<code>${escapeHtml(run.answer)}</code>${
        run.verificationUrl
          ? ` · <a href="${escapeHtml(run.verificationUrl)}" target="_blank" rel="noopener">open the verification link</a>`
          : ''
      }</p>`
    : '';
  const playbook = playbookConfigured
    ? `<form method="post" action="${action}/playbook"><button type="submit">Run the playbook</button></form>`
    : '';
  const analyst =
    status === 'Closed'
      ? ''
      : `
        <form method="post" action="${action}/analyst">
          <input type="hidden" name="action" value="close">
          <select name="classification" aria-label="classification">${options(CLASSIFICATIONS, 'TruePositive')}</select>
          <button type="submit">Close as analyst</button>
        </form>
        <form method="post" action="${action}/analyst">
          <input type="hidden" name="action" value="severity">
          <select name="severity" aria-label="severity">${options(SEVERITIES, severity)}</select>
          <button type="submit">Change severity</button>
        </form>`;
  return `${answer}
      <div class="actions">${playbook}${analyst}
      </div>`;
}

/**
 * Incode sessions waiting for their user, each with the answers the user can give. Under the product's rule
 * a passed check closes only after the user answered "This was me" on the gateway's confirmation page, so
 * each session links to its page first when the playbook's answer gave one (`confirmationLink`).
 */
export function renderSessions(
  sessions: readonly IncodeSession[],
  now = Date.now(),
  confirmationLink: (interviewId: string) => string | undefined = () => undefined,
): string {
  const waiting = sessions.filter((session) => session.state === 'pending' && session.expiresAt.getTime() > now);
  const rows = waiting.length
    ? waiting
        .map((session) => {
          const buttons = Object.entries(USER_ANSWERS)
            .map(
              ([answer, label]) => `
            <form method="post" action="${FORMS}/sessions/${encodeURIComponent(session.interviewId)}/answer">
              <input type="hidden" name="answer" value="${escapeHtml(answer)}">
              <button type="submit">${escapeHtml(label)}</button>
            </form>`,
            )
            .join('');
          const page = confirmationLink(session.interviewId);
          const confirm = page
            ? `
          <p class="confirm">1. <a class="confirmation-link" href="${escapeHtml(page)}">Open the confirmation page</a> and answer ` +
              `"This was me" (or "This wasn't me"). 2. Then Incode's result:</p>`
            : '';
          return (
            `
        <li id="session-${escapeHtml(session.interviewId)}"><div><strong>${escapeHtml(session.loginHint)}</strong> <span ` +
            `class="muted">(${escapeHtml(maskEmail(session.loginHint))}, interview ` +
            `${escapeHtml(session.interviewId)}, link expires ` +
            `${renderClock(session.expiresAt.toISOString())})</span></div>${confirm}
          <div class="actions">${buttons}
          </div></li>`
          );
        })
        .join('')
    : `\n        <li class="muted">None: start a verification (seed an incident with the playbook, or the banner's curl).</li>`;
  return (
    `
    <section class="card" id="sessions">
      <h2>Answer as the user (Incode sessions waiting)</h2>
      <p class="muted">"Verified" closes the incident only if the user first answered "This was me" on the confirmation page (the ` +
    `link the gateway answered, also in the Graph outbox's mail). Verified without that answer leaves the incident waiting for ` +
    `it until the deadline, then it escalates.</p>
      <ul class="sessions">${rows}
      </ul>
    </section>`
  );
}

function renderClock(iso: string): string {
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso.replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC'))}</time>`;
}
