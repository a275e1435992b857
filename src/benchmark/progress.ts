/**
 * The progress bar shown on a terminal while the benchmark runs (stderr, so stdout stays a clean
 * report). The rendering is pure; ProgressBar redraws it a few times a second, only on a TTY.
 */

/** What the runner reports progress to. */
export interface ProgressSink {
  begin(label: string, total: number): void;
  update(done: number, failed: number): void;
  end(): void;
}

export const NO_PROGRESS: ProgressSink = { begin() {}, update() {}, end() {} };

function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

/** One line: `label  1234 / 10000 [=====>     ]  12% 0:03 4113/s 2 failed`, fitted to `columns`. */
export function renderProgress(
  label: string,
  done: number,
  total: number,
  failed: number,
  elapsedMs: number,
  columns = 80,
): string {
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const pct = `${String(Math.floor(frac * 100)).padStart(3)}%`;
  const rate = elapsedMs > 0 ? `${Math.round((done * 1000) / elapsedMs)}/s` : '';
  const counts = `${String(done).padStart(String(total).length)} / ${total}`;
  const tail = ` ${pct} ${clock(elapsedMs)} ${rate}${failed > 0 ? ` ${failed} failed` : ''}`;
  const head = `${label} ${counts} `;
  const width = Math.max(10, Math.min(50, columns - head.length - tail.length - 2));
  const filled = Math.floor(frac * width);
  const bar = '='.repeat(filled) + (filled < width ? '>' + ' '.repeat(width - filled - 1) : '');
  return `${head}[${bar}]${tail}`;
}

interface TtyLike {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

/** Redraws the bar on a TTY every `everyMs`; does nothing at all on a pipe or file. */
export class ProgressBar implements ProgressSink {
  private label = '';
  private total = 0;
  private done = 0;
  private failed = 0;
  private started = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: TtyLike = process.stderr,
    private readonly everyMs = 100,
  ) {}

  get active(): boolean {
    return Boolean(this.stream.isTTY);
  }

  begin(label: string, total: number): void {
    if (!this.active) return;
    this.end();
    this.label = label;
    this.total = total;
    this.done = 0;
    this.failed = 0;
    this.started = Date.now();
    this.timer = setInterval(() => this.draw(), this.everyMs);
    this.timer.unref();
    this.draw();
  }

  update(done: number, failed: number): void {
    this.done = done;
    this.failed = failed;
  }

  private draw(): void {
    const line = renderProgress(
      this.label,
      this.done,
      this.total,
      this.failed,
      Date.now() - this.started,
      this.stream.columns || 80,
    );
    this.stream.write(`\r${line}\x1b[K`);
  }

  end(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.draw();
    this.stream.write('\n');
  }
}
