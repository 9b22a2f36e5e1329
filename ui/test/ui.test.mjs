// Component tests of the UI in headless Debian Chromium, driven by playwright-core, against the
// real app with Tauri's IPC mocked in the page (test/harness.ts). Run with `npm test`.
// A screenshot of each screen is saved in test-artifacts/.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createServer } from 'vite';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = path.join(root, 'test-artifacts');
mkdirSync(artifacts, { recursive: true });

let server;
let browser;
let base;

before(async () => {
  server = await createServer({
    root,
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, strictPort: false },
  });
  await server.listen();
  const { port } = server.httpServer.address();
  base = `http://127.0.0.1:${port}/test/harness.html`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function page(query = '') {
  const p = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await p.goto(`${base}${query}`);
  return p;
}

const id = (name) => `[data-testid="${name}"]`;

async function signIn(p) {
  await p.fill(id('sign-in-staff-id'), '1001');
  await p.fill(id('sign-in-pin'), '1234');
  await p.press(id('sign-in-pin'), 'Enter');
  await p.waitForSelector(id('queue-list'));
}

/// Types like a keyboard-wedge scanner: the characters, then Enter, into the focused field.
async function scan(p, text) {
  await p.keyboard.type(text);
  await p.keyboard.press('Enter');
}

async function feedback(p) {
  const banner = p.locator(id('scan-feedback'));
  await banner.waitFor();
  return { text: await banner.innerText(), cls: await banner.getAttribute('class') };
}

const lineTexts = (p) => p.locator(id('pick-line')).allInnerTexts();

describe('sign-in', () => {
  test('a wrong PIN is refused with its message and a right one opens the queue', async () => {
    const p = await page();
    await p.fill(id('sign-in-staff-id'), '1001');
    await p.fill(id('sign-in-pin'), '9999');
    await p.click(id('sign-in'));
    const error = await p.locator(id('sign-in-error')).innerText();
    assert.match(error, /do not match/);
    assert.equal(await p.inputValue(id('sign-in-pin')), '', 'the PIN is not kept');
    await p.screenshot({ path: path.join(artifacts, 'sign-in-refused.png') });

    await p.fill(id('sign-in-pin'), '1234');
    await p.press(id('sign-in-pin'), 'Enter');
    await p.waitForSelector(id('queue-list'));
    const rows = await p.locator(id('order-row')).allInnerTexts();
    assert.equal(rows.length, 1, 'cancelled and ready orders are not in the pick queue');
    assert.match(rows[0], /D-1/);
    assert.match(rows[0], /3 h/, 'the age is shown');
    assert.match(await p.locator(id('order-row')).first().getAttribute('class'), /overdue/);
    await p.screenshot({ path: path.join(artifacts, 'queue.png') });
    await p.close();
  });
});

describe('picking', () => {
  test('a right scan counts one unit in green, clears the field and keeps its focus', async () => {
    const p = await page();
    await signIn(p);
    await p.click(id('order-row'));
    await p.waitForSelector(id('scan-input'));
    await scan(p, '4006381333931');
    const { text, cls } = await feedback(p);
    assert.match(text, /Highlighter: 1 \/ 2/);
    assert.match(cls, /\bok\b/);
    assert.equal(await p.inputValue(id('scan-input')), '', 'the last scan does not stay');
    assert.equal(await p.evaluate(() => document.activeElement?.dataset.testid), 'scan-input');
    assert.match((await lineTexts(p))[0], /1 \/ 2/);
    await p.screenshot({ path: path.join(artifacts, 'pick.png') });
    await p.close();
  });

  test('each refused scan shows its own reason in red and changes nothing', async () => {
    const p = await page();
    await signIn(p);
    await p.click(id('order-row'));
    await p.waitForSelector(id('scan-input'));
    await scan(p, '96385074');
    const before = await lineTexts(p);
    const cases = [
      ['036000291452', /not on order D-1/],
      ['4006381333917', /no product in the catalogue/],
      ['4006381333932', /check digit/],
      ['96385074', /already picked/],
      ['hello', /not a product barcode/],
    ];
    for (const [text, reason] of cases) {
      await scan(p, text);
      await p.waitForFunction(
        (r) =>
          new RegExp(r).test(
            document.querySelector('[data-testid="scan-feedback"]')?.textContent ?? '',
          ),
        reason.source,
      );
      const banner = await feedback(p);
      assert.match(banner.cls, /\bbad\b/, `${text} is answered in red`);
      assert.deepEqual(await lineTexts(p), before, `${text} changed nothing`);
      assert.equal(await p.inputValue(id('scan-input')), '');
    }
    await p.screenshot({ path: path.join(artifacts, 'pick-refused.png') });
    await p.close();
  });

  test('staging needs a bin label, and ready shows the pickup label with its code', async () => {
    const p = await page();
    await signIn(p);
    await p.click(id('order-row'));
    await p.waitForSelector(id('scan-input'));
    for (const code of ['4006381333931', '4006381333931', '96385074']) await scan(p, code);
    await p.waitForSelector(id('bin-input'));
    assert.equal(await p.evaluate(() => document.activeElement?.dataset.testid), 'bin-input');
    await scan(p, '4006381333931');
    assert.match((await feedback(p)).text, /not a bin label/);
    await scan(p, 'BIN-A01');
    await p.waitForFunction(() =>
      /staged/.test(document.querySelector('[data-testid="order-status"]')?.textContent ?? ''),
    );
    await p.screenshot({ path: path.join(artifacts, 'staged.png') });
    await p.click(id('mark-ready'));
    const label = p.locator(id('pickup-label'));
    await label.waitFor();
    assert.match(await label.innerText(), /ACDE-FGHJ/);
    assert.match(await p.locator(id('order-status')).innerText(), /ready/);
    await p.screenshot({ path: path.join(artifacts, 'ready-label.png') });
    await p.close();
  });

  test('a cancelled order says why and takes no scans', async () => {
    const p = await page();
    await signIn(p);
    // The cancelled order is not in the queue; it is reached from the counter by its number.
    await p.click(id('nav-counter'));
    await p.fill(id('counter-search'), 'D-2');
    await p.press(id('counter-search'), 'Enter');
    await p.click(id('counter-result'));
    assert.match(await p.locator(id('order-status')).innerText(), /cancelled/);
    assert.equal(await p.locator(id('hand-over')).count(), 0, 'no handover for it');
    await p.close();
  });
});

describe('pickup counter', () => {
  test('the pickup code finds the order and hands it over', async () => {
    const p = await page();
    await signIn(p);
    await p.click(id('nav-counter'));
    await p.fill(id('counter-search'), 'VWXY-Z234');
    await p.press(id('counter-search'), 'Enter');
    const results = await p.locator(id('counter-result')).allInnerTexts();
    assert.equal(results.length, 1);
    assert.match(results[0], /D-3/);
    await p.screenshot({ path: path.join(artifacts, 'counter.png') });
    await p.click(id('counter-result'));
    assert.equal(await p.inputValue(id('handover-code')), 'VWXY-Z234', 'the scanned code is kept');
    await p.click(id('hand-over'));
    await p.waitForFunction(() =>
      /handed over/.test(document.querySelector('[data-testid="order-status"]')?.textContent ?? ''),
    );
    await p.screenshot({ path: path.join(artifacts, 'handed-over.png') });
    await p.close();
  });

  test('a name finds it; a wrong code is refused; photo id and another person work', async () => {
    const p = await page();
    await signIn(p);
    await p.click(id('nav-counter'));
    await p.fill(id('counter-search'), 'souza');
    await p.press(id('counter-search'), 'Enter');
    await p.click(id('counter-result'));
    await p.fill(id('handover-code'), 'ACDE-FGHJ');
    await p.click(id('hand-over'));
    await p.waitForSelector('text=does not belong to this order');
    assert.match(await p.locator(id('order-status')).innerText(), /ready/, 'nothing changed');
    await p.check(id('verify-photo-id'));
    await p.fill(id('collected-by'), 'Sam Doe');
    await p.click(id('hand-over'));
    await p.waitForFunction(() =>
      /handed over/.test(document.querySelector('[data-testid="order-status"]')?.textContent ?? ''),
    );
    await p.close();
  });
});

describe('status bar', () => {
  test('offline shows as offline with the count of events waiting', async () => {
    const p = await page('?offline=1');
    await signIn(p);
    await p.waitForSelector(`${id('status-online')}.offline`);
    assert.equal(await p.locator(id('status-online')).innerText(), 'Offline');
    assert.match(await p.locator(id('status-waiting')).innerText(), /3 waiting to write back/);
    await p.screenshot({ path: path.join(artifacts, 'offline.png') });
    await p.close();
  });

  test('products show on hand and available, oversold in red', async () => {
    const p = await page();
    await signIn(p);
    await p.click(id('nav-products'));
    await p.fill(id('product-search'), 'tissues');
    await p.press(id('product-search'), 'Enter');
    const row = p.locator(id('product-row'));
    await row.waitFor();
    assert.match(await row.innerText(), /-1 \(oversold\)/);
    await p.screenshot({ path: path.join(artifacts, 'products.png') });
    await p.close();
  });
});
