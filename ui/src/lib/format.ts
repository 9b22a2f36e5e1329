// Words, ages and times as the screens show them.

import type { OrderStatus } from './bindings/OrderStatus';

const STATUS_WORDS: Record<OrderStatus, string> = {
  new: 'new',
  picking: 'picking',
  picked: 'picked',
  staged: 'staged',
  ready: 'ready',
  handed_over: 'handed over',
  cancelled: 'cancelled',
};

export function statusWord(status: OrderStatus): string {
  return STATUS_WORDS[status];
}

/** How long ago `iso` was, as a person reads it on a busy floor: "12 min", "3 h 10 min", "2 d". */
export function age(iso: string, now: number = Date.now()): string {
  const minutes = Math.max(0, Math.floor((now - Date.parse(iso)) / 60_000));
  if (Number.isNaN(minutes)) return '?';
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 24 * 60) {
    const rest = minutes % 60;
    return rest === 0 ? `${minutes / 60} h` : `${Math.floor(minutes / 60)} h ${rest} min`;
  }
  return `${Math.floor(minutes / 1440)} d`;
}

/**
 * Orders waiting longer than this are flagged overdue in the queue.
 *
 * TODO(settings): the store's pickup promise belongs to central's store settings, which the
 * core does not pass to the UI yet; two hours is the usual BOPIS promise.
 */
export const OVERDUE_MINUTES = 120;

export function overdue(iso: string, now: number = Date.now()): boolean {
  return now - Date.parse(iso) > OVERDUE_MINUTES * 60_000;
}

/** The local clock time of `iso`, with the day when it is not today: "14:05", "3 Dec 14:05". */
export function clock(iso: string, now: number = Date.now()): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (at.toDateString() === new Date(now).toDateString()) return time;
  return `${at.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${time}`;
}
