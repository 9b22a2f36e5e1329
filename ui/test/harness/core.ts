// A stand-in for the Rust core, answering the app's Tauri commands inside the test page.
//
// It follows the core's rules closely enough to pick, stage, ready and hand over an order scan
// by scan: the same states and transitions, the same refusal codes with messages worded like
// the core's, the same argument names (a misspelt key is rejected as Tauri rejects it), a
// session the core can lock, and an outbox that fills while central is unreachable. Tests
// steer it through `window.harness`: central cancels an order, another device picks, the link
// drops, a command hangs.

import type { ApiError } from '../../src/lib/bindings/ApiError';
import type { ErrorCode } from '../../src/lib/bindings/ErrorCode';
import type { HistoryEntry } from '../../src/lib/bindings/HistoryEntry';
import type { OrderDetail } from '../../src/lib/bindings/OrderDetail';
import type { OrderStatus } from '../../src/lib/bindings/OrderStatus';
import type { OrderSummary } from '../../src/lib/bindings/OrderSummary';
import type { ProductView } from '../../src/lib/bindings/ProductView';
import type { SessionInfo } from '../../src/lib/bindings/SessionInfo';
import type { Status } from '../../src/lib/bindings/Status';

type Args = Record<string, unknown>;

/** The argument keys each command takes, exactly as the Rust commands name them. */
const COMMANDS: Record<string, string[]> = {
  sign_in: ['staffId', 'pin'],
  sign_out: [],
  status: [],
  sync_now: [],
  list_orders: ['view'],
  get_order: ['orderId'],
  scan_item: ['orderId', 'text'],
  stage_order: ['orderId', 'binText'],
  mark_ready: ['orderId'],
  find_pickup: ['query'],
  hand_over: ['orderId', 'verification', 'pickupCode', 'collectedBy'],
  pickup_label: ['orderId'],
  search_products: ['query'],
};

const DEVICE_ID = '0190f5a2-7c1e-7000-8000-00000000d001';
const PICKUP_ALPHABET = 'ACDEFGHJKMNPQRTUVWXYZ234679';

const STAFF: Record<string, { pin: string; info: SessionInfo }> = {
  '1001': { pin: '1234', info: { staffId: '1001', displayName: 'Ana Souza', role: 'associate' } },
  '1002': { pin: '2345', info: { staffId: '1002', displayName: 'Rui Costa', role: 'associate' } },
  '2001': { pin: '9876', info: { staffId: '2001', displayName: 'Mei Lin', role: 'manager' } },
};

export const PRODUCTS: ProductView[] = [
  product('4006381333931', 'Highlighter, yellow', 'Stabilo', 5, 3),
  product('96385074', 'Peppermints 50 g', 'Fresh', 2, 1),
  product('036000291452', 'Tissues, 3-ply', null, 1, -1),
  product('5901234123457', 'Tomato soup 400 g', 'Kitchen', 12, 11),
  product('012345678905', 'AA batteries, 4 pack', 'Volt', 8, 7),
  product('5012345678900', 'Sticky notes', null, null, null),
];

function product(
  printed: string,
  name: string,
  brand: string | null,
  onHand: number | null,
  available: number | null,
): ProductView {
  return {
    gtin14: printed.padStart(14, '0'),
    printedCode: printed,
    name,
    brand,
    onHand,
    available,
  };
}

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

function refuse(code: ErrorCode, message: string): never {
  // A plain object, as Tauri delivers the core's `ApiError`.
  const refusal: ApiError = { code, message };
  throw refusal;
}

type Seed = {
  n: number;
  customer: string;
  status: OrderStatus;
  placed: number;
  code: string;
  lines: [printed: string, ordered: number, picked: number][];
  bin?: string;
  cancelReason?: string;
  history?: Omit<HistoryEntry, 'at' | 'deviceId'>[];
};

function order(seed: Seed): OrderDetail {
  const lines = seed.lines.map(([printed, ordered, picked], i) => {
    const p = PRODUCTS.find((x) => x.printedCode === printed);
    if (!p) throw new Error(`harness: no product ${printed}`);
    return {
      lineId: `L${i + 1}`,
      gtin14: p.gtin14,
      printedCode: p.printedCode,
      name: p.name,
      ordered,
      picked,
      overPicked: 0,
    };
  });
  return {
    summary: {
      id: `0190f5a2-0000-5000-8000-0000000${seed.n}`,
      platformOrderId: `olist-${seed.n}`,
      orderNumber: `D-${seed.n}`,
      customerName: seed.customer,
      fulfilment: 'bopis',
      status: seed.status,
      placedAt: minutesAgo(seed.placed),
      unitsOrdered: lines.reduce((s, l) => s + l.ordered, 0),
      unitsPicked: lines.reduce((s, l) => s + l.picked, 0),
      bin: seed.bin ?? null,
      cancelReason: seed.cancelReason ?? null,
    },
    pickupCode: seed.code,
    lines,
    history: (seed.history ?? []).map((h, i) => ({
      ...h,
      at: minutesAgo(seed.placed - 1 - i),
      deviceId: DEVICE_ID,
    })),
  };
}

function seedOrders(): OrderDetail[] {
  return [
    order({
      n: 10001,
      customer: 'Aiko Ferreira',
      status: 'new',
      placed: 190,
      code: 'ACDE-FGHJ',
      lines: [
        ['4006381333931', 2, 0],
        ['96385074', 1, 0],
      ],
    }),
    order({
      n: 10002,
      customer: 'Bruno Castell',
      status: 'picking',
      placed: 45,
      code: 'KMNP-QRTU',
      lines: [['5901234123457', 2, 1]],
      history: [
        { kind: 'item_picked', associateId: '1001', detail: 'picked 1 × Tomato soup 400 g' },
      ],
    }),
    order({
      n: 10003,
      customer: 'Luca Petrenko',
      status: 'new',
      placed: 4,
      code: 'TUVW-XYZ2',
      lines: [['012345678905', 1, 0]],
    }),
    order({
      n: 10004,
      customer: 'Ana Souza',
      status: 'ready',
      placed: 30,
      code: 'VWXY-Z234',
      bin: 'BIN-B02',
      lines: [['012345678905', 1, 1]],
    }),
    order({
      n: 10005,
      customer: 'Kemi Moreau',
      status: 'cancelled',
      placed: 80,
      code: 'CDEF-GHJK',
      cancelReason: 'customer cancelled online',
      lines: [['96385074', 1, 0]],
      history: [
        { kind: 'order_cancelled', associateId: 'central', detail: 'cancelled by central' },
      ],
    }),
    order({
      n: 10006,
      customer: 'Mira Castell',
      status: 'handed_over',
      placed: 300,
      code: 'DEFG-HJKM',
      bin: 'BIN-A04',
      lines: [['5901234123457', 1, 1]],
      history: [
        {
          kind: 'order_handed_over',
          associateId: '1002',
          detail: 'handed over to the customer (pickup code checked)',
        },
      ],
    }),
    order({
      n: 10007,
      customer: 'Aiko Van Dijk',
      status: 'staged',
      placed: 20,
      code: 'EFGH-JKMN',
      bin: 'BIN-C03',
      lines: [['96385074', 1, 1]],
    }),
    order({
      n: 10008,
      customer: 'Aiko Tanaka',
      status: 'ready',
      placed: 15,
      code: 'FGHJ-KMNP',
      bin: 'BIN-A02',
      lines: [['036000291452', 1, 1]],
    }),
  ];
}

function checkDigitOk(digits: string): boolean {
  const body = digits.slice(0, -1).split('').reverse();
  const sum = body.reduce((s, d, i) => s + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return (10 - (sum % 10)) % 10 === Number(digits.slice(-1));
}

function canonicalPickupCode(text: string): string | null {
  const upper = text.trim().toUpperCase();
  const compact = upper.replace(/-/g, '');
  const ok =
    compact.length === 8 &&
    upper.length - compact.length <= 1 &&
    (upper.length === 8 || upper.charAt(4) === '-') &&
    [...compact].every((c) => PICKUP_ALPHABET.includes(c));
  return ok ? `${compact.slice(0, 4)}-${compact.slice(4)}` : null;
}

/** Bars that look like a barcode. The core's real Code 128 labels are decoded in its tests. */
function labelSvg(code: string, caption: string): string {
  let x = 20;
  const bars: string[] = [];
  for (const ch of `${code}${code}`) {
    const w = 2 + (ch.charCodeAt(0) % 4);
    bars.push(`<rect x="${x}" y="10" width="${w}" height="80"/>`);
    x += w + 2 + (ch.charCodeAt(0) % 3);
  }
  const width = x + 20;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="140" ` +
    `viewBox="0 0 ${width} 140"><rect width="100%" height="100%" fill="#fff"/>` +
    `<g fill="#000">${bars.join('')}</g>` +
    `<text x="${width / 2}" y="115" font-size="22" text-anchor="middle">${code}</text>` +
    `<text x="${width / 2}" y="134" font-size="12" text-anchor="middle">${caption}</text></svg>`
  );
}

export class Core {
  orders = seedOrders();
  online = true;
  waiting = 0;
  lastSyncAt: string | null = minutesAgo(1);
  session: SessionInfo | null = null;
  sessionExpired = false;
  notSetUp = false;
  failures = new Map<string, number>();
  hanging = new Set<string>();
  /** How long every command takes to answer, as on a slow device. */
  delayMs = 0;
  calls: { cmd: string; args: Args }[] = [];

  /** Answers one command as the core would, or throws what Tauri would reject with. */
  async answer(cmd: string, args: Args = {}): Promise<unknown> {
    this.calls.push({ cmd, args: JSON.parse(JSON.stringify(args)) });
    const keys = COMMANDS[cmd];
    if (!keys) throw `command ${cmd} not found`;
    const missing = keys.find((k) => !(k in args));
    if (missing) {
      throw (
        `invalid args \`${missing}\` for command \`${cmd}\`: ` +
        `command ${cmd} missing required key ${missing}`
      );
    }
    if (this.hanging.delete(cmd)) return new Promise(() => undefined);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.notSetUp) {
      refuse(
        'not_set_up',
        'this device is not enrolled in a store yet: ask the store manager for an enrollment ' +
          'code and run `storehand setup --central URL --code CODE --name NAME`',
      );
    }
    // Through JSON, as every answer crosses Tauri's IPC: the page never shares our objects.
    return JSON.parse(JSON.stringify(this.run(cmd, args) ?? null));
  }

  private run(cmd: string, a: Args): unknown {
    const text = (key: string) => (typeof a[key] === 'string' ? (a[key] as string) : '');
    switch (cmd) {
      case 'sign_in':
        return this.signIn(text('staffId'), text('pin'));
      case 'sign_out':
        this.session = null;
        return null;
      case 'status':
        return this.status();
      case 'sync_now':
        return this.sync();
      case 'list_orders':
        return this.list(text('view'));
      case 'get_order':
        return this.find(text('orderId'));
      case 'scan_item':
        return this.scan(text('orderId'), text('text'));
      case 'stage_order':
        return this.stage(text('orderId'), text('binText'));
      case 'mark_ready':
        return this.ready(text('orderId'));
      case 'find_pickup':
        return this.findPickup(text('query'));
      case 'hand_over':
        return this.handOver(
          text('orderId'),
          text('verification'),
          a.pickupCode as string | null,
          a.collectedBy as string | null,
        );
      case 'pickup_label': {
        const o = this.find(text('orderId'));
        const caption = `${o.summary.orderNumber}  ·  ${o.summary.customerName}`;
        return { code: o.pickupCode, svg: labelSvg(o.pickupCode, caption) };
      }
      case 'search_products':
        return this.searchProducts(text('query'));
    }
    throw `command ${cmd} not found`;
  }

  private signIn(staffId: string, pin: string): SessionInfo {
    const id = staffId.trim();
    if (id === '' || pin === '') refuse('invalid', 'enter your staff id and your PIN');
    if ((this.failures.get(id) ?? 0) >= 5) {
      refuse(
        'account_locked',
        `too many wrong PINs: staff id ${id} is locked for 5 minutes; ask a manager`,
      );
    }
    const who = STAFF[id];
    if (!who || who.pin !== pin) {
      this.failures.set(id, (this.failures.get(id) ?? 0) + 1);
      refuse(
        'bad_pin',
        'that staff id and PIN do not match; try again (5 wrong tries lock it for 5 minutes)',
      );
    }
    this.failures.delete(id);
    this.session = who.info;
    this.sessionExpired = false;
    return who.info;
  }

  /** The signed-in associate for a step, as the core's `Device::session`. */
  private who(): SessionInfo {
    if (this.session && this.sessionExpired) {
      this.session = null;
      refuse('not_signed_in', 'the session locked after 15 idle minutes; sign in again');
    }
    return this.session ?? refuse('not_signed_in', 'sign in first');
  }

  status(): Status {
    if (this.online && this.waiting > 0) this.push();
    return {
      storeId: 'demo-store',
      deviceId: DEVICE_ID,
      deviceName: 'tablet-1',
      centralUrl: 'http://127.0.0.1:47310',
      online: this.online,
      outboxWaiting: this.waiting,
      lastSyncAt: this.lastSyncAt,
      lastError: this.online ? null : 'could not connect to 127.0.0.1:47310 (connection refused)',
      session: this.session,
    };
  }

  private push() {
    this.waiting = 0;
    this.lastSyncAt = new Date().toISOString();
  }

  private sync(): Status {
    if (!this.online) {
      refuse('central', 'central: could not connect to 127.0.0.1:47310 (connection refused)');
    }
    this.push();
    return this.status();
  }

  private list(view: string): OrderSummary[] {
    const active: OrderStatus[] = ['new', 'picking', 'picked', 'staged'];
    const byAge = (x: OrderSummary, y: OrderSummary) => x.placedAt.localeCompare(y.placedAt);
    const all = this.orders.map((o) => o.summary);
    if (view === 'queue') return all.filter((s) => active.includes(s.status)).sort(byAge);
    if (view === 'counter') return all.filter((s) => s.status === 'ready').sort(byAge);
    if (view === 'all') return all.sort(byAge).reverse();
    throw `invalid args \`view\` for command \`list_orders\`: unknown variant \`${view}\``;
  }

  find(ref: string): OrderDetail {
    const o = this.orders.find(
      (x) =>
        x.summary.id === ref || x.summary.orderNumber === ref || x.summary.platformOrderId === ref,
    );
    return (
      o ??
      refuse(
        'not_found',
        `no order ${JSON.stringify(ref)} on this device; sync, or check the number`,
      )
    );
  }

  private record(o: OrderDetail, kind: string, detail: string, by: string, writeBack: boolean) {
    o.history.push({
      at: new Date().toISOString(),
      kind,
      associateId: by,
      deviceId: DEVICE_ID,
      detail,
    });
    if (writeBack) this.waiting += 1;
  }

  private refuseClosed(o: OrderDetail) {
    const s = o.summary;
    if (s.status === 'cancelled') {
      refuse(
        'order_cancelled',
        `order ${s.orderNumber} was cancelled (${s.cancelReason ?? 'no reason given'}); ` +
          'put any picked items back',
      );
    }
    if (s.status === 'handed_over') {
      refuse(
        'order_completed',
        `order ${s.orderNumber} was already handed over; nothing more to do`,
      );
    }
  }

  private scan(orderId: string, raw: string) {
    const me = this.who();
    const text = raw.trim();
    if (text === '') refuse('not_a_scan', 'nothing was scanned');
    if (/^BIN-/i.test(text)) {
      refuse(
        'not_a_scan',
        `${text.toUpperCase()} is a bin label; scan the product's barcode to pick it`,
      );
    }
    if (!/^\d+$/.test(text)) {
      if (canonicalPickupCode(text)) {
        refuse('not_a_scan', 'that is not a product barcode; scan the barcode on the product');
      }
      refuse(
        'not_a_scan',
        `${JSON.stringify(text)} is not a product barcode, pickup code or bin label; if a ` +
          "scanner sent it, check the scanner's keyboard layout",
      );
    }
    if (![8, 12, 13, 14].includes(text.length)) {
      refuse(
        'not_a_scan',
        `a GTIN has 8, 12, 13 or 14 digits; ${JSON.stringify(text)} has ${text.length}: a digit ` +
          'was dropped or two scans ran together; scan again',
      );
    }
    if (!checkDigitOk(text)) {
      refuse(
        'bad_check_digit',
        `check digit of ${text} is wrong: the code was misread; scan it again or type the ` +
          'digits under the barcode',
      );
    }
    const o = this.find(orderId);
    this.refuseClosed(o);
    const gtin14 = text.padStart(14, '0');
    const line = o.lines.find((l) => l.gtin14 === gtin14);
    if (!line) {
      if (PRODUCTS.some((p) => p.gtin14 === gtin14)) {
        refuse(
          'wrong_item',
          `${text} is not on order ${o.summary.orderNumber}; ` +
            'put it back and scan an item on the list',
        );
      }
      refuse(
        'unknown_code',
        `no product in the catalogue has code ${text}; check the item or ask a lead`,
      );
    }
    if (line.picked >= line.ordered) {
      refuse(
        'over_pick',
        `all ${line.ordered} of ${line.name} are already picked; put this one back`,
      );
    }
    this.pick(o, line.lineId, me.staffId);
    const complete = o.summary.status === 'picked';
    return {
      lineId: line.lineId,
      name: line.name,
      printedCode: line.printedCode,
      picked: line.picked,
      ordered: line.ordered,
      orderComplete: complete,
      order: o,
    };
  }

  /** One unit of a line picked by `by`, which may be another device's associate. */
  pick(o: OrderDetail, lineId: string, by: string) {
    const line = o.lines.find((l) => l.lineId === lineId);
    if (!line) throw new Error(`harness: no line ${lineId}`);
    if (line.picked < line.ordered) line.picked += 1;
    else line.overPicked += 1;
    this.record(o, 'item_picked', `picked 1 × ${line.name}`, by, false);
    o.summary.unitsPicked = o.lines.reduce((s, l) => s + l.picked, 0);
    if (o.summary.unitsPicked === o.summary.unitsOrdered) {
      o.summary.status = 'picked';
      this.record(o, 'order_picked', 'all lines picked', by, true);
    } else {
      o.summary.status = 'picking';
    }
  }

  private stage(orderId: string, binText: string): OrderDetail {
    const me = this.who();
    const bin = binText.trim().toUpperCase();
    if (!/^BIN-[A-Z]\d\d$/.test(bin)) {
      refuse(
        'not_a_scan',
        `${JSON.stringify(binText.trim())} is not a bin label; scan the label on the bin (BIN-…)`,
      );
    }
    const o = this.find(orderId);
    this.refuseClosed(o);
    const s = o.summary;
    if (s.status === 'new' || s.status === 'picking') {
      refuse(
        'wrong_state',
        `${s.unitsPicked} of ${s.unitsOrdered} units are picked; pick the rest before staging`,
      );
    }
    if (s.status !== 'picked') {
      if (s.bin === bin) return o;
      refuse('wrong_state', `the order is already staged in ${s.bin ?? 'a bin'}`);
    }
    s.bin = bin;
    s.status = 'staged';
    this.record(o, 'order_staged', `staged in ${bin}`, me.staffId, true);
    return o;
  }

  private ready(orderId: string): OrderDetail {
    const me = this.who();
    const o = this.find(orderId);
    this.refuseClosed(o);
    if (o.summary.status === 'ready') return o;
    if (o.summary.status !== 'staged') {
      refuse(
        'wrong_state',
        'stage the order in a bin before marking it ready: the customer must not come for an ' +
          'order that is not on the shelf',
      );
    }
    o.summary.status = 'ready';
    this.record(o, 'order_ready', 'ready for pickup; central tells the customer', me.staffId, true);
    return o;
  }

  private findPickup(raw: string): OrderSummary[] {
    const query = raw.trim();
    if (query === '') {
      refuse('invalid', "scan the customer's pickup code, or type the order number or their name");
    }
    const code = canonicalPickupCode(query);
    if (code) {
      const found = this.orders.filter((o) => o.pickupCode === code).map((o) => o.summary);
      if (found.length > 0) return found;
    }
    const q = query.toLowerCase();
    return this.orders
      .map((o) => o.summary)
      .filter(
        (s) =>
          s.orderNumber.toLowerCase() === q ||
          s.platformOrderId === query ||
          s.customerName.toLowerCase().includes(q),
      )
      .sort(
        (x, y) =>
          Number(y.status === 'ready') - Number(x.status === 'ready') ||
          x.placedAt.localeCompare(y.placedAt),
      )
      .slice(0, 20);
  }

  private handOver(
    orderId: string,
    verification: string,
    pickupCode: string | null,
    collectedBy: string | null,
  ): OrderDetail {
    const me = this.who();
    const person = collectedBy?.trim() || null;
    const o = this.find(orderId);
    if (o.summary.status === 'handed_over') return o;
    this.refuseClosed(o);
    if (o.summary.status !== 'ready') {
      refuse(
        'wrong_state',
        'this order is not ready for pickup yet; finish picking and staging first',
      );
    }
    if (verification !== 'pickup_code' && verification !== 'photo_id') {
      throw (
        'invalid args `verification` for command `hand_over`: ' +
        `unknown variant \`${verification}\``
      );
    }
    if (verification === 'pickup_code' && canonicalPickupCode(pickupCode ?? '') !== o.pickupCode) {
      refuse(
        'pickup_code_mismatch',
        `that pickup code does not belong to order ${o.summary.orderNumber}; scan the code in ` +
          "the customer's message or check a photo id",
      );
    }
    o.summary.status = 'handed_over';
    const how = verification === 'pickup_code' ? 'pickup code checked' : 'photo id checked';
    const to = person ?? 'the customer';
    this.record(o, 'order_handed_over', `handed over to ${to} (${how})`, me.staffId, true);
    return o;
  }

  private searchProducts(raw: string): ProductView[] {
    const q = raw.trim().toLowerCase();
    if (q === '') refuse('invalid', 'type a name, a brand or a code to search');
    if (/^\d+$/.test(q)) return PRODUCTS.filter((p) => p.gtin14 === q.padStart(14, '0'));
    return PRODUCTS.filter(
      (p) => p.name.toLowerCase().includes(q) || (p.brand ?? '').toLowerCase().includes(q),
    );
  }

  // ----- what tests make happen outside the app ---------------------------------------------

  /** Central cancels an order, as its feed would deliver it on the next sync. */
  cancel(orderNumber: string, reason: string) {
    const o = this.find(orderNumber);
    o.summary.status = 'cancelled';
    o.summary.cancelReason = reason;
    this.record(o, 'order_cancelled', `cancelled by central: ${reason}`, 'central', false);
  }

  /** Another associate on another device picks one unit of line `n` (from 1). */
  pickElsewhere(orderNumber: string, n: number, by: string) {
    const o = this.find(orderNumber);
    this.pick(o, `L${n}`, by);
  }

  /** A new order arrives from central. */
  arrive(n: number, customer: string) {
    this.orders.push(
      order({
        n,
        customer,
        status: 'new',
        placed: 0,
        code: 'PQRT-UVWX',
        lines: [['96385074', 1, 0]],
      }),
    );
  }
}
