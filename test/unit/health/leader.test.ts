import { expect } from 'chai';
import { HOUR_MS, leaderAgreement, leaderChange } from '../../../src/health/leader.js';
import { observe } from '../fixtures.js';

describe('leader agreement and changes', () => {
  it('ignores members without a leader and keeps the highest term', () => {
    expect(
      leaderAgreement(observe([{ leader: '0', term: 7 }, { leader: 'b2', term: 7 }, { up: false }])),
    ).to.deep.equal({ agreed: 'b2', splitTerms: [], maxTerm: 7 });
    expect(leaderAgreement(observe([{ leader: '0' }, { leader: '0' }])).agreed).to.equal(undefined);
  });
  const table: Array<[string, string | undefined, string | undefined, number[], number, boolean, number[]]> =
    [
      ['first leader ever: no change', 'a1', undefined, [], 1000, false, []],
      ['same leader', 'a1', 'a1', [], 1000, false, []],
      ['another leader', 'b2', 'a1', [], 1000, true, [1000]],
      [
        'no leader this round: no change, the last one is kept by the caller',
        undefined,
        'a1',
        [],
        1000,
        false,
        [],
      ],
      ['changes older than an hour are forgotten', 'b2', 'a1', [0], HOUR_MS + 1, true, [HOUR_MS + 1]],
    ];
  for (const [name, leader, last, times, now, changed, recent] of table) {
    it(name, () => {
      const c = leaderChange(leader, last, times, now);
      expect(c.changed).to.equal(changed);
      expect(c.recentTimes).to.deep.equal(recent);
      if (changed) expect(c.from).to.equal(last);
    });
  }
});
