// What the browser scripts share: Debian's Chromium (/usr/bin/chromium),
// headless, with the flags this machine needs (no background networking:
// its closed network refuses those connections), and contexts that reach
// only loopback (a test must not depend on a network).
import { chromium } from 'playwright-core';

const LOOPBACK = /^(https?|wss?):\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//i;

const t0 = Date.now();
// log prints a line with the milliseconds since the script started.
export const log = (...a) => console.log(`[${String(Date.now() - t0).padStart(6)}ms]`, ...a);

// launch starts headless Chromium.
export function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// loopbackContext is a new context of browser (options as newContext's)
// whose requests off loopback are blocked and logged.
export async function loopbackContext(browser, options = {}) {
  const context = await browser.newContext(options);
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (LOOPBACK.test(u) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    log('blocked', u);
    return route.abort('blockedbyclient');
  });
  return context;
}
