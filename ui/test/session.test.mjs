// Sign-in, sign-out and a session the core locks: the screens around who is working.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { done, focused, harness, id, open, openFromQueue, scan, shot, signIn } from './support.mjs';

describe('sign-in', () => {
  test('a wrong PIN is refused with the core message and cleared for another try', async (t) => {
    const p = await open(t);
    await p.waitForSelector(id('sign-in-device'));
    assert.match(await p.innerText(id('sign-in-device')), /tablet-1 · store demo-store · online/);
    assert.equal(await focused(p), 'sign-in-staff-id', 'the staff id field has the focus');
    await p.fill(id('sign-in-staff-id'), '1001');
    await p.fill(id('sign-in-pin'), '9999');
    await p.click(id('sign-in'));
    const error = p.locator(id('sign-in-error'));
    assert.match(await error.innerText(), /^That staff id and PIN do not match; try again/);
    assert.equal(await p.inputValue(id('sign-in-pin')), '', 'the PIN is not kept');
    assert.equal(await focused(p), 'sign-in-pin', 'ready for the next try');
    assert.equal(await p.locator(id('status-bar')).count(), 0, 'still signed out');
    await shot(p, 'sign-in-refused');
    await done(p);
  });

  test('the right PIN opens the pick queue with the associate in the status bar', async (t) => {
    const p = await open(t);
    await signIn(p);
    await p.waitForSelector(id('queue-list'));
    assert.match(await p.innerText(id('status-user')), /Ana Souza · associate/);
    assert.deepEqual(
      (await harness(p, () => window.harness.calls('sign_in')))[0],
      { staffId: '1001', pin: '1234' },
      'sign_in gets the staff id and PIN under the keys the core names',
    );
    await done(p);
  });

  test('a badge scan fills the staff id and Enter moves on to the PIN', async (t) => {
    const p = await open(t);
    await scan(p, 'BADGE-1002');
    assert.equal(await p.inputValue(id('sign-in-staff-id')), '1002');
    assert.equal(await focused(p), 'sign-in-pin');
    assert.equal(
      (await harness(p, () => window.harness.calls('sign_in'))).length,
      0,
      'nothing is sent without a PIN',
    );
    await scan(p, '2345');
    await p.waitForSelector(id('queue-list'));
    assert.match(await p.innerText(id('status-user')), /Rui Costa/);
    await done(p);
  });

  test('the on-screen keypad types the PIN without taking the focus', async (t) => {
    const p = await open(t);
    await p.fill(id('sign-in-staff-id'), '1001');
    await p.focus(id('sign-in-pin'));
    for (const key of ['1', '2', '9', 'erase', '3', '4']) await p.click(id(`pin-key-${key}`));
    assert.equal(await p.inputValue(id('sign-in-pin')), '1234');
    assert.equal(await focused(p), 'sign-in-pin', 'the PIN field keeps the focus');
    await shot(p, 'sign-in');
    await p.click(id('sign-in'));
    await p.waitForSelector(id('queue-list'));
    await done(p);
  });

  test('five wrong PINs lock the staff id, and the screen says so', async (t) => {
    const p = await open(t);
    for (let i = 0; i < 5; i++) {
      await p.fill(id('sign-in-staff-id'), '1001');
      await p.fill(id('sign-in-pin'), '0000');
      await p.click(id('sign-in'));
      await p.waitForSelector(id('sign-in-error'));
    }
    await p.fill(id('sign-in-pin'), '1234');
    await p.click(id('sign-in'));
    await p.waitForSelector(`${id('sign-in-error')}:has-text("locked")`);
    assert.match(await p.innerText(id('sign-in-error')), /ask a manager/);
    await done(p);
  });

  test('a device never enrolled in a store says what to run', async (t) => {
    const p = await open(t, '?notsetup=1');
    const problem = p.locator(id('device-not-set-up'));
    assert.match(await problem.innerText(), /not enrolled in a store yet.*storehand setup/);
    await shot(p, 'sign-in-not-set-up');
    await done(p);
  });
});

describe('session', () => {
  test('a session locked when idle returns to sign-in with why, then to the order', async (t) => {
    const p = await open(t);
    await signIn(p);
    await openFromQueue(p, 'D-10001');
    await harness(p, () => window.harness.expireSession());
    await scan(p, '4006381333931');
    const notice = p.locator(id('sign-in-notice'));
    assert.match(await notice.innerText(), /locked after 15 idle minutes; sign in again/);
    await shot(p, 'session-locked');
    await signIn(p);
    await p.waitForSelector(id('scan-input'));
    assert.match(await p.innerText('h2'), /D-10001/, 'back on the order that was open');
    const lines = await p.locator(id('pick-line')).allInnerTexts();
    assert.match(lines[0], /0 \/ 2/, 'the refused scan counted nothing');
    await done(p);
  });

  test('sign out returns to the sign-in screen', async (t) => {
    const p = await open(t);
    await signIn(p);
    await p.click(id('sign-out'));
    await p.waitForSelector(id('sign-in-staff-id'));
    assert.equal(await p.locator(id('sign-in-notice')).count(), 0, 'no complaint for a sign-out');
    assert.equal(await harness(p, () => window.harness.core.session), null);
    await done(p);
  });
});
