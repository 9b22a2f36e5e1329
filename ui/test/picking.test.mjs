// The pick queue and the pick screen: scan by scan, as an associate with a keyboard-wedge
// scanner works an order, then staging and ready.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  answers,
  done,
  focused,
  harness,
  id,
  lineTexts,
  open,
  openFromQueue,
  readAnswer,
  scan,
  scanAndRead,
  shot,
  signIn,
} from './support.mjs';

describe('queue', () => {
  test('the queue shows work oldest first with its age; new and late work stand out', async (t) => {
    const p = await open(t);
    await signIn(p);
    await p.waitForSelector(id('queue-list'));
    const rows = p.locator(id('order-row'));
    const texts = await rows.allInnerTexts();
    assert.deepEqual(
      texts.map((r) => /D-\d+/.exec(r)?.[0]),
      ['D-10001', 'D-10002', 'D-10007', 'D-10003'],
      'open orders oldest first; ready, cancelled and handed-over orders are not in it',
    );
    assert.match(await rows.nth(0).locator(id('order-age')).innerText(), /^3 h 10 min/);
    assert.match(await rows.nth(3).locator(id('order-age')).innerText(), /^4 min/);
    assert.match(await rows.nth(0).getAttribute('class'), /\boverdue\b/);
    assert.match(texts[0], /overdue/i, 'overdue is said in words, not colour alone');
    assert.doesNotMatch(await rows.nth(1).getAttribute('class'), /\boverdue\b/);
    assert.match(await rows.nth(3).getAttribute('class'), /\bnew\b/);
    assert.doesNotMatch(await rows.nth(1).getAttribute('class'), /\bnew\b/, 'picking is not new');
    assert.match(texts[2], /staged.*in BIN-C03: mark ready/s, 'the next step is on the row');
    assert.match(await p.innerText(id('queue-summary')), /4 to work on · 2 new · 1 over 2 h old/);
    await shot(p, 'queue');
    await done(p);
  });

  test('an order that arrives shows up without a refresh', async (t) => {
    const p = await open(t);
    await signIn(p);
    await p.waitForSelector(id('queue-list'));
    await harness(p, () => window.harness.arrive(10009, 'Nadia Okafor'));
    const row = p.locator(id('order-row'), { hasText: 'D-10009' });
    await row.waitFor({ timeout: 8000 });
    assert.match(await row.getAttribute('class'), /\barrived\b/);
    await done(p);
  });
});

describe('picking', () => {
  test('a right scan counts one unit in green, clears the field and keeps the focus', async (t) => {
    const p = await open(t);
    await signIn(p);
    await openFromQueue(p, 'D-10001');
    assert.equal(await focused(p), 'scan-input', 'the scan field has the focus on arrival');
    const answer = await scanAndRead(p, '4006381333931');
    assert.equal(answer.ok, true);
    assert.match(answer.text, /Highlighter, yellow: 1 \/ 2/);
    assert.match(await p.locator(id('scan-feedback')).getAttribute('class'), /\bok\b/);
    assert.equal(await p.inputValue(id('scan-input')), '', 'the last scan does not stay');
    assert.equal(await focused(p), 'scan-input');
    const lines = await lineTexts(p);
    assert.match(lines[0], /4006381333931/, 'the printed code is shown');
    assert.match(lines[0], /1 \/ 2/);
    assert.match(lines[1], /0 \/ 1/);
    assert.match(await p.innerText(id('order-status')), /picking/);
    assert.deepEqual(await harness(p, () => window.harness.tones), [1320], 'one high tone');
    assert.deepEqual((await harness(p, () => window.harness.calls('scan_item')))[0], {
      orderId: '0190f5a2-0000-5000-8000-000000010001',
      text: '4006381333931',
    });
    await shot(p, 'pick');
    await done(p);
  });

  test('a keyboard-wedge scan, digit by digit then Enter, needs no tap on the field', async (t) => {
    const p = await open(t);
    await signIn(p);
    await openFromQueue(p, 'D-10001');
    // A tap on an empty part of the page: the focus comes back to the scan field.
    await p.mouse.click(900, 700);
    await p.waitForFunction(() => document.activeElement?.dataset.testid === 'scan-input');
    await scan(p, '96385074', 30);
    const answer = await readAnswer(p, 1);
    assert.equal(answer.ok, true, answer.text);
    assert.match((await lineTexts(p))[1], /1 \/ 1/);
    assert.equal(await p.inputValue(id('scan-input')), '');
    await done(p);
  });

  test('a scan typed while a button has the focus still lands in the scan field', async (t) => {
    const p = await open(t);
    await signIn(p);
    await openFromQueue(p, 'D-10001');
    // Keyboard users may Tab away to the buttons; a scanner's digits still reach the field.
    await p.keyboard.press('Tab');
    assert.notEqual(await focused(p), 'scan-input');
    await scan(p, '4006381333931');
    assert.equal((await readAnswer(p, 1)).ok, true);
    assert.equal(await focused(p), 'scan-input');
    await done(p);
  });

  test('scans made faster than they are answered are all counted, in order', async (t) => {
    const p = await open(t);
    await signIn(p);
    await openFromQueue(p, 'D-10001');
    // Each answer takes longer than the scanner takes to type the next code.
    await harness(p, () => window.harness.slow(250));
    await scan(p, '4006381333931');
    await scan(p, '4006381333931');
    await scan(p, '96385074');
    const last = await readAnswer(p, 3);
    assert.match(last.text, /Peppermints 50 g: 1 \/ 1. Every unit is picked: scan the bin label/);
    const lines = await lineTexts(p);
    assert.match(lines[0], /2 \/ 2/);
    assert.match(lines[1], /1 \/ 1/);
    await done(p);
  });

  test('each refused scan shows its own reason in red, sounds low, changes nothing', async (t) => {
    const p = await open(t);
    await signIn(p);
    await openFromQueue(p, 'D-10001');
    await scanAndRead(p, '96385074');
    const before = await lineTexts(p);
    const status = await p.innerText(id('order-status'));
    const cases = [
      ['036000291452', /^✗\s*036000291452 is not on order D-10001; put it back/],
      ['4006381333924', /^✗\s*No product in the catalogue has code 4006381333924/],
      ['4006381333932', /^✗\s*Check digit of 4006381333932 is wrong: the code was misread/],
      ['96385074', /^✗\s*All 1 of Peppermints 50 g are already picked; put this one back/],
      ['BIN-A01', /^✗\s*BIN-A01 is a bin label; scan the product's barcode/],
      ['hello', /^✗\s*"hello" is not a product barcode, pickup code or bin label/],
      ['4006381333', /^✗\s*A GTIN has 8, 12, 13 or 14 digits; "4006381333" has 10/],
    ];
    for (const [text, reason] of cases) {
      const tones = (await harness(p, () => window.harness.tones.length)) ?? 0;
      const answer = await scanAndRead(p, text);
      assert.equal(answer.ok, false, `${text} is refused`);
      assert.equal(answer.red, true, `${text} is answered in red`);
      assert.match(answer.text, reason);
      assert.deepEqual(await lineTexts(p), before, `${text} changed no line`);
      assert.equal(await p.innerText(id('order-status')), status, `${text} changed no status`);
      assert.equal(await p.inputValue(id('scan-input')), '', 'the refused scan does not stay');
      assert.equal(await focused(p), 'scan-input');
      const played = await harness(p, (n) => window.harness.tones.slice(n), tones);
      assert.deepEqual(played, [220, 220], 'two low tones');
    }
    await shot(p, 'pick-refused');
    await done(p);
  });

  test('an order cancelled during the pick refuses the next scan and says why', async (t) => {
    const p = await open(t);
    await signIn(p);
    await openFromQueue(p, 'D-10001');
    await scanAndRead(p, '4006381333931');
    const before = await lineTexts(p);
    await harness(p, () => window.harness.cancel('D-10001', 'customer cancelled online'));
    const answer = await scanAndRead(p, '4006381333931');
    assert.equal(answer.red, true);
    assert.match(answer.text, /Order D-10001 was cancelled \(customer cancelled online\)/);
    await p.waitForSelector(id('order-closed'));
    assert.match(
      await p.innerText(id('order-closed')),
      /Cancelled: customer cancelled online.*Put the 1 picked units back/s,
    );
    assert.equal(await p.locator(id('scan-input')).count(), 0, 'no scan field any more');
    assert.deepEqual(await lineTexts(p), before, 'the refused scan counted nothing');
    assert.match(await p.innerText(id('order-status')), /cancelled/);
    await shot(p, 'pick-cancelled');
    await done(p);
  });

  test("another associate's scans show up on the open order without a refresh", async (t) => {
    const p = await open(t);
    await signIn(p);
    await openFromQueue(p, 'D-10001');
    await harness(p, () => window.harness.pickElsewhere('D-10001', 1, '1002'));
    await p.waitForSelector(id('concurrent-work'), { timeout: 8000 });
    assert.match((await lineTexts(p))[0], /1 \/ 2/);
    const history = await p.innerText(id('order-history'));
    assert.match(history, /picked 1 × Highlighter.*associate 1002/s);
    await done(p);
  });

  test('the field keeps the focus unless another field is being used on purpose', async (t) => {
    const p = await open(t);
    await signIn(p);
    await openFromQueue(p, 'D-10001');
    await p.click('h2');
    await p.waitForFunction(() => document.activeElement?.dataset.testid === 'scan-input');
    await p.click(id('sync-now'));
    await p.waitForFunction(() => document.activeElement?.dataset.testid === 'scan-input');
    // A text field put on the page on purpose keeps the focus it was given.
    await p.evaluate(() => {
      const note = document.createElement('input');
      note.dataset.testid = 'note';
      document.querySelector('main')?.append(note);
    });
    await p.click(id('note'));
    await p.keyboard.type('abc');
    await p.waitForTimeout(50);
    assert.equal(await focused(p), 'note');
    assert.equal(await p.inputValue(id('note')), 'abc');
    await done(p);
  });

  test('without Web Audio every scan is still answered and nothing throws', async (t) => {
    const p = await open(t, '?noaudio=1');
    assert.equal(await p.evaluate(() => 'AudioContext' in window), false);
    await signIn(p);
    await openFromQueue(p, 'D-10001');
    assert.equal((await scanAndRead(p, '4006381333931')).ok, true);
    assert.equal((await scanAndRead(p, '036000291452')).ok, false);
    await done(p);
  });

  test('a command that never answers ends in a message, and the next scan works', async (t) => {
    const p = await open(t, '?timeout=700');
    await signIn(p);
    await openFromQueue(p, 'D-10001');
    await harness(p, () => window.harness.hang('scan_item'));
    const stuck = await scanAndRead(p, '4006381333931');
    assert.equal(stuck.red, true);
    assert.match(stuck.text, /did not answer within 0.7 s/);
    const next = await scanAndRead(p, '4006381333931');
    assert.equal(next.ok, true, next.text);
    await done(p);
  });
});

describe('stage and ready', () => {
  test('staging needs a bin label scan; ready comes only after, and shows the label', async (t) => {
    const p = await open(t);
    await signIn(p);
    await openFromQueue(p, 'D-10001');
    for (const code of ['4006381333931', '4006381333931', '96385074']) await scan(p, code);
    await readAnswer(p, 3);
    await p.waitForSelector(id('bin-input'));
    assert.equal(await focused(p), 'bin-input', 'the field now asks for the bin, focused');
    assert.equal(await p.locator(id('mark-ready')).count(), 0, 'no ready before staging');
    assert.match(await p.innerText(id('order-status')), /picked/);
    await shot(p, 'picked');

    const product = await scanAndRead(p, '4006381333931');
    assert.equal(product.red, true);
    assert.match(product.text, /"4006381333931" is not a bin label; scan the label on the bin/);
    assert.match(await p.innerText(id('order-status')), /picked/, 'still not staged');

    const staged = await scanAndRead(p, 'BIN-A01');
    assert.equal(staged.ok, true);
    assert.match(staged.text, /Staged in BIN-A01/);
    await p.waitForSelector(id('mark-ready'));
    assert.match(await p.innerText(id('order-status')), /staged/);
    assert.equal(await p.locator(id('bin-input')).count(), 0, 'nothing more to scan');
    assert.equal(await p.locator(id('pickup-label')).count(), 0, 'no label before ready');
    await shot(p, 'staged');

    await p.click(id('mark-ready'));
    const label = p.locator(id('pickup-label'));
    await label.waitFor();
    assert.match(await label.innerText(), /Pickup code ACDE-FGHJ · bin BIN-A01/);
    assert.match(await p.innerText(id('order-status')), /ready/);
    const image = p.locator(id('pickup-label-image'));
    assert.match(await image.getAttribute('src'), /^data:image\/svg\+xml;charset=utf-8,%3Csvg/);
    assert.match(await image.getAttribute('alt'), /ACDE-FGHJ/);
    await p.waitForFunction(
      (sel) => (document.querySelector(sel)?.naturalWidth ?? 0) > 0,
      id('pickup-label-image'),
    );
    await shot(p, 'ready-label');
    await done(p);
  });

  test('a handed-over order opened from the counter says so and takes no scans', async (t) => {
    const p = await open(t);
    await signIn(p);
    await p.click(id('nav-counter'));
    await scan(p, 'D-10006');
    await p.waitForSelector(id('order-closed'));
    assert.match(await p.innerText(id('order-closed')), /Complete: handed over to the customer/);
    assert.equal(await p.locator(id('hand-over')).count(), 0);
    await done(p);
  });

  test('a staged order at the counter opens on the pick screen to be marked ready', async (t) => {
    const p = await open(t);
    await signIn(p);
    await p.click(id('nav-counter'));
    await scan(p, 'EFGH-JKMN');
    await p.click(id('open-order'));
    await p.waitForSelector(id('mark-ready'));
    assert.match(await p.innerText('h2'), /D-10007/);
    await p.click(id('mark-ready'));
    await p.waitForSelector(id('pickup-label'));
    assert.equal(await answers(p), 1);
    await done(p);
  });
});
