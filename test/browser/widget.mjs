// Drives the chat widget in headless Chromium (Debian's /usr/bin/chromium):
// opens the page, waits until Converse.js shows the user online, sends a
// message in the chat with PEER, and saves a screenshot.
// Usage: node widget.mjs PAGE_URL PEER_JID MESSAGE SCREENSHOT
// Exit 0: signed in and the message was sent; 1 otherwise. Requests that
// leave loopback are blocked (the machine has no network, and a test must
// not depend on one).
import { launch, log, loopbackContext } from './chromium.mjs';

const [url, peer, text, shot] = process.argv.slice(2);
const LOGIN_TIMEOUT = Number(process.env.LOGIN_TIMEOUT_MS || 30000);
// Rendered only once the connection is up and the session bound.
const SIGNED_IN = 'converse-user-profile .xmpp-status';
const CHAT = `converse-chat[jid="${peer}"]`;

let browser;
let rc = 1;
try {
  browser = await launch();
  const context = await loopbackContext(browser, { viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => log('page error', e.message));
  page.on('response', (r) => { if (r.status() >= 400) log('HTTP', r.status(), r.url()); });
  await page.goto(url, { waitUntil: 'load' });
  try {
    await page.waitForSelector(SIGNED_IN, { timeout: LOGIN_TIMEOUT });
  } catch {
    log('not signed in after', LOGIN_TIMEOUT, 'ms');
    await page.screenshot({ path: shot });
    throw new Error('sign-in failed');
  }
  log('signed in:', JSON.stringify(await page.innerText(SIGNED_IN)));
  log('PROFILE:', JSON.stringify((await page.innerText('converse-user-profile')).replace(/\s+/g, ' ').trim()));
  const textarea = page.locator(`${CHAT} textarea.chat-textarea`);
  await textarea.waitFor({ state: 'visible', timeout: 15000 });
  await textarea.fill(text);
  await textarea.press('Enter');
  await page.locator(`${CHAT} .chat-msg__text`, { hasText: text }).first().waitFor({ timeout: 10000 });
  log('message sent');
  await page.screenshot({ path: shot });
  rc = 0;
} catch (e) {
  log('FAIL', e.message.split('\n')[0]);
} finally {
  await browser?.close().catch(() => {});
  process.exit(rc);
}
