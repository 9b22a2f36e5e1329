// The one adapter between the UI and the Rust core: a typed function per Tauri command.
//
// A command that the core refuses rejects with `{code, message}` (`ApiError`); this module
// turns that into a thrown `BackendError`, so screens can branch on `code` and show `message`,
// which always says what happened and what to do.

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

export class BackendError extends Error {
  readonly code: ErrorCode | 'ipc';

  constructor(code: ErrorCode | 'ipc', message: string) {
    super(message);
    this.code = code;
  }
}

function isApiError(value: unknown): value is ApiError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ApiError).code === 'string' &&
    typeof (value as ApiError).message === 'string'
  );
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (err) {
    if (isApiError(err)) throw new BackendError(err.code, err.message);
    const text = err instanceof Error ? err.message : String(err);
    throw new BackendError('ipc', `The app could not reach its core (${text}). Restart it.`);
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

/// The message to show for any failure.
export function messageOf(err: unknown): string {
  if (err instanceof BackendError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
