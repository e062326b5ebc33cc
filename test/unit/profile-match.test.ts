import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareProfile,
  dateOnly,
  nameParts,
  type EntraProfileForMatch,
  type ProfileVerdict,
  type VerifiedIdentityForMatch,
} from '../../src/identity/profile-match';

const UPN = 'adele.vance@contoso.com';

interface Case {
  name: string;
  entra: Partial<EntraProfileForMatch>;
  verified: VerifiedIdentityForMatch;
  verdict: ProfileVerdict;
  /** Each must appear in some detail line. */
  details?: RegExp[];
}

const cases: Case[] = [
  {
    name: 'same names and birthday',
    entra: { givenName: 'Adele', surname: 'Vance', birthday: '1990-05-17' },
    verified: { firstName: 'ADELE', lastName: 'VANCE', birthDate: '1990-05-17' },
    verdict: 'match',
    details: [/surname: matches/, /given name: matches/, /birthday: matches/],
  },
  // Accents and diacritics
  {
    name: 'accents on one side only',
    entra: { givenName: 'José', surname: 'Müller' },
    verified: { firstName: 'JOSE', lastName: 'MULLER' },
    verdict: 'match',
  },
  {
    name: 'combining accents (NFD input) and ñ',
    entra: { givenName: 'Begon\u0303a', surname: 'Ibáñez' },
    verified: { firstName: 'Begoña', lastName: 'IBANEZ' },
    verdict: 'match',
  },
  {
    name: 'letters NFD does not split: ß, ø, ł',
    entra: { givenName: 'Søren', surname: 'Weiß' },
    verified: { firstName: 'Soren', lastName: 'WEISS' },
    verdict: 'match',
  },
  {
    name: 'Polish ł',
    entra: { givenName: 'Łukasz', surname: 'Wałęsa' },
    verified: { firstName: 'LUKASZ', lastName: 'WALESA' },
    verdict: 'match',
  },
  {
    name: 'apostrophes',
    entra: { givenName: 'Sinéad', surname: "O'Brien" },
    verified: { firstName: 'SINEAD', lastName: 'OBRIEN' },
    verdict: 'match',
  },
  // Double-barrelled names
  {
    name: 'hyphen against space',
    entra: { givenName: 'María', surname: 'García-López' },
    verified: { firstName: 'MARIA', lastName: 'GARCIA LOPEZ' },
    verdict: 'match',
  },
  {
    name: 'double-barrelled written together',
    entra: { givenName: 'Anna', surname: 'Smith-Jones' },
    verified: { firstName: 'ANNA', lastName: 'SMITHJONES' },
    verdict: 'match',
    details: [/written together/],
  },
  {
    name: 'one surname of two (Spanish ID, short directory entry)',
    entra: { givenName: 'María', surname: 'García' },
    verified: { firstName: 'MARIA', lastName: 'GARCIA LOPEZ' },
    verdict: 'match',
    details: [/double-barrelled, in part/],
  },
  {
    name: 'a particle alone is not a surname',
    entra: { givenName: 'Jan', surname: 'van' },
    verified: { firstName: 'JAN', lastName: 'VAN DER BERG' },
    verdict: 'mismatch',
  },
  {
    name: 'different double-barrelled surname',
    entra: { givenName: 'Anna', surname: 'Smith-Jones' },
    verified: { firstName: 'ANNA', lastName: 'SMITH-BROWN' },
    verdict: 'mismatch',
    details: [/surname: differs/],
  },
  // Order of given names, swapped names
  {
    name: 'given names in another order',
    entra: { givenName: 'Mary Ann', surname: 'Lee' },
    verified: { firstName: 'ANN MARY', lastName: 'LEE' },
    verdict: 'match',
    details: [/order of given names differs/],
  },
  {
    name: 'hyphenated given name against spaced',
    entra: { givenName: 'Jean-Pierre', surname: 'Dupont' },
    verified: { firstName: 'JEAN PIERRE', lastName: 'DUPONT' },
    verdict: 'match',
  },
  {
    name: 'Entra has only the first of several given names',
    entra: { givenName: 'Adele', surname: 'Vance' },
    verified: { firstName: 'ADELE MARIE LOUISE', lastName: 'VANCE' },
    verdict: 'match',
  },
  {
    name: 'given name and surname swapped (family name first)',
    entra: { givenName: 'Wei', surname: 'Zhang' },
    verified: { firstName: 'ZHANG', lastName: 'WEI' },
    verdict: 'match',
    details: [/crosswise/],
  },
  {
    name: 'no nicknames',
    entra: { givenName: 'Bob', surname: 'Smith' },
    verified: { firstName: 'ROBERT', lastName: 'SMITH' },
    verdict: 'mismatch',
    details: [/given name: differs/],
  },
  {
    name: 'different surname',
    entra: { givenName: 'Adele', surname: 'Vance' },
    verified: { firstName: 'ADELE', lastName: 'VANS' },
    verdict: 'mismatch',
  },
  // Full name only
  {
    name: 'full name only, matching',
    entra: { givenName: 'Adele', surname: 'Vance' },
    verified: { fullName: 'VANCE ADELE' },
    verdict: 'match',
  },
  {
    name: 'full name only, other person',
    entra: { givenName: 'Adele', surname: 'Vance' },
    verified: { fullName: 'ALEX WILBER' },
    verdict: 'mismatch',
  },
  {
    name: 'full name: a surname is not a substring of another name',
    entra: { givenName: 'Ann', surname: 'Li' },
    verified: { fullName: 'ANN WILLIAMS' },
    verdict: 'mismatch',
  },
  // Birthday
  {
    name: 'missing birthday in Entra: names decide',
    entra: { givenName: 'Adele', surname: 'Vance' },
    verified: { firstName: 'Adele', lastName: 'Vance', birthDate: '1990-05-17' },
    verdict: 'match',
    details: [/birthday: not compared \(not in Entra\)/],
  },
  {
    name: 'missing birth date on the document',
    entra: { givenName: 'Adele', surname: 'Vance', birthday: '1990-05-17' },
    verified: { firstName: 'Adele', lastName: 'Vance' },
    verdict: 'match',
    details: [/birthday: not compared \(not on the document\)/],
  },
  {
    name: 'Graph never-set birthday (0001-01-01) is absent',
    entra: { givenName: 'Adele', surname: 'Vance', birthday: '0001-01-01T00:00:00Z' },
    verified: { firstName: 'Adele', lastName: 'Vance', birthDate: '1990-05-17' },
    verdict: 'match',
    details: [/birthday: not compared/],
  },
  {
    name: 'different birthday',
    entra: { givenName: 'Adele', surname: 'Vance', birthday: '1990-05-17T00:00:00Z' },
    verified: { firstName: 'ADELE', lastName: 'VANCE', birthDate: '1990-07-15' },
    verdict: 'mismatch',
    details: [/birthday: differs/],
  },
  {
    name: 'birthday compared on the date part (Graph date-time, Incode epoch ms)',
    entra: { givenName: 'Adele', surname: 'Vance', birthday: '1990-05-17T00:00:00Z' },
    verified: { firstName: 'ADELE', lastName: 'VANCE', birthDate: String(Date.UTC(1990, 4, 17)) },
    verdict: 'match',
    details: [/birthday: matches/],
  },
  {
    name: 'different birthday even without names in Entra',
    entra: { birthday: '1990-05-17' },
    verified: { firstName: 'ADELE', lastName: 'VANCE', birthDate: '1991-05-17' },
    verdict: 'mismatch',
  },
  // Guests (#EXT#)
  {
    name: 'guest without names in Entra',
    entra: { userPrincipalName: 'adele.vance_fabrikam.com#EXT#@contoso.onmicrosoft.com' },
    verified: { firstName: 'ADELE', lastName: 'VANCE' },
    verdict: 'not-comparable',
    details: [/guest account \(#EXT# UPN\)/],
  },
  {
    name: 'guest with names: compared by name, never by UPN',
    entra: { userPrincipalName: 'adele.vance_fabrikam.com#EXT#@contoso.onmicrosoft.com', givenName: 'Adele', surname: 'Vance' },
    verified: { firstName: 'ADELE', lastName: 'VANCE', email: 'adele.vance@fabrikam.com' },
    verdict: 'match',
  },
  {
    name: 'guest whose names differ',
    entra: { userPrincipalName: 'adele.vance_fabrikam.com#EXT#@contoso.onmicrosoft.com', givenName: 'Adele', surname: 'Vance' },
    verified: { firstName: 'ALEX', lastName: 'WILBER' },
    verdict: 'mismatch',
  },
  // Not comparable
  {
    name: 'Incode reported no name',
    entra: { givenName: 'Adele', surname: 'Vance', birthday: '1990-05-17' },
    verified: { birthDate: '1990-05-17' },
    verdict: 'not-comparable',
    details: [/Incode reported no name/],
  },
  {
    name: 'blank names from Incode',
    entra: { givenName: 'Adele', surname: 'Vance' },
    verified: { firstName: '  ', lastName: '', fullName: '-' },
    verdict: 'not-comparable',
  },
  {
    name: 'no names in Entra, same birthday: still not comparable',
    entra: { birthday: '1990-05-17' },
    verified: { firstName: 'ADELE', lastName: 'VANCE', birthDate: '1990-05-17' },
    verdict: 'not-comparable',
  },
  // Partial data
  {
    name: 'only the surname on both sides',
    entra: { surname: 'Vance' },
    verified: { lastName: 'VANCE' },
    verdict: 'match',
    details: [/given name: not compared \(not in Entra\)/],
  },
  {
    name: 'email differing from the UPN is noted, not compared',
    entra: { givenName: 'Adele', surname: 'Vance' },
    verified: { firstName: 'Adele', lastName: 'Vance', email: 'adele@personal.example' },
    verdict: 'match',
    details: [/email: .* not the UPN/],
  },
];

describe('compareProfile: Entra profile against the verified document', () => {
  for (const c of cases) {
    it(c.name, () => {
      const result = compareProfile({ userPrincipalName: UPN, ...c.entra }, c.verified);
      assert.equal(result.verdict, c.verdict, `details: ${result.details.join(' | ')}`);
      for (const pattern of c.details ?? []) {
        assert.ok(
          result.details.some((line) => pattern.test(line)),
          `no detail matches ${pattern}: ${result.details.join(' | ')}`,
        );
      }
    });
  }

  it('never puts names or dates into the details', () => {
    const result = compareProfile(
      { userPrincipalName: UPN, givenName: 'Adele', surname: 'Vance', birthday: '1990-05-17' },
      { firstName: 'Alex', lastName: 'Wilber', birthDate: '1991-01-02' },
    );
    assert.equal(result.verdict, 'mismatch');
    const text = result.details.join(' ').toLowerCase();
    for (const value of ['adele', 'vance', 'alex', 'wilber', '1990', '1991']) assert.ok(!text.includes(value), value);
  });
});

describe('normalisation helpers', () => {
  it('splits names into normalised parts', () => {
    assert.deepEqual(nameParts('  García-López '), ['garcia', 'lopez']);
    assert.deepEqual(nameParts("D'Artagnan–Ærø"), ['dartagnan', 'aero']);
    assert.deepEqual(nameParts(undefined), []);
  });

  it('reads dates as their date part', () => {
    assert.equal(dateOnly('1990-05-17'), '1990-05-17');
    assert.equal(dateOnly('1990-05-17T23:30:00-05:00'), '1990-05-17');
    assert.equal(dateOnly('19900517'), '1990-05-17');
    assert.equal(dateOnly(String(Date.UTC(1960, 0, 31))), '1960-01-31');
    assert.equal(dateOnly('0001-01-01T00:00:00Z'), undefined);
    assert.equal(dateOnly('1990-02-30'), undefined);
    assert.equal(dateOnly('17/05/1990'), undefined);
  });
});
