/** Child process of measureScale() (measure.ts): runs runScale() once with the options the parent sends, then exits. */
import type { ScaleOptions, WorkerMessage } from './measure.js';
import { runScale } from './scale.js';

function send(msg: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(msg, undefined, {}, () => resolve()));
}

let ack: (() => void) | undefined;
process.on('message', (msg: { type: string; options?: ScaleOptions }) => {
  if (msg.type === 'window-ack') {
    ack?.();
    return;
  }
  if (msg.type !== 'run' || !msg.options) return;
  const opts = msg.options;
  runScale(opts, {
    log: (text) => void send({ type: 'log', text }),
    onWindow: (phase) =>
      new Promise<void>((resolve) => {
        ack = resolve;
        void send({ type: 'window', phase });
      }),
  })
    .then((result) => send({ type: 'result', result }))
    .catch((e: unknown) =>
      send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
    )
    .finally(() => process.exit(0));
});
