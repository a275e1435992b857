/** Backup schedules (cron and @every, missed runs collapse into one) and retention, on plain data. */
import { expect } from 'chai';
import { dueRun, parseSchedule, periodAt, ScheduleError } from '../../src/maintenance/schedule.js';
import {
  clusterPath,
  objectName,
  parseObjectName,
  retentionPlan,
  type BackupObject,
} from '../../src/maintenance/retention.js';

const T = (s: string): Date => new Date(s);

describe('backup schedule', () => {
  it('reads 5-field cron in UTC, macros and @every', () => {
    expect(parseSchedule('0 */6 * * *').next(T('2026-12-01T05:59:00Z')).toISOString()).to.equal(
      '2026-12-01T06:00:00.000Z',
    );
    expect(parseSchedule('30 3 * * 0').next(T('2026-12-01T00:00:00Z')).toISOString()).to.equal(
      '2026-12-06T03:30:00.000Z',
    );
    expect(parseSchedule('@daily').next(T('2026-12-01T10:00:00Z')).toISOString()).to.equal(
      '2026-12-02T00:00:00.000Z',
    );
    expect(parseSchedule('@every 30m').next(T('2026-12-01T10:00:00Z')).toISOString()).to.equal(
      '2026-12-01T10:30:00.000Z',
    );
    expect(periodAt(parseSchedule('0 */6 * * *'), T('2026-12-01T01:00:00Z'))).to.equal(6 * 3600_000);
  });

  it('refuses what is not a schedule, saying what is expected', () => {
    for (const bad of [
      '',
      '* * * *',
      '0 0 * * * *',
      '61 * * * *',
      '@every',
      '@every 10',
      '@every 500ms',
      '@sometimes',
    ]) {
      expect(() => parseSchedule(bad), bad).to.throw(ScheduleError);
    }
    expect(() => parseSchedule('* * * *')).to.throw(/expected 5 cron fields/);
  });

  it('is due at the first slot after the last run, and missed slots make one run, not many', () => {
    const s = parseSchedule('0 * * * *');
    const anchor = T('2026-12-01T09:10:00Z');
    expect(dueRun(s, undefined, anchor, T('2026-12-01T09:59:00Z')).due).to.equal(false);
    const first = dueRun(s, undefined, anchor, T('2026-12-01T10:00:05Z'));
    expect(first).to.deep.include({ due: true });
    expect(first.slot.toISOString()).to.equal('2026-12-01T10:00:00.000Z');
    // The operator was down from 10:00 to 15:20: one run at 15:20, the next at 16:00.
    const late = dueRun(s, T('2026-12-01T10:00:05Z'), anchor, T('2026-12-01T15:20:00Z'));
    expect(late.due).to.equal(true);
    expect(late.following.toISOString()).to.equal('2026-12-01T16:00:00.000Z');
    const after = dueRun(s, T('2026-12-01T15:20:00Z'), anchor, T('2026-12-01T15:30:00Z'));
    expect(after).to.deep.include({ due: false });
    expect(after.slot.toISOString()).to.equal('2026-12-01T16:00:00.000Z');
  });
});

describe('backup names and retention', () => {
  it('names objects <cluster>/<UTC time>-r<revision>.db and reads them back', () => {
    const n = objectName('prod/main', T('2026-12-01T09:30:05.123Z'), 4711);
    expect(n).to.equal('prod/main/20261201T093005Z-r4711.db');
    expect(parseObjectName('20261201T093005Z-r4711.db')).to.deep.equal({
      time: T('2026-12-01T09:30:05Z'),
      revision: 4711,
    });
    expect(parseObjectName('20261201T093005Z-r4711.db.sha256')).to.equal(undefined);
    expect(parseObjectName('notes.txt')).to.equal(undefined);
    expect(() => clusterPath('../etc')).to.throw(/cannot name a backup folder/);
    expect(() => clusterPath('a/b/c/..')).to.throw();
  });

  const obj = (hour: number, verified = true): BackupObject => ({
    name: `c/x-${hour}`,
    time: T(`2026-12-01T${String(hour).padStart(2, '0')}:00:00Z`),
    revision: hour,
    sizeBytes: 1,
    verified,
  });
  const names = (xs: BackupObject[]): string[] => xs.map((o) => o.name);

  it('keeps the newest `keep`, drops those older than maxAge', () => {
    const all = [obj(1), obj(5), obj(3), obj(4), obj(2)];
    const now = T('2026-12-01T06:00:00Z');
    expect(names(retentionPlan(all, { keep: 2 }, now).keep)).to.deep.equal(['c/x-5', 'c/x-4']);
    expect(names(retentionPlan(all, { maxAgeMs: 3.5 * 3600_000 }, now).remove)).to.deep.equal([
      'c/x-2',
      'c/x-1',
    ]);
    expect(names(retentionPlan(all, { keep: 10, maxAgeMs: 2.5 * 3600_000 }, now).keep)).to.deep.equal([
      'c/x-5',
      'c/x-4',
    ]);
    expect(retentionPlan(all, {}, now).remove).to.deep.equal([]);
  });

  it('never deletes the newest verified snapshot, whatever the policy says', () => {
    const all = [obj(1), obj(2), obj(3, false), obj(4, false)];
    const now = T('2026-12-09T00:00:00Z');
    const plan = retentionPlan(all, { keep: 1, maxAgeMs: 3600_000 }, now);
    expect(names(plan.keep)).to.deep.equal(['c/x-2']);
    expect(names(plan.remove)).to.deep.equal(['c/x-4', 'c/x-3', 'c/x-1']);
    expect(names(retentionPlan(all, { keep: 0 }, now).keep)).to.deep.equal(['c/x-2']);
  });
});
