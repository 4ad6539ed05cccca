// Clicks the support button (examples/tiki/livechat-support.html) as a
// wiki user with no chat name yet, in headless Chromium, and reports what
// the page then offers: "OFFER: <json>" with the link's text and address,
// and whether Converse was loaded or a WebSocket opened.
// Usage: node support_unmigrated.mjs PAGE_URL
// Exit 0: reported; 1 otherwise.
import { launch, log, loopbackContext } from './chromium.mjs';

const [url] = process.argv.slice(2);
let browser;
let rc = 1;
try {
  browser = await launch();
  const page = await (await loopbackContext(browser)).newPage();
  let websockets = 0;
  page.on('websocket', () => { websockets += 1; });
  page.on('pageerror', (e) => log('page error', e.message));
  await page.goto(url, { waitUntil: 'networkidle' });
  await page.getByRole('button', { name: 'Live support' }).click();
  const link = page.locator('a#livechat-support');
  await link.waitFor({ state: 'visible', timeout: 10000 });
  console.log(`OFFER: ${JSON.stringify({
    text: await link.innerText(),
    href: await link.getAttribute('href'),
    converse: await page.evaluate(() => typeof window.converse !== 'undefined'),
    websockets,
  })}`);
  rc = 0;
} catch (e) {
  log('FAIL', e.message.split('\n')[0]);
} finally {
  await browser?.close().catch(() => {});
  process.exit(rc);
}
