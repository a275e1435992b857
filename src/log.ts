/** Structured logging: JSON in a pod or when asked, readable text on a terminal. Never log secrets. */
import winston from 'winston';

export type Logger = winston.Logger;
export type LogFormat = 'json' | 'text';

export function createLogger(level = 'info', format?: LogFormat): Logger {
  const fmt: LogFormat =
    format ?? (process.stderr.isTTY && !process.env.KUBERNETES_SERVICE_HOST ? 'text' : 'json');
  const text = winston.format.printf((info) => {
    const { level: lvl, message, timestamp, ...rest } = info;
    const extra = Object.keys(rest).length
      ? ' ' +
        Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ')
      : '';
    return `${String(timestamp)} ${lvl} ${String(message)}${extra}`;
  });
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), fmt === 'json' ? winston.format.json() : text),
    transports: [
      new winston.transports.Console({
        stderrLevels: ['error', 'warn', 'info', 'debug', 'verbose', 'silly'],
      }),
    ],
  });
}

/** A logger that drops everything (tests, one-shot tools). */
export function silentLogger(): Logger {
  return winston.createLogger({
    silent: true,
    transports: [new winston.transports.Console({ silent: true })],
  });
}
