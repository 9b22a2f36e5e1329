// The pickup counter: find the customer's order, check who collects, hand it over.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { done, focused, harness, id, open, readAnswer, scan, shot, signIn } from './support.mjs';

async function counter(t, query = '') {
  const p = await open(t, query);
  await signIn(p);
  await p.click(id('nav-counter'));
  await p.waitForFunction(() => document.activeElement?.dataset.testid === 'counter-search');
  return p;
}

describe('pickup counter', () => {
  test('a scanned pickup code opens its order with the code kept, and hands it over', async (t) => {
    const p = await counter(t);
    await scan(p, 'vwxyz234');
    const results = await p.locator(id('counter-result')).allInnerTexts();
    assert.equal(results.length, 1);
    assert.match(results[0], /D-10004.*Ana Souza.*ready.*1 units · BIN-B02/s);
    await p.waitForSelector(id('handover'));
    assert.match(await p.innerText(id('order-status')), /^ready$/, 'not complete before handover');
    assert.equal(await p.inputValue(id('handover-code')), 'VWXY-Z234', 'the scanned code is kept');
    assert.equal(await p.isChecked(id('verify-pickup-code')), true);
    await shot(p, 'counter');

    await p.click(id('hand-over'));
    const answer = await readAnswer(p, 1, 'handover-feedback');
    assert.equal(answer.ok, true);
    assert.match(answer.text, /Order D-10004 handed over. It is complete./);
    assert.match(await p.innerText(id('order-status')), /handed over/);
    assert.match(await p.innerText(id('order-closed')), /Complete: handed over to the customer/);
    assert.equal(await p.locator(id('hand-over')).count(), 0, 'no second handover');
    assert.deepEqual(await harness(p, () => window.harness.calls('hand_over')), [
      {
        orderId: '0190f5a2-0000-5000-8000-000000010004',
        verification: 'pickup_code',
        pickupCode: 'VWXY-Z234',
        collectedBy: null,
      },
    ]);
    await shot(p, 'handed-over');
    await done(p);
  });

  test('a typed order number finds it; Enter in the code field does not complete it', async (t) => {
    const p = await counter(t);
    await p.keyboard.type('d-10008');
    await p.keyboard.press('Enter');
    await p.waitForSelector(id('handover'));
    assert.match(await p.innerText(id('handover')), /D-10008 · Aiko Tanaka/);
    assert.equal(await p.inputValue(id('handover-code')), '', 'an order number is no proof');
    await p.click(id('handover-code'));
    await scan(p, 'FGHJ-KMNP');
    assert.equal(await focused(p), 'collected-by', 'Enter moves on to the next field');
    assert.deepEqual(await harness(p, () => window.harness.calls('hand_over')), []);
    await p.click(id('hand-over'));
    await readAnswer(p, 1, 'handover-feedback');
    assert.match(await p.innerText(id('order-status')), /handed over/);
    await done(p);
  });

  test('a name finds several orders; a wrong code is refused and changes nothing', async (t) => {
    const p = await counter(t);
    await scan(p, 'aiko');
    const results = p.locator(id('counter-result'));
    await results.first().waitFor();
    const texts = await results.allInnerTexts();
    assert.equal(texts.length, 3);
    assert.match(texts[0], /D-10008.*ready/s, 'ready orders first');
    assert.equal(await p.locator(id('handover')).count(), 0, 'several: the associate chooses');
    assert.equal(
      await p.evaluate(() => {
        const field = document.activeElement;
        return field instanceof HTMLInputElement ? field.selectionEnd - field.selectionStart : -1;
      }),
      4,
      'the search is selected, so the next scan replaces it',
    );

    await results.first().click();
    await p.fill(id('handover-code'), 'ACDE-FGHJ');
    await p.click(id('hand-over'));
    const refused = await readAnswer(p, 1, 'handover-feedback');
    assert.equal(refused.red, true);
    assert.match(refused.text, /That pickup code does not belong to order D-10008/);
    assert.match(await p.innerText(id('order-status')), /^ready$/, 'nothing changed');
    assert.equal(
      await harness(p, () => window.harness.core.find('D-10008').summary.status),
      'ready',
    );
    await shot(p, 'counter-refused');
    await done(p);
  });

  test('photo id and an alternate pickup person hand the order over', async (t) => {
    const p = await counter(t);
    await scan(p, 'Tanaka');
    await p.waitForSelector(id('handover'));
    await p.check(id('verify-photo-id'));
    assert.equal(await p.locator(id('handover-code')).count(), 0, 'no code for a photo id');
    await p.fill(id('collected-by'), 'Sam Doe');
    assert.match(await p.innerText(id('hand-over')), /Hand over to Sam Doe/);
    await p.click(id('hand-over'));
    await readAnswer(p, 1, 'handover-feedback');
    assert.match(await p.innerText(id('order-status')), /handed over/);
    assert.match(
      await p.innerText(id('order-closed')),
      /handed over to Sam Doe \(photo id checked\)/,
    );
    assert.deepEqual((await harness(p, () => window.harness.calls('hand_over')))[0], {
      orderId: '0190f5a2-0000-5000-8000-000000010008',
      verification: 'photo_id',
      pickupCode: null,
      collectedBy: 'Sam Doe',
    });
    await done(p);
  });

  test('an order not yet ready, or cancelled, says why and offers no handover', async (t) => {
    const p = await counter(t);
    await scan(p, 'D-10002');
    await p.waitForSelector(id('order-closed'));
    assert.match(
      await p.innerText(id('order-closed')),
      /Not ready for pickup: the order is picking \(1 \/ 2 units picked\)/,
    );
    assert.equal(await p.locator(id('hand-over')).count(), 0);

    await scan(p, 'D-10005');
    await p.waitForSelector(`${id('order-closed')}:has-text("Cancelled")`);
    assert.match(await p.innerText(id('order-closed')), /Cancelled: customer cancelled online/);
    assert.equal(await p.locator(id('hand-over')).count(), 0);
    await shot(p, 'counter-cancelled');
    await done(p);
  });

  test('a search that finds nothing says what to check', async (t) => {
    const p = await counter(t);
    await scan(p, 'Nobody Here');
    const error = p.locator(id('counter-error'));
    assert.match(await error.innerText(), /No order matches “Nobody Here”. Check the code/);
    await done(p);
  });
});
