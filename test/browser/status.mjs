// Opens livechat-auth's status page in headless Chromium (Debian's
// /usr/bin/chromium) with its secret, reads the decisions, locks and
// health it shows (the locks of accounts, and apart the collapsed list of
// the others; the chat server processes attached, the recent refusals,
// the settings' generation), clears the lock of CLEAR (unless empty)
// with its button, and saves a screenshot. Prints one JSON line: what the page showed before and after.
// Usage: node status.mjs PAGE_URL SECRET SCREENSHOT CLEAR
import { launch } from './chromium.mjs';

const [url, secret, shot, clear] = process.argv.slice(2);
let browser;
let rc = 1;
try {
  browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1100, height: 1400 }, httpCredentials: { username: 'operator', password: secret } });
  const page = await context.newPage();
  const read = async () => ({
    decisions: await page.$$eval('#decisions tr[data-edge]', (trs) => trs.map((tr) => ({
      edge: tr.dataset.edge, result: tr.dataset.result, last5: Number(tr.cells[2].innerText), last60: Number(tr.cells[3].innerText),
    }))),
    locks: await page.$$eval('#locks tr[data-name]', (trs) => trs.map((tr) => tr.dataset.name)),
    others: await page.$$eval('#other-locks tr[data-name]', (trs) => trs.map((tr) => ({
      name: tr.dataset.name, kind: tr.dataset.kind, visible: tr.checkVisibility(),
    }))),
    othersOpen: await page.$$eval('details#other-locks', (ds) => ds.map((d) => d.open)),
    othersSummary: await page.$$eval('details#other-locks > summary', (ss) => ss.map((s) => s.innerText)),
    othersMore: await page.$$eval('#other-locks-more', (ps) => ps.map((p) => p.innerText)),
    health: await page.$$eval('#health tr', (trs) => trs.map((tr) => tr.innerText.replace(/\s+/g, ' '))),
    features: await page.$$eval('#features tr', (trs) => trs.map((tr) => tr.innerText.replace(/\s+/g, ' '))),
    chartBars: await page.$$eval('svg rect', (r) => r.length),
    process: await page.$$eval('#process', (ps) => ps.map((p) => p.innerText).join('')),
    attached: await page.$$eval('#attached tr[data-pid]', (trs) => trs.map((tr) => Number(tr.dataset.pid))),
    refusals: await page.$$eval('#refusals tr[data-reason]', (trs) => trs.map((tr) => ({
      edge: tr.cells[1].innerText, cmd: tr.cells[2].innerText, name: tr.cells[3].innerText, reason: tr.dataset.reason,
    }))),
    settings: await page.$$eval('#settings', (ps) => ps.map((p) => p.innerText).join('')),
  });
  const status = (await page.goto(url, { waitUntil: 'load' })).status();
  const before = await read();
  let done = '';
  if (clear) {
    await page.click(`#locks tr[data-name="${clear}"] button`);
    await page.waitForSelector('#done', { timeout: 10000 });
    done = await page.innerText('#done');
  }
  const after = await read();
  // Opened without script, the list of the other locks shows its rows.
  let expanded = [];
  if (after.othersOpen.length > 0) {
    await page.click('details#other-locks > summary');
    expanded = await page.$$eval('#other-locks tr[data-name]', (trs) => trs.filter((tr) => tr.checkVisibility()).map((tr) => tr.dataset.name));
  }
  await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify({ status, before, done, after, expanded }));
  rc = 0;
} catch (e) {
  console.error('status page:', e.message);
} finally {
  if (browser) await browser.close();
  process.exit(rc);
}
