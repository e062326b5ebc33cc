import type { CompletionResult, IncodeSession } from './incode-store';

/** What the end user sees at the onboarding link: HTML only, no script, posting a plain form. */

export const VERIFICATION_PAGE_TITLE = 'Incode identity verification (simulator)';

/** The page's headers: nothing but its own inline styles, forms posting back to itself only, no framing. */
export const PAGE_SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};

/** j•••e@contoso.com: enough for the user to recognise their address, not enough to copy it off a screen. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  const local = at > 0 ? email.slice(0, at) : email;
  const domain = at > 0 ? email.slice(at) : '';
  const masked = local.length <= 2 ? `${local[0] ?? ''}•••` : `${local[0]}•••${local[local.length - 1]}`;
  return masked + domain;
}

export function renderVerificationPage(session: IncodeSession): string {
  const id = encodeURIComponent(session.interviewId);
  const button = (outcome: string, label: string, style: string) => `
      <form method="post" action="/verify/${id}/complete">
        <input type="hidden" name="outcome" value="${outcome}">
        <button type="submit" class="${style}">${label}</button>
      </form>`;
  return layout(
    VERIFICATION_PAGE_TITLE,
    `
    <h1>Verify your identity</h1>
    <p>Your security team asked to confirm that a recent sign-in was you.</p>
    <dl>
      <dt>Account</dt><dd>${escapeHtml(maskEmail(session.loginHint))}</dd>
      <dt>Link expires</dt><dd><time ` +
      `datetime="${session.expiresAt.toISOString()}">${escapeHtml(formatTime(session.expiresAt))}</time></dd>
    </dl>
    <p class="note">Simulator: instead of an ID document and a selfie, choose the result the biometric check should give.</p>
    <div class="actions">${button('succeeded', 'Verified', 'ok')}${button('failed', 'Failed', 'fail')}` +
      `${button('pending-review', 'Manual review', 'review')}
    </div>`,
  );
}

export function renderResultPage(result: CompletionResult): string {
  const verified = result.outcome === 'succeeded';
  const heading = verified ? 'Identity verified' : result.outcome === 'failed' ? 'Verification failed' : 'Verification under review';
  const text = verified
    ? 'Thank you. Your identity was confirmed; you can close this window.'
    : result.outcome === 'failed'
      ? 'We could not confirm your identity. Your security team has been told; you can close this window.'
      : 'Your verification is being reviewed. Your security team will follow up; you can close this window.';
  return layout(
    VERIFICATION_PAGE_TITLE,
    `
    <h1>${heading}</h1>
    <p>${text}</p>
    <p class="note">Simulator: session webhook ${result.webhook.delivered ? 'delivered' : 'not delivered'} (${result.webhook.attempts} ` +
      `attempt${result.webhook.attempts === 1 ? '' : 's'}` +
      `${result.webhook.lastStatus !== null ? `, last HTTP ${result.webhook.lastStatus}` : ''}).</p>`,
  );
}

/** Expired, finished or unknown sessions. */
export function renderMessagePage(heading: string, message: string): string {
  return layout(VERIFICATION_PAGE_TITLE, `\n    <h1>${escapeHtml(heading)}</h1>\n    <p>${escapeHtml(message)}</p>`);
}

function layout(title: string, body: string): string {
  return (
    `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(title)}</title>
  <style>
    body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; background: #f4f6f8; color: #1d2630; margin: 0; }
    main { max-width: 28rem; margin: 4rem auto; background: #fff; border-radius: 12px; padding: 2rem; box-shadow: 0 2px 12px ` +
    `rgba(0,0,0,.08); }
    h1 { font-size: 1.4rem; margin-top: 0; }
    dl { display: grid; grid-template-columns: auto 1fr; gap: .4rem 1rem; }
    dt { color: #5b6875; } dd { margin: 0; font-weight: 600; }
    .note { font-size: .85rem; color: #5b6875; border-left: 3px solid #c9d2db; padding-left: .6rem; }
    .actions { display: flex; gap: 1rem; margin-top: 1.5rem; }
    .actions form { flex: 1; }
    button { width: 100%; padding: .8rem; font-size: 1rem; border: 0; border-radius: 8px; cursor: pointer; color: #fff; }
    button.ok { background: #1f7a4d; } button.fail { background: #b3261e; } button.review { background: #7a4b00; }
    footer { text-align: center; font-size: .75rem; color: #7a8794; margin-bottom: 2rem; }
  </style>
</head>
<body>
  <main>${body}
  </main>
  <footer>itdr-verify simulator: not Incode</footer>
</body>
</html>
`
  );
}

function formatTime(date: Date): string {
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/:\d\d\.\d{3}Z$/, ' UTC');
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
