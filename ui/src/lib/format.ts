// Words and numbers as the screens show them.

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

/// How long ago `iso` was, in the largest whole unit: "12 min", "3 h", "2 d".
export function age(iso: string, now: number = Date.now()): string {
  const minutes = Math.max(0, Math.floor((now - Date.parse(iso)) / 60_000));
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h`;
  return `${Math.floor(minutes / 1440)} d`;
}

/// Orders waiting longer than this are flagged overdue in the queue.
export const OVERDUE_MINUTES = 120;

export function overdue(iso: string, now: number = Date.now()): boolean {
  return now - Date.parse(iso) > OVERDUE_MINUTES * 60_000;
}
