/**
 * Entra profile matching: does the identity document Incode verified belong to the Entra ID account?
 *
 * The rule (also in README, "Entra profile matching"):
 *
 * 1. **Normalisation.** Names are compared after: Unicode NFD with the combining marks removed (é → e, ñ → n,
 *    ü → u), letters NFD does not split folded too (ß → ss, æ → ae, ø → o, ł → l, đ → d, œ → oe, þ → th, ı → i),
 *    lower case, apostrophes removed (O'Brien = OBrien), and hyphens, dots, commas and any whitespace taken as
 *    separators between name parts ("García-López" = "GARCIA LOPEZ").
 * 2. **Surname** (Entra `surname` against Incode's `lastName`): the same parts, or, for double-barrelled
 *    surnames, every part of the shorter one found in the longer one ("García" against "García López";
 *    particles such as de, van, von, la are not enough on their own). Written together, the parts match too
 *    ("Smith-Jones" = "SMITHJONES").
 * 3. **Given name** (the first part of Entra's `givenName` against Incode's `firstName`): the first given name
 *    of either side appears among the other side's given names, in any order ("Mary Ann" = "ANN MARY",
 *    "Jean-Pierre" = "JEAN PIERRE"). No nicknames: "Bob" is not "Robert".
 * 4. When Incode gives only a `fullName`, the Entra surname's parts and the first given name must all appear in it.
 *    When both names match only crosswise (given name = last name and surname = first name, as East Asian names
 *    are often recorded), the names match and the details say so.
 * 5. **Birthday**: compared only when both sides have one, on the date part (YYYY-MM-DD; Incode's birth date may
 *    also be YYYYMMDD or epoch milliseconds, read in UTC). Graph's "never set" value 0001-01-01 counts as absent.
 * 6. **Verdict**: `not-comparable` when Incode reported no name at all, or when no name could be compared (Entra
 *    has neither given name nor surname: common for guests, whose UPN is `alias_domain#EXT#@tenant`; the UPN is
 *    never parsed for names). Otherwise `mismatch` if any compared attribute differs, `match` if none does.
 *    Email is not compared: the account binding is the login hint the session was created for (checked by the
 *    workflow); a different email is only noted in the details.
 *
 * `details` says what was compared and how it came out, without the names or dates themselves (they end up in
 * incident comments and logs).
 */

export interface EntraProfileForMatch {
  givenName?: string;
  surname?: string;
  userPrincipalName: string;
  employeeId?: string;
  /** YYYY-MM-DD or an ISO date-time. */
  birthday?: string;
}

export interface VerifiedIdentityForMatch {
  firstName?: string;
  lastName?: string;
  fullName?: string;
  /** YYYY-MM-DD, an ISO date-time, or epoch milliseconds. */
  birthDate?: string;
  email?: string;
}

export type ProfileVerdict = 'match' | 'mismatch' | 'not-comparable';

export interface ProfileComparison {
  verdict: ProfileVerdict;
  details: string[];
}

const PARTICLES = new Set([
  'al',
  'bin',
  'ibn',
  'da',
  'das',
  'de',
  'del',
  'della',
  'den',
  'der',
  'des',
  'di',
  'do',
  'dos',
  'du',
  'e',
  'el',
  'la',
  'le',
  'lo',
  'st',
  'ten',
  'ter',
  'van',
  'von',
  'y',
  'zu',
]);

const FOLDS: Record<string, string> = { ß: 'ss', æ: 'ae', ø: 'o', ł: 'l', đ: 'd', œ: 'oe', þ: 'th', ı: 'i', ð: 'd', ħ: 'h' };

/** The parts of a name after normalisation (see the rule above); empty for a missing or blank name. */
export function nameParts(name: string | undefined): string[] {
  if (!name) return [];
  const folded = name
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[ßæøłđœþıðħ]/g, (char) => FOLDS[char] ?? char)
    .replace(/['’‘`´ʼ]/g, '');
  return folded.split(/[\s\-‐‑‒–—_.,·/]+/u).filter(Boolean);
}

export function compareProfile(entra: EntraProfileForMatch, verified: VerifiedIdentityForMatch): ProfileComparison {
  const details: string[] = [];
  const first = nameParts(verified.firstName);
  const last = nameParts(verified.lastName);
  const full = nameParts(verified.fullName);
  const given = nameParts(entra.givenName);
  const surname = nameParts(entra.surname);
  const guest = /#ext#@/i.test(entra.userPrincipalName);

  if (first.length === 0 && last.length === 0 && full.length === 0) {
    return { verdict: 'not-comparable', details: ['Incode reported no name from the document: nothing to compare'] };
  }

  const outcomes: boolean[] = [];
  let namesCompared = 0;

  if (given.length === 0 && surname.length === 0) {
    details.push(
      guest
        ? 'Entra has no given name or surname for this guest account (#EXT# UPN): names not compared'
        : 'Entra has no given name or surname for this account: names not compared',
    );
  } else if (first.length === 0 && last.length === 0) {
    // Only a full name from Incode.
    if (surname.length > 0) {
      const ok = surname.every((part) => full.includes(part)) || writtenTogetherIn(surname, full);
      details.push(`surname: ${ok ? 'found in the full name on the document' : 'not found in the full name on the document'}`);
      outcomes.push(ok);
      namesCompared++;
    }
    if (given.length > 0) {
      const ok = full.includes(given[0]);
      details.push(`given name: ${ok ? 'found in the full name on the document' : 'not found in the full name on the document'}`);
      outcomes.push(ok);
      namesCompared++;
    }
  } else {
    const surnameComparable = surname.length > 0 && last.length > 0;
    const givenComparable = given.length > 0 && first.length > 0;
    const straight = {
      surname: surnameComparable ? surnameMatch(surname, last) : undefined,
      given: givenComparable ? givenMatch(given, first) : undefined,
    };
    const straightFails = straight.surname?.ok === false || straight.given?.ok === false;
    // Crosswise only when both names exist on both sides and the straight comparison fails.
    const crossComparable = surnameComparable && givenComparable;
    const cross = crossComparable && straightFails ? { surname: surnameMatch(surname, first), given: givenMatch(given, last) } : undefined;
    if (cross?.surname.ok && cross.given.ok) {
      details.push('surname and given name: match crosswise (the document has them the other way round)');
      outcomes.push(true, true);
      namesCompared += 2;
    } else {
      if (straight.surname) {
        details.push(
          `surname: ${straight.surname.ok ? `matches${straight.surname.note ? ` (${straight.surname.note})` : ''}` : 'differs'}`,
        );
        outcomes.push(straight.surname.ok);
        namesCompared++;
      } else {
        details.push(`surname: not compared (${surname.length === 0 ? 'not in Entra' : 'not on the document'})`);
      }
      if (straight.given) {
        details.push(`given name: ${straight.given.ok ? `matches${straight.given.note ? ` (${straight.given.note})` : ''}` : 'differs'}`);
        outcomes.push(straight.given.ok);
        namesCompared++;
      } else {
        details.push(`given name: not compared (${given.length === 0 ? 'not in Entra' : 'not on the document'})`);
      }
    }
  }

  const entraBirthday = dateOnly(entra.birthday);
  const documentBirthday = dateOnly(verified.birthDate);
  if (entraBirthday && documentBirthday) {
    const ok = entraBirthday === documentBirthday;
    details.push(`birthday: ${ok ? 'matches' : 'differs'}`);
    outcomes.push(ok);
  } else if (verified.birthDate && !documentBirthday) {
    details.push('birthday: not compared (the date on the document is unreadable)');
  } else {
    details.push(`birthday: not compared (${entraBirthday ? 'not on the document' : 'not in Entra'})`);
  }

  if (verified.email && !sameEmail(verified.email, entra.userPrincipalName)) {
    details.push('email: the address Incode reported is not the UPN (not compared; the login hint binds the session)');
  }

  if (outcomes.includes(false)) return { verdict: 'mismatch', details };
  if (namesCompared === 0) return { verdict: 'not-comparable', details };
  return { verdict: 'match', details };
}

function surnameMatch(entra: string[], document: string[]): { ok: boolean; note?: string } {
  if (entra.join(' ') === document.join(' ')) return { ok: true };
  if (entra.join('') === document.join('')) return { ok: true, note: 'written together' };
  const [shorter, longer] = entra.length <= document.length ? [entra, document] : [document, entra];
  const meaningful = shorter.filter((part) => !PARTICLES.has(part));
  if (meaningful.length > 0 && shorter.every((part) => longer.includes(part))) return { ok: true, note: 'double-barrelled, in part' };
  return { ok: false };
}

function givenMatch(entra: string[], document: string[]): { ok: boolean; note?: string } {
  if (entra[0] === document[0]) return { ok: true };
  if (document.includes(entra[0]) || entra.includes(document[0])) return { ok: true, note: 'order of given names differs' };
  if (entra.join('') === document.join('')) return { ok: true, note: 'written together' };
  return { ok: false };
}

/** Whether some run of consecutive parts of `full`, written together, is the name written together. */
function writtenTogetherIn(name: string[], full: string[]): boolean {
  const target = name.join('');
  for (let start = 0; start < full.length; start++) {
    let joined = '';
    for (let end = start; end < full.length && joined.length < target.length; end++) {
      joined += full[end];
      if (joined === target) return true;
    }
  }
  return false;
}

/** YYYY-MM-DD of an ISO date or date-time (its own date, no time zone shift), or of epoch milliseconds (UTC). */
export function dateOnly(value: string | undefined): string | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  let date: string | undefined;
  if (/^\d{8}$/.test(text)) {
    date = `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6)}`;
  } else if (/^-?\d+$/.test(text)) {
    const ms = Number(text);
    date = Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString().slice(0, 10) : undefined;
  } else {
    date = /^(\d{4}-\d{2}-\d{2})(?:$|[T ])/.exec(text)?.[1];
  }
  if (!date || date === '0001-01-01') return undefined;
  const parsed = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === date ? date : undefined;
}

/** The UPN, or for a guest (alias_domain#EXT#@tenant) the address it stands for. */
function sameEmail(email: string, upn: string): boolean {
  const address = email.trim().toLowerCase();
  const principal = upn.trim().toLowerCase();
  if (address === principal) return true;
  const guest = /^(.+)#ext#@/.exec(principal)?.[1];
  if (!guest) return false;
  const at = guest.lastIndexOf('_');
  return at > 0 && `${guest.slice(0, at)}@${guest.slice(at + 1)}` === address;
}
