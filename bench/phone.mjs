#!/usr/bin/env node
// The chat on a slow phone, measured: Playwright drives Debian's Chromium with the Chrome DevTools
// Protocol's network and CPU throttling (Lighthouse's mobile profile: 1.6 Mbit/s down, 750 kbit/s
// up, 150 ms round trip, CPU 4x slower) against a release server of our own on a fresh database.
// For a first visit (empty cache, no account: nickname and message typed, Enter) and a returning
// visit (cached bundle, signed in), it records the bytes transferred, first contentful paint, when
// the page hydrated, and when the typed message came back acknowledged (stored, with its id).
//
//   cargo leptos build --release --precompress && node bench/phone.mjs [RUNS]
//
// Prints one JSON line per run and the medians; nothing here is a test (no timing assertion).
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'end2end', 'package.json'));
const { chromium } = require('@playwright/test');

const RUNS = Number(process.argv[2] ?? 5);
const PORT = Number(process.env.PHONE_PORT ?? 3990);
const URL = `http://127.0.0.1:${PORT}`;
const PROFILE = {
  latency: 150,
  downloadThroughput: (1.6 * 1024 * 1024) / 8,
  uploadThroughput: (750 * 1024) / 8,
  cpuSlowdown: 4,
};

// Marks, in the page's own clock (ms since navigation start), when it hydrated and when a message
// with the awaited text was stored (its line got an id).
const MARKS = () => {
  window.__marks = {};
  window.__awaitText = null;
  new MutationObserver(() => {
    const marks = window.__marks;
    if (!marks.hydrated && document.querySelector('.app[data-hydrated]')) marks.hydrated = performance.now();
    if (window.__awaitText && !marks.acked) {
      for (const line of document.querySelectorAll('.messages li[data-id]')) {
        if (line.textContent.includes(window.__awaitText)) marks.acked = performance.now();
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.name === 'first-contentful-paint') window.__marks.fcp = entry.startTime;
    }
  }).observe({ type: 'paint', buffered: true });
};

async function throttled(context) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: PROFILE.latency,
    downloadThroughput: PROFILE.downloadThroughput,
    uploadThroughput: PROFILE.uploadThroughput,
  });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: PROFILE.cpuSlowdown });
  let bytes = 0;
  cdp.on('Network.loadingFinished', (event) => (bytes += event.encodedDataLength));
  await page.addInitScript(MARKS);
  return { page, bytes: () => bytes };
}

/** One visit: load, type, send, wait for the ack. `nickname` set: a visitor joining with it. */
async function visit(context, nickname) {
  const { page, bytes } = await throttled(context);
  const text = `hello ${Math.random().toString(36).slice(2)}`;
  await page.goto(URL, { waitUntil: 'commit' });
  if (nickname) await page.getByLabel('Nickname').fill(nickname);
  await page.locator('.app[data-hydrated]').waitFor();
  await page.evaluate((text) => (window.__awaitText = text), text);
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
  await page.waitForFunction(() => window.__marks.acked !== undefined, null, { timeout: 60_000 });
  const marks = await page.evaluate(() => window.__marks);
  await page.close();
  return {
    bytes: bytes(),
    fcp_ms: Math.round(marks.fcp),
    hydrated_ms: Math.round(marks.hydrated),
    acked_ms: Math.round(marks.acked),
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const db = join(mkdtempSync(join(tmpdir(), 'natter-phone-')), 'natter.db');
  const server = spawn(
    join(root, 'target/release/natter'),
    ['--addr', `127.0.0.1:${PORT}`, '--db', db, '--site-root', join(root, 'target/site'), '--log', 'warn'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  try {
    for (let tries = 0; ; tries++) {
      const up = await fetch(`${URL}/healthz`).then((r) => r.ok).catch(() => false);
      if (up) break;
      if (tries > 100) throw new Error('the server did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    const results = { first: [], returning: [] };
    for (let run = 0; run < RUNS; run++) {
      // A new phone: nothing cached, no account.
      const context = await browser.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
      const first = await visit(context, `phone${run}x${Date.now() % 100000}`);
      // The same phone later: bundle cached, signed in.
      const returning = await visit(context);
      await context.close();
      results.first.push(first);
      results.returning.push(returning);
      console.log(JSON.stringify({ run, first, returning }));
    }
    await browser.close();
    const summary = {};
    for (const [kind, runs] of Object.entries(results)) {
      summary[kind] = Object.fromEntries(
        ['bytes', 'fcp_ms', 'hydrated_ms', 'acked_ms'].map((key) => [key, median(runs.map((r) => r[key]))]),
      );
    }
    console.log(JSON.stringify({ profile: PROFILE, runs: RUNS, median: summary }));
  } finally {
    server.kill('SIGTERM');
  }
}

await main();
