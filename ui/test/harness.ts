// A test page: the real app, with Tauri's IPC answered by an in-page store that follows the
// core's rules closely enough to pick, stage, ready and hand over an order. Query parameters
// choose the situation: `?offline=1` starts with central unreachable and events waiting.

import { mockIPC } from '@tauri-apps/api/mocks';
import type { ErrorCode } from '../src/lib/bindings/ErrorCode';
import type { OrderDetail } from '../src/lib/bindings/OrderDetail';
import type { OrderStatus } from '../src/lib/bindings/OrderStatus';
import type { ProductView } from '../src/lib/bindings/ProductView';
import type { Status } from '../src/lib/bindings/Status';

const params = new URLSearchParams(location.search);
const offline = params.has('offline');
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

const products: ProductView[] = [
  {
    gtin14: '04006381333931',
    printedCode: '4006381333931',
    name: 'Highlighter',
    brand: null,
    onHand: 5,
    available: 3,
  },
  {
    gtin14: '00000096385074',
    printedCode: '96385074',
    name: 'Mints',
    brand: 'Fresh',
    onHand: 2,
    available: 1,
  },
  {
    gtin14: '00036000291452',
    printedCode: '036000291452',
    name: 'Tissues',
    brand: null,
    onHand: 0,
    available: -1,
  },
];

function order(
  n: number,
  customer: string,
  status: OrderStatus,
  placed: number,
  code: string,
  lines: [string, number, number][],
): OrderDetail {
  return {
    summary: {
      id: `id-${n}`,
      platformOrderId: `P-${n}`,
      orderNumber: `D-${n}`,
      customerName: customer,
      fulfilment: 'bopis',
      status,
      placedAt: minutesAgo(placed),
      unitsOrdered: lines.reduce((s, l) => s + l[1], 0),
      unitsPicked: lines.reduce((s, l) => s + l[2], 0),
      bin: status === 'ready' ? 'BIN-B02' : null,
      cancelReason: status === 'cancelled' ? 'customer cancelled online' : null,
    },
    pickupCode: code,
    lines: lines.map(([gtin14, ordered, picked], i) => {
      const p = products.find((x) => x.gtin14 === gtin14)!;
      return {
        lineId: `${i + 1}`,
        gtin14,
        printedCode: p.printedCode,
        name: p.name,
        ordered,
        picked,
        overPicked: 0,
      };
    }),
    history: [],
  };
}

const orders: OrderDetail[] = [
  order(1, 'Aiko Ferreira', 'new', 190, 'ACDE-FGHJ', [
    ['04006381333931', 2, 0],
    ['00000096385074', 1, 0],
  ]),
  order(2, 'Bruno Castell', 'cancelled', 30, 'KMNP-QRTU', [['00036000291452', 1, 0]]),
  order(3, 'Ana Souza', 'ready', 12, 'VWXY-Z234', [['00036000291452', 1, 1]]),
];
let waiting = offline ? 3 : 0;

function refuse(code: ErrorCode, message: string): never {
  throw { code, message };
}

function find(id: string): OrderDetail {
  return orders.find((o) => o.summary.id === id) ?? refuse('not_found', `no order ${id}`);
}

function checkDigitOk(digits: string): boolean {
  const body = digits.slice(0, -1).split('').reverse();
  const sum = body.reduce((s, d, i) => s + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return (10 - (sum % 10)) % 10 === Number(digits.slice(-1));
}

function refuseClosed(o: OrderDetail) {
  if (o.summary.status === 'cancelled') {
    refuse(
      'order_cancelled',
      `order ${o.summary.orderNumber} was cancelled (customer ` +
        'cancelled online); put any picked items back',
    );
  }
  if (o.summary.status === 'handed_over') {
    refuse('order_completed', `order ${o.summary.orderNumber} was already handed over`);
  }
}

function recount(o: OrderDetail, step?: OrderStatus) {
  o.summary.unitsPicked = o.lines.reduce((s, l) => s + l.picked, 0);
  if (step) o.summary.status = step;
  else if (o.summary.unitsPicked === o.summary.unitsOrdered) o.summary.status = 'picked';
  else if (o.summary.unitsPicked > 0) o.summary.status = 'picking';
  waiting += step || o.summary.status === 'picked' ? 1 : 0;
}

const svg = (code: string) =>
  '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60">' +
  `<text y="40">${code}</text></svg>`;

mockIPC((cmd, args) => {
  const a = (args ?? {}) as Record<string, string | null>;
  switch (cmd) {
    case 'sign_in':
      if (a.staffId === '1001' && a.pin === '1234') {
        return { staffId: '1001', displayName: 'Ana Souza', role: 'associate' };
      }
      return refuse('bad_pin', 'that staff id and PIN do not match; try again');
    case 'sign_out':
      return null;
    case 'status':
    case 'sync_now': {
      const status: Status = {
        storeId: 'demo-store',
        deviceId: 'dev',
        deviceName: 'tablet-1',
        centralUrl: 'http://127.0.0.1:1',
        online: !offline,
        outboxWaiting: waiting,
        lastSyncAt: null,
        lastError: offline ? 'central is unreachable' : null,
        session: null,
      };
      return status;
    }
    case 'list_orders':
      return orders
        .filter(
          (o) =>
            a.view !== 'queue' || !['ready', 'handed_over', 'cancelled'].includes(o.summary.status),
        )
        .map((o) => o.summary);
    case 'get_order':
      return find(a.orderId!);
    case 'scan_item': {
      const o = find(a.orderId!);
      refuseClosed(o);
      const text = (a.text ?? '').trim();
      if (!/^\d{8}$|^\d{12,14}$/.test(text)) {
        refuse('not_a_scan', `${JSON.stringify(text)} is not a product barcode`);
      }
      if (!checkDigitOk(text)) {
        refuse('bad_check_digit', `check digit of ${text} is wrong: the code was misread`);
      }
      const gtin14 = text.padStart(14, '0');
      const line = o.lines.find((l) => l.gtin14 === gtin14);
      if (!line) {
        if (products.some((p) => p.gtin14 === gtin14)) {
          refuse('wrong_item', `${text} is not on order ${o.summary.orderNumber}; put it back`);
        }
        refuse('unknown_code', `no product in the catalogue has code ${text}`);
      }
      if (line.picked >= line.ordered) {
        refuse('over_pick', `all ${line.ordered} of ${line.name} are already picked`);
      }
      line.picked += 1;
      recount(o);
      return {
        lineId: line.lineId,
        name: line.name,
        printedCode: line.printedCode,
        picked: line.picked,
        ordered: line.ordered,
        orderComplete: o.summary.status === 'picked',
        order: o,
      };
    }
    case 'stage_order': {
      const o = find(a.orderId!);
      refuseClosed(o);
      const bin = (a.binText ?? '').trim().toUpperCase();
      if (!/^BIN-[A-Z]\d\d$/.test(bin)) {
        refuse('not_a_scan', `"${a.binText}" is not a bin label; scan the label on the bin`);
      }
      o.summary.bin = bin;
      recount(o, 'staged');
      return o;
    }
    case 'mark_ready': {
      const o = find(a.orderId!);
      if (o.summary.status !== 'ready') recount(o, 'ready');
      return o;
    }
    case 'pickup_label': {
      const o = find(a.orderId!);
      return { code: o.pickupCode, svg: svg(o.pickupCode) };
    }
    case 'find_pickup': {
      const q = (a.query ?? '').trim().toLowerCase();
      return orders
        .filter(
          (o) =>
            o.pickupCode.toLowerCase() === q ||
            o.summary.orderNumber.toLowerCase() === q ||
            o.summary.customerName.toLowerCase().includes(q),
        )
        .map((o) => o.summary);
    }
    case 'hand_over': {
      const o = find(a.orderId!);
      refuseClosed(o);
      if (a.verification === 'pickup_code' && a.pickupCode?.toUpperCase() !== o.pickupCode) {
        refuse('pickup_code_mismatch', 'that pickup code does not belong to this order');
      }
      recount(o, 'handed_over');
      o.history.push({
        at: new Date().toISOString(),
        kind: 'order_handed_over',
        associateId: '1001',
        deviceId: 'dev',
        detail: `handed over to ${a.collectedBy ?? 'customer'}`,
      });
      return o;
    }
    case 'search_products': {
      const q = (a.query ?? '').trim().toLowerCase();
      return products.filter((p) => p.name.toLowerCase().includes(q) || p.printedCode === q);
    }
    default:
      throw { code: 'invalid', message: `the test harness has no command ${cmd}` };
  }
});

await import('../src/main');
