import { createHash } from 'node:crypto';
import type { IncidentActivity } from '../shared/types';

/**
 * The confirmation page's HTML: plain forms that work without JavaScript, one stylesheet inline (allowed by
 * its hash in the CSP), no third-party asset, every value escaped. Readable on a phone (viewport, relative
 * sizes), accessible (landmarks, labelled lists, real buttons, visible focus, sufficient contrast).
 */
const STYLE =
  `
body{margin:0;font-family:system-ui,-apple-system,"Segoe ` +
  `UI",Roboto,Arial,sans-serif;color:#1d2630;background:#f5f7f9;line-height:1.5}
main{max-width:36rem;margin:0 auto;padding:1.25rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
h2{font-size:1.1rem;margin:1.25rem 0 .5rem}
section.activity{background:#fff;border:1px solid #c9d1d9;border-radius:.5rem;padding:1rem;margin:0 0 1rem}
dl{margin:0;display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
form{margin:.75rem 0}
button{font:inherit;font-size:1.05rem;width:100%;padding:.85rem 1rem;border-radius:.5rem;border:2px solid ` +
  `transparent;cursor:pointer}
button.yes{background:#0f6cbd;color:#fff}
button.no{background:#fff;color:#a4262c;border-color:#a4262c}
button:focus-visible{outline:3px solid #1d2630;outline-offset:2px}
p.note{font-size:.9rem;color:#44505c}
`;

/** The CSP of every page: nothing but this stylesheet, forms posting to this origin, no framing, no referrer. */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  // "This was me" answers with a redirect to Incode's check, which form-action also governs.
  "form-action 'self' https:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function formatTime(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date
        .toISOString()
        .replace('T', ' ')
        .replace(/:\d\d\.\d{3}Z$/, ' UTC');
}

function activitySection(activity: IncidentActivity, index: number): string {
  const rows: Array<[string, string | undefined]> = [
    ['When', formatTime(activity.time)],
    ['IP address', activity.ipAddresses.join(', ') || undefined],
    ['Location', activity.locations.join('; ') || undefined],
    ['Application', activity.applications.join(', ') || undefined],
    ['Client', activity.clients.join('; ') || undefined],
    ['Device', activity.devices.join('; ') || undefined],
    ['Alerts', activity.alerts.join('; ') || undefined],
  ];
  const shown = rows.filter((row): row is [string, string] => Boolean(row[1]));
  const number = activity.incidentNumber !== undefined ? ` (incident ${activity.incidentNumber})` : '';
  const heading = `${activity.title ?? 'Suspicious activity'}${number}`;
  const details = shown.length
    ? `<dl>${shown.map(([term, value]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>`
    : '<p>Sentinel has no further details of this activity.</p>';
  return `<section class="activity" aria-labelledby="activity-${index}">
<h2 id="activity-${index}">${escapeHtml(heading)}</h2>
${details}
</section>`;
}

export function questionPage(options: { activities: IncidentActivity[]; action: string; nonce: string; answeredWasMe: boolean }): string {
  const forms = (answer: 'was-me' | 'wasnt-me', label: string, className: string) =>
    `<form method="post" ` +
    `action="${escapeHtml(options.action)}">
<input type="hidden" name="nonce" value="${escapeHtml(options.nonce)}">
<input type="hidden" name="answer" value="${answer}">
<button type="submit" class="${className}">${label}</button>
</form>`;
  const intro = options.answeredWasMe
    ? '<p>You confirmed this activity. Continue to the identity check, or report it if you now think it was not you.</p>'
    : '<p>Your security team noticed the sign-in activity below on your account. Was it you?</p>';
  return layout(
    'Was this you?',
    `<h1>Was this you?</h1>
${intro}
${options.activities.map(activitySection).join('\n')}
${forms('was-me', options.answeredWasMe ? 'Continue to the identity check' : 'This was me', 'yes')}
${forms('wasnt-me', 'This wasn\u2019t me', 'no')}
<p class="note">"This was me" takes you to a short identity check (your ID document and a selfie). If you do not recognise this ` +
      `activity, choose "This wasn\u2019t me": your security team is told at once.</p>`,
  );
}

export function messagePage(title: string, paragraphs: string[]): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n${paragraphs.map((text) => `<p>${escapeHtml(text)}</p>`).join('\n')}`);
}

export const pages = {
  denied: () =>
    messagePage('Thank you: your security team has been told', [
      'You reported that this activity was not you. Your security team has been alerted and treats it as a possible compromise ' +
        'of your account; your sign-in sessions may be ended, so you may have to sign in again.',
      'Someone from the security team may contact you. Do not reply to messages asking for your password or codes.',
    ]),
  decided: () =>
    messagePage('This check is complete', [
      'Your answer has been recorded and the security team has what it needs. Nothing more is needed from you; this page changes ' +
        'nothing any more.',
    ]),
  expired: () =>
    messagePage('This link has expired', [
      'This confirmation link is no longer valid. If you still need to confirm a sign-in, contact your security team.',
    ]),
  invalid: () =>
    messagePage('This link is not valid', [
      'This confirmation link is not valid. Use the link exactly as you received it, or contact your security team.',
    ]),
  refused: () => messagePage('The answer could not be accepted', ['Open the link you received again and choose your answer on that page.']),
};
