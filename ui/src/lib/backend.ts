// The one adapter between the UI and the Rust core: a typed function per Tauri command.
//
// The core rejects a command with `{code, message}` (`ApiError`). This module turns that into a
// thrown `CommandError`, so screens branch on `code` and show `message`, which the core writes
// to say what happened and what to do. Two more codes belong to the UI alone: `ipc` when the
// call never reached the core, and `timeout` when the core did not answer in time, so that no
// screen waits for ever.

import { invoke } from '@tauri-apps/api/core';
import type { ApiError } from './bindings/ApiError';
import type { ErrorCode } from './bindings/ErrorCode';
import type { Label } from './bindings/Label';
import type { OrderDetail } from './bindings/OrderDetail';
import type { OrderSummary } from './bindings/OrderSummary';
import type { OrderView } from './bindings/OrderView';
import type { ProductView } from './bindings/ProductView';
import type { ScanResult } from './bindings/ScanResult';
import type { SessionInfo } from './bindings/SessionInfo';
import type { Status } from './bindings/Status';
import type { Verification } from './bindings/Verification';

export type FailureCode = ErrorCode | 'ipc' | 'timeout';

/** Codes for something broken rather than refused: the person cannot fix the input. */
const BROKEN: ReadonlySet<FailureCode> = new Set(['storage', 'central', 'ipc', 'timeout']);

export class CommandError extends Error {
  readonly code: FailureCode;

  constructor(code: FailureCode, message: string) {
    super(message);
    this.name = 'CommandError';
    this.code = code;
  }

  /** True when the core understood the request and said no; nothing changed. */
  get refused(): boolean {
    return !BROKEN.has(this.code);
  }
}

/**
 * How long a command may take before the UI gives up on it. Every call is local to the
 * device except `sync_now`, which talks to central, whose own client times out first.
 */
const settings = { timeoutMs: 20_000, syncTimeoutMs: 60_000 };

/** Changes the time limits; the component tests shorten them to see a timeout happen. */
export function configureBackend(change: Partial<typeof settings>): void {
  Object.assign(settings, change);
}

type SessionLost = (message: string) => void;
const sessionListeners = new Set<SessionLost>();

/**
 * Calls `listener` whenever the core refuses a step because nobody is signed in (the session
 * locked after idle time). Returns the function that stops listening.
 */
export function onSessionLost(listener: SessionLost): () => void {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

function isApiError(value: unknown): value is ApiError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ApiError).code === 'string' &&
    typeof (value as ApiError).message === 'string'
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const seconds = Math.round(ms / 100) / 10;
      reject(
        new CommandError(
          'timeout',
          `The app did not answer within ${seconds} s. Check the screen shows what you expect ` +
            'before trying again; restart the app if this keeps happening.',
        ),
      );
    }, ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  const ms = command === 'sync_now' ? settings.syncTimeoutMs : settings.timeoutMs;
  try {
    return await withTimeout(invoke<T>(command, args), ms);
  } catch (err) {
    if (err instanceof CommandError) throw err;
    if (isApiError(err)) {
      // A refused sign-in is the sign-in screen's own business, not a lost session.
      if (err.code === 'not_signed_in' && command !== 'sign_in') {
        for (const listener of sessionListeners) listener(err.message);
      }
      throw new CommandError(err.code, err.message);
    }
    const text = err instanceof Error ? err.message : String(err);
    throw new CommandError(
      'ipc',
      `The screen could not reach the app's core (${text}). Restart the app; ` +
        'work already confirmed on screen is saved.',
    );
  }
}

export const backend = {
  signIn: (staffId: string, pin: string) => call<SessionInfo>('sign_in', { staffId, pin }),
  signOut: () => call<null>('sign_out'),
  status: () => call<Status>('status'),
  syncNow: () => call<Status>('sync_now'),

  listOrders: (view: OrderView) => call<OrderSummary[]>('list_orders', { view }),
  getOrder: (orderId: string) => call<OrderDetail>('get_order', { orderId }),
  scanItem: (orderId: string, text: string) => call<ScanResult>('scan_item', { orderId, text }),
  stageOrder: (orderId: string, binText: string) =>
    call<OrderDetail>('stage_order', { orderId, binText }),
  markReady: (orderId: string) => call<OrderDetail>('mark_ready', { orderId }),

  findPickup: (query: string) => call<OrderSummary[]>('find_pickup', { query }),
  handOver: (
    orderId: string,
    verification: Verification,
    pickupCode: string | null,
    collectedBy: string | null,
  ) => call<OrderDetail>('hand_over', { orderId, verification, pickupCode, collectedBy }),
  pickupLabel: (orderId: string) => call<Label>('pickup_label', { orderId }),

  searchProducts: (query: string) => call<ProductView[]>('search_products', { query }),
};

/**
 * The sentence to show for any failure. A failure to reach central gets the reassurance a
 * person needs: the work is kept and goes out when the link is back.
 */
export function messageOf(err: unknown): string {
  if (err instanceof CommandError) {
    if (err.code === 'central') {
      return sentence(
        `${err.message}. Work done here is kept and written back when central answers`,
      );
    }
    return sentence(err.message);
  }
  return sentence(err instanceof Error ? err.message : String(err));
}

/** The core writes messages as log lines do (lower case, no full stop); people read sentences. */
function sentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '')
    return 'The app gave no reason for this failure. Try again; tell a lead if it repeats.';
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?)]$/.test(capital) ? capital : `${capital}.`;
}

/** The failure code of `err`, or `null` for something that is not a command failure. */
export function codeOf(err: unknown): FailureCode | null {
  return err instanceof CommandError ? err.code : null;
}
