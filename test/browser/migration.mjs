// Walks the wiki's migration page (examples/tiki/tiki-livechat_migration.php)
// in headless Chromium (Debian's /usr/bin/chromium) as three users: one
// logged out, one (OWNER) with an old chat account, one (NEWBIE) without.
// Prints one JSON line with what the page said at each step, and saves a
// screenshot of the owner's last page.
// Usage: node migration.mjs LOGGED_OUT_URL OWNER_URL NEWBIE_URL SCREENSHOT CHAT_NAME CHAT_PASSWORD TAKEN_NAME TAKEN_PASSWORD
import { launch } from './chromium.mjs';

const [outURL, ownerURL, newbieURL, shot, chatName, chatPassword, takenName, takenPassword] = process.argv.slice(2);
let browser;
let rc = 1;
try {
  browser = await launch();
  const text = async (page, sel) => ((await page.$(sel)) ? (await page.innerText(sel)).replace(/\s+/g, ' ').trim() : '');
  const result = {};

  const out = await (await browser.newContext()).newPage();
  await out.goto(outURL);
  result.loggedOut = await text(out, '#logged-out');
  result.registerLink = await out.$eval('#logged-out a', (a) => a.getAttribute('href'));

  const owner = await (await browser.newContext()).newPage();
  const claim = async (name, password) => {
    await owner.fill('#chat-name', name);
    await owner.fill('#chat-password', password);
    await Promise.all([owner.waitForNavigation(), owner.click('#claim-form button')]);
    return { error: await text(owner, '#error'), notice: await text(owner, '#notice') };
  };
  await owner.goto(ownerURL);
  result.wrongPassword = await claim(chatName, 'not-the-password');
  result.taken = await claim(takenName, takenPassword);
  result.claimed = await claim(chatName, chatPassword);
  await owner.goto(ownerURL);
  result.afterReload = await text(owner, '#livechat-id');
  await owner.screenshot({ path: shot, fullPage: true });

  const newbie = await (await browser.newContext()).newPage();
  await newbie.goto(newbieURL);
  await Promise.all([newbie.waitForNavigation(), newbie.click('#suggest-form button')]);
  result.suggested = { error: await text(newbie, '#error'), notice: await text(newbie, '#notice'), id: await newbie.goto(newbieURL).then(() => text(newbie, '#livechat-id')) };

  console.log(JSON.stringify(result));
  rc = 0;
} catch (e) {
  console.error('migration page:', e.message);
} finally {
  if (browser) await browser.close();
  process.exit(rc);
}
