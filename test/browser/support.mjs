// Drives the floating support chat (examples/tiki/livechat-support.html)
// in headless Chromium (Debian's /usr/bin/chromium). Opens the page and
// reports what it did before any click (BEFORE: Converse loaded?
// WebSockets, credential requests), prints LOADED and waits for a line
// on stdin (the test checks the servers meanwhile), clicks "Live support",
// waits until the overlayed chat has joined ROOM, reports the occupants'
// nicknames, sends MESSAGE, waits for ANSWER from someone else, minimizes
// the room and clicks again (it must come back), and saves a screenshot.
// Each report is one line: "NAME: <json>".
// Usage: node support.mjs PAGE_URL ROOM_JID MESSAGE ANSWER SCREENSHOT
// Exit 0: joined, sent, and the answer was shown; 1 otherwise. Requests
// that leave loopback are blocked, as in widget.mjs.
import { createInterface } from 'node:readline';
import { launch, log, loopbackContext } from './chromium.mjs';

const [url, room, text, answer, shot] = process.argv.slice(2);
const LOGIN_TIMEOUT = Number(process.env.LOGIN_TIMEOUT_MS || 30000);
const ROOM = `converse-muc[jid="${room}"]`;
const report = (name, value) => console.log(`${name}: ${JSON.stringify(value)}`);
const stdin = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => stdin.once('line', resolve));

let browser;
let rc = 1;
try {
  browser = await launch();
  const context = await loopbackContext(browser, { viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const sockets = [];
  const credentials = [];
  page.on('websocket', (ws) => sockets.push(new URL(ws.url()).pathname));
  page.on('request', (r) => { if (r.url().includes('livechat-credentials.php')) credentials.push(new URL(r.url()).search || '(none)'); });
  page.on('pageerror', (e) => log('page error', e.message));
  page.on('console', (m) => { if (m.type() === 'error') log('console', m.text()); });
  page.on('response', (r) => { if (r.status() >= 400) log('HTTP', r.status(), r.url()); });

  // Before the click: the page is loaded and quiet.
  await page.goto(url, { waitUntil: 'networkidle' });
  const button = page.getByRole('button', { name: 'Live support' });
  await button.waitFor({ state: 'visible', timeout: 5000 });
  report('BEFORE', {
    converse: await page.evaluate(() => typeof window.converse !== 'undefined' || !!document.querySelector('converse-root')),
    websockets: sockets.length,
    credentials: credentials.length,
  });
  console.log('LOADED');
  await nextLine();

  await button.click();
  try {
    await page.locator(`${ROOM} textarea.chat-textarea`).waitFor({ state: 'visible', timeout: LOGIN_TIMEOUT });
  } catch {
    log('the room did not open after', LOGIN_TIMEOUT, 'ms');
    await page.screenshot({ path: shot });
    throw new Error('no room');
  }
  // Entered: our own occupant is listed once the server confirmed the join.
  await page.locator(`${ROOM} .occupant-nick`).first().waitFor({ timeout: 15000 });
  report('VIEW', await page.evaluate(() => document.querySelector('#conversejs')?.className));
  report('OCCUPANTS', await page.locator(`${ROOM} .occupant-nick`).allInnerTexts());

  const textarea = page.locator(`${ROOM} textarea.chat-textarea`);
  await textarea.fill(text);
  await textarea.press('Enter');
  const mine = page.locator(`${ROOM} .chat-msg`, { has: page.locator('.chat-msg__text', { hasText: text }) }).first();
  await mine.waitFor({ timeout: 10000 });
  report('SENT', { author: (await mine.locator('.chat-msg__author').innerText()).trim() });

  const theirs = page.locator(`${ROOM} .chat-msg`, { has: page.locator('.chat-msg__text', { hasText: answer }) }).first();
  await theirs.waitFor({ timeout: 30000 });
  report('ANSWER', {
    author: (await theirs.locator('.chat-msg__author').innerText()).trim(),
    text: (await theirs.locator('.chat-msg__text').innerText()).trim(),
  });

  // Minimized, the room comes back with the next click, on the same connection.
  const settled = (state) => textarea.waitFor({ state, timeout: 5000 }).then(() => true, () => false);
  await page.locator(`${ROOM} .toggle-chatbox-button`).first().click();
  const minimized = await settled('hidden');
  await button.click();
  report('REOPEN', { minimized, shown: await settled('visible') });
  report('AFTER', { websockets: sockets, credentials });
  // What the chat leaves in the browser beyond the tab's session.
  report('STORED', await page.evaluate(async () => ({
    localStorage: Object.keys(localStorage),
    indexedDB: (await indexedDB.databases()).map((d) => d.name),
  })));
  await page.screenshot({ path: shot });
  rc = 0;
} catch (e) {
  log('FAIL', e.message.split('\n')[0]);
} finally {
  stdin.close();
  await browser?.close().catch(() => {});
  process.exit(rc);
}
