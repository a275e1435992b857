/**
 * Schedules of backups and defragmentation: standard 5-field cron (UTC, via cron-parser) or
 * `@every <duration>`, and the "is a run due" rule. Pure: time is passed in.
 *
 * A run missed while nobody was watching (operator down, standalone not running) runs once when the
 * watcher is back, not once per missed slot: after it, the next run is the first slot after *now*.
 */
import { CronExpressionParser } from 'cron-parser';
import { parseDuration } from '../crd/duration.js';

export class ScheduleError extends Error {}

export interface Schedule {
  readonly text: string;
  /** The first slot strictly after `t`. */
  next(t: Date): Date;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** Parse a schedule; throws ScheduleError with a message fit for a status condition or a usage error. */
export function parseSchedule(text: string): Schedule {
  const t = text.trim();
  const every = /^@every\s+(\S+)$/.exec(t);
  if (every) {
    let ms: number;
    try {
      ms = parseDuration(every[1]!);
    } catch (e) {
      throw new ScheduleError(`schedule "${text}": ${(e as Error).message}`);
    }
    if (ms < 1000) throw new ScheduleError(`schedule "${text}": @every needs at least 1s`);
    return { text: t, next: (after) => new Date(after.getTime() + ms) };
  }
  const expr = MACROS[t] ?? t;
  const fields = expr.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) {
    throw new ScheduleError(
      `schedule "${text}": expected 5 cron fields (minute hour day-of-month month day-of-week), @hourly/@daily/@weekly/@monthly/@yearly, or "@every 30m"`,
    );
  }
  // cron-parser takes an optional seconds field first; pin it to 0 so a slot is a whole minute.
  const six = `0 ${fields.join(' ')}`;
  try {
    CronExpressionParser.parse(six, { tz: 'UTC', strict: false });
  } catch (e) {
    throw new ScheduleError(`schedule "${text}": ${(e as Error).message}`);
  }
  return {
    text: t,
    next: (after) => CronExpressionParser.parse(six, { tz: 'UTC', currentDate: after }).next().toDate(),
  };
}

export interface DueDecision {
  /** Run now. */
  due: boolean;
  /** When the next run is due if this one is not taken now (or, when due, the slot being taken). */
  slot: Date;
  /** The run after this one: the first slot after `now` (for status.nextScheduleTime). */
  following: Date;
}

/**
 * Whether a run is due: `last` is when the previous run was started (status.lastScheduleTime), or,
 * for a schedule never run, `anchor` (when the schedule was first seen). Missed slots collapse into one run.
 */
export function dueRun(s: Schedule, last: Date | undefined, anchor: Date, now: Date): DueDecision {
  const slot = s.next(last ?? anchor);
  if (slot.getTime() <= now.getTime()) return { due: true, slot, following: s.next(now) };
  return { due: false, slot, following: slot };
}

/** The length of one period at `t` (two consecutive slots apart), for "stale after two periods". */
export function periodAt(s: Schedule, t: Date): number {
  const a = s.next(t);
  return s.next(a).getTime() - a.getTime();
}
