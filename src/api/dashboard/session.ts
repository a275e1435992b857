/**
 * How the dashboard page authenticates its event stream when `--api-token` is set.
 *
 * EventSource cannot send an Authorization header, and a token in a query string ends up in
 * proxy/ingress access logs and browser history. So the page's sign-in form sends the token ONCE
 * as `Authorization: Bearer` to `GET /api/v1/dashboard/session` (checked by the API's normal token
 * check); that answers with an HttpOnly, SameSite=Strict cookie whose value is an HMAC derived
 * from the token — never the token itself. The event stream (`/events`) accepts that cookie or the
 * Bearer header. Rotating the token invalidates every cookie; a monitor restart with the same
 * token keeps them valid, so an open page reconnects by itself.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { tokenMatches } from '../server.js';

export const SESSION_COOKIE = 'etcd_monitor_session';

/** The cookie value for a token: HMAC-SHA256(key = token, fixed label), base64url. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('etcd-monitor dashboard session v1').digest('base64url');
}

/** The value of one cookie in a Cookie header (first occurrence), undefined when absent. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when no token is configured, or the request carries the Bearer token or a valid session cookie. */
export function streamAuthorized(req: http.IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  if (tokenMatches(req.headers.authorization, token)) return true;
  const c = cookieValue(req.headers.cookie, SESSION_COOKIE);
  return c !== undefined && safeEqual(c, sessionValue(token));
}

/** True when the browser reached us over HTTPS (directly or through a TLS-terminating proxy). */
function overHttps(req: http.IncomingMessage): boolean {
  const proto = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https' || Boolean((req.socket as { encrypted?: boolean }).encrypted);
}

/** The Set-Cookie header that signs a browser in (a session cookie: gone when the browser closes). */
export function sessionCookie(req: http.IncomingMessage, token: string): string {
  return `${SESSION_COOKIE}=${sessionValue(token)}; Path=/; HttpOnly; SameSite=Strict${overHttps(req) ? '; Secure' : ''}`;
}

/** The Set-Cookie header that signs a browser out. */
export function clearedSessionCookie(req: http.IncomingMessage): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${overHttps(req) ? '; Secure' : ''}`;
}
