// The status bar on every screen, and product lookup.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  done,
  harness,
  id,
  open,
  openFromQueue,
  readAnswer,
  scan,
  shot,
  signIn,
} from './support.mjs';

describe('status bar', () => {
  test('offline shows with the steps waiting, which count up as work is done', async (t) => {
    const p = await open(t, '?offline=1');
    await signIn(p);
    await p.waitForSelector(`${id('status-online')}[data-online="false"]`);
    assert.equal(await p.innerText(id('status-online')), 'Offline');
    assert.match(await p.innerText(id('status-waiting')), /^3 steps to write back$/);
    assert.match(await p.innerText(id('status-link-error')), /Central is unreachable: could not/);
    assert.match(await p.innerText(id('status-link-error')), /kept on this device/);
    await shot(p, 'offline');

    // Picking works offline; the completed pick is one more step waiting.
    await openFromQueue(p, 'D-10001');
    for (const code of ['4006381333931', '4006381333931', '96385074']) await scan(p, code);
    await readAnswer(p, 3);
    await p.waitForSelector(`${id('status-waiting')}[data-count="4"]`, { timeout: 8000 });

    await p.click(id('sync-now'));
    const message = p.locator(id('sync-message'));
    assert.match(await message.innerText(), /Central: could not connect.*Work done here is kept/);

    await harness(p, () => window.harness.setOnline(true));
    await p.click(id('sync-now'));
    await p.waitForSelector(`${id('sync-message')}:has-text("Synced with central")`);
    assert.equal(await p.innerText(id('status-online')), 'Online');
    assert.equal(await p.innerText(id('status-waiting')), 'all written back');
    assert.equal(await p.locator(id('status-link-error')).count(), 0);
    await done(p);
  });

  test('the bar is on every screen with who is signed in', async (t) => {
    const p = await open(t);
    await signIn(p, '2001', '9876');
    for (const nav of ['nav-counter', 'nav-products', 'nav-queue']) {
      await p.click(id(nav));
      assert.match(await p.innerText(id('status-user')), /Mei Lin · manager/);
      assert.equal(await p.getAttribute(id(nav), 'aria-current'), 'page');
      assert.equal(await p.locator(id('sign-out')).count(), 1);
    }
    await openFromQueue(p, 'D-10002');
    assert.equal(await p.locator(id('status-bar')).count(), 1);
    assert.match(await p.innerText(id('status-last-sync')), /synced 1 min ago/);
    await done(p);
  });
});

describe('products', () => {
  test('a search by name shows on hand and available; oversold is marked', async (t) => {
    const p = await open(t);
    await signIn(p);
    await p.click(id('nav-products'));
    await p.waitForFunction(() => document.activeElement?.dataset.testid === 'product-search');
    await scan(p, 'tissues');
    const row = p.locator(id('product-row'));
    await row.waitFor();
    assert.equal(await row.count(), 1);
    assert.match(await row.innerText(), /036000291452\s+Tissues, 3-ply/);
    assert.equal(await row.locator(id('product-on-hand')).innerText(), '1');
    assert.match(await row.locator(id('product-available')).innerText(), /^-1 \(oversold/);
    assert.match(await row.locator(id('product-available')).getAttribute('class'), /oversold/);
    await shot(p, 'products');

    await scan(p, 'sticky');
    await p.waitForSelector(`${id('product-row')}:has-text("Sticky notes")`);
    assert.match(await p.innerText(id('product-available')), /no stock record/);
    await done(p);
  });

  test('a scanned code finds its product; an empty search says what to type', async (t) => {
    const p = await open(t);
    await signIn(p);
    await p.click(id('nav-products'));
    await p.waitForFunction(() => document.activeElement?.dataset.testid === 'product-search');
    await scan(p, '4006381333931');
    await p.waitForSelector(`${id('product-row')}:has-text("Highlighter")`);
    assert.match(await p.innerText(id('product-row')), /Stabilo\s+5\s+3/);
    assert.equal(await p.inputValue(id('product-search')), '4006381333931');
    await p.keyboard.press('Delete');
    await p.keyboard.press('Enter');
    assert.match(await p.innerText(id('product-error')), /Type a name, a brand or a code/);
    await scan(p, '5901234123457');
    await p.waitForSelector(`${id('product-row')}:has-text("Tomato soup")`);
    assert.equal(await p.locator(id('product-error')).count(), 0);
    await done(p);
  });
});

describe('tablet layout', () => {
  /** Every visible control smaller than a fingertip, and whether the page scrolls sideways. */
  const audit = (page) =>
    page.evaluate(() => {
      const small = [];
      for (const el of document.querySelectorAll('button, input, label.choice')) {
        if (el instanceof HTMLInputElement && ['radio', 'checkbox'].includes(el.type)) continue;
        const box = el.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;
        if (box.height < 48 || box.width < 48) {
          small.push(`${el.tagName} ${el.textContent?.trim() || el.dataset.testid}: ${box.height}`);
        }
      }
      const sideways = document.documentElement.scrollWidth > window.innerWidth;
      return { small, sideways };
    });

  test('on a tablet held upright every control is at least 48 px and nothing scrolls sideways', async (t) => {
    const p = await open(t, '', { width: 800, height: 1280 });
    assert.deepEqual(await audit(p), { small: [], sideways: false }, 'sign-in');
    await signIn(p);
    await p.waitForSelector(id('queue-list'));
    assert.deepEqual(await audit(p), { small: [], sideways: false }, 'queue');
    await shot(p, 'tablet-queue');
    await openFromQueue(p, 'D-10002');
    await scan(p, '5901234123457');
    await readAnswer(p, 1);
    assert.deepEqual(await audit(p), { small: [], sideways: false }, 'pick');
    await shot(p, 'tablet-pick');
    await p.click(id('nav-counter'));
    await scan(p, 'VWXY-Z234');
    await p.waitForSelector(id('handover'));
    assert.deepEqual(await audit(p), { small: [], sideways: false }, 'counter');
    await shot(p, 'tablet-counter');
    await p.click(id('nav-products'));
    await scan(p, 'a');
    await p.waitForSelector(id('product-row'));
    assert.deepEqual(await audit(p), { small: [], sideways: false }, 'products');
    await done(p);
  });
});
