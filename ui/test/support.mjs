// What every component test file shares: the test page built by Vite, served on a free
// loopback port under the app's own content security policy, and headless Debian Chromium
// driven by playwright-core. Not a test file itself: `npm test` runs `test/*.test.mjs`.
//
// The page is a production build, as the Tauri shell loads it, and is served with the CSP
// from `tauri.conf.json`; a test fails if the page breaks that policy, throws, or logs an
// error.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { chromium } from 'playwright-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = path.join(root, 'test-artifacts');

/** The policy the Tauri shell enforces, as one header value. */
function contentSecurityPolicy() {
  const config = JSON.parse(readFileSync(path.join(root, '..', 'tauri.conf.json'), 'utf8'));
  const csp = config.app?.security?.csp;
  assert.ok(csp && typeof csp === 'object', 'tauri.conf.json should set app.security.csp');
  return Object.entries(csp)
    .map(([directive, sources]) => `${directive} ${sources}`)
    .join('; ');
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Serves `dir` on 127.0.0.1 at a port the system picks, every answer under `csp`. */
async function serve(dir, csp) {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const file = path.normalize(path.join(dir, decodeURIComponent(url.pathname)));
    if (!file.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = readFileSync(file);
      res.writeHead(200, {
        'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Content-Security-Policy': csp,
        'Cache-Control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

let server;
let browser;
let base;
let outDir;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  outDir = mkdtempSync(path.join(tmpdir(), 'storehand-ui-test-'));
  await build({
    root,
    configFile: path.join(root, 'vite.config.ts'),
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: true,
      rolldownOptions: { input: path.join(root, 'test/harness/index.html') },
    },
  });
  server = await serve(outDir, contentSecurityPolicy());
  base = `http://127.0.0.1:${server.address().port}/test/harness/index.html`;
  // playwright-core launches the given Chromium headless with a fresh temporary profile
  // (`--user-data-dir`) that it deletes on close; it never downloads a browser of its own.
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
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
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/**
 * A fresh page of the app with the stand-in core, in the situation `query` names (see
 * `test/harness/install.ts`). Closed when the test `t` ends; `done(page)` checks it stayed
 * clean.
 */
export async function open(t, query = '', viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems = [];
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.problems = problems;
  t.after(() => context.close());
  await page.goto(`${base}${query}`);
  await page.waitForFunction(() => 'harness' in window);
  return page;
}

/** Fails the test if the page threw, logged an error or broke the content security policy. */
export async function done(page) {
  const violations = await page.evaluate(() => window.harness.violations);
  assert.deepEqual(violations, [], 'the page kept to the content security policy');
  assert.deepEqual(page.problems, [], 'the page threw nothing and logged no error');
}

export const id = (name) => `[data-testid="${name}"]`;

export async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
}

export async function signIn(page, staffId = '1001', pin = '1234') {
  await page.fill(id('sign-in-staff-id'), staffId);
  await page.fill(id('sign-in-pin'), pin);
  await page.press(id('sign-in-pin'), 'Enter');
  await page.waitForSelector(id('status-bar'));
}

/** Opens the order `number` from the pick queue and waits for its scan field. */
export async function openFromQueue(page, number) {
  await page.locator(id('order-row'), { hasText: number }).click();
  await page.waitForSelector(`${id('scan-input')}, ${id('bin-input')}, ${id('order-status')}`);
}

/** Types like a keyboard-wedge scanner into whatever has the focus: the characters, then Enter. */
export async function scan(page, text, delay = 0) {
  await page.keyboard.type(text, { delay });
  await page.keyboard.press('Enter');
}

/** The number of answers shown so far on the screen's feedback banner. */
export async function answers(page, testid = 'scan-feedback') {
  const seq = await page.evaluate(
    (selector) => document.querySelector(selector)?.getAttribute('data-seq') ?? '0',
    id(testid),
  );
  return Number(seq);
}

/** Scans `text` and returns the answer it got: `{ ok, text }`. */
export async function scanAndRead(page, text) {
  const before = await answers(page);
  await scan(page, text);
  return readAnswer(page, before + 1);
}

/** Waits for answer number `seq` on banner `testid` and reads it. */
export async function readAnswer(page, seq, testid = 'scan-feedback') {
  const banner = page.locator(`${id(testid)}[data-seq="${seq}"]`);
  await banner.waitFor();
  return {
    ok: (await banner.getAttribute('data-result')) === 'ok',
    red: /\bbad\b/.test((await banner.getAttribute('class')) ?? ''),
    text: await banner.innerText(),
  };
}

export const lineTexts = (page) => page.locator(id('pick-line')).allInnerTexts();

export const focused = (page) =>
  page.evaluate(() => document.activeElement?.dataset.testid ?? null);

/** Runs `fn` in the page against the stand-in core (`window.harness`). */
export const harness = (page, fn, arg) => page.evaluate(fn, arg);
