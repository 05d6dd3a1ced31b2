// Drives Debian's chromium (headless, playwright-core) over the customer subscription pages that
// tests/integration/test_web_sub.sh set up. Input (environment): VEIL_WEB_CASES (JSON written by
// the shell script), VEIL_WEB_SHOTS (screenshot folder), VEIL_WEB_NODE (folder whose
// node_modules hold playwright-core and axe-core), VEIL_CHROMIUM. Exit status 1 on any failed check.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.VEIL_WEB_NODE, 'package.json'));
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const { title, cases } = JSON.parse(readFileSync(process.env.VEIL_WEB_CASES, 'utf8'));
const shots = process.env.VEIL_WEB_SHOTS;

const words = {
  en: { active: 'Active', expiring: 'Expires soon', expired: 'Expired', limited: 'Traffic limit reached',
        pending: 'Not started yet', disabled: 'Disabled', copied: 'Copied', of: ' of ', unlimited: 'unlimited' },
  ru: { active: 'Активна', expiring: 'Скоро закончится', expired: 'Закончилась', limited: 'Трафик исчерпан',
        pending: 'Ещё не началась', disabled: 'Отключена', copied: 'Скопировано', of: ' из ', unlimited: 'без ограничений' },
};
const acceptLanguage = { en: 'en-US,en;q=0.9', ru: 'ru-RU,ru;q=0.9,en;q=0.5' };
const views = [
  { name: '360', viewport: { width: 360, height: 780 }, scale: 2, mobile: true,
    ua: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36' },
  { name: 'desktop', viewport: { width: 1280, height: 900 }, scale: 1, mobile: false,
    ua: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36' },
];

let failures = 0;
function check(cond, what) {
  if (!cond) {
    failures++;
    console.log(`not ok - ${what}`);
  }
}

// The deep links of spec/ecosystem.md §a.6, as a browser would build them.
function expectedLinks(url) {
  const u = encodeURIComponent(url), n = encodeURIComponent(title);
  return {
    Happ: `happ://add/${url}`,
    v2rayNG: `v2rayng://install-config?name=${n}&url=${u}`,
    Hiddify: `hiddify://import/${url}`,
    FlClashX: `flclashx://install-config?url=${u}`,
    'Clash Meta': `clashmeta://install-config?name=${n}&url=${u}`,
    Streisand: `streisand://import/${url}`,
    Shadowrocket: `shadowrocket://add/${url}#${n}`,
    Stash: `stash://install-config?url=${u}`,
    'Koala Clash': `koala-clash://install-config?url=${u}`,
    'Prizrak-Box': `prizrak-box://install-config?url=${u}`,
  };
}

function decodeQr(file) {
  try {
    return execFileSync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' }).trim();
  } catch (e) {
    return `(zbarimg failed: ${e.status})`;
  }
}

async function checkPage(browser, c, lang, view, scheme) {
  const tag = `${c.name}/${c.state} ${lang} ${view.name} ${scheme}`;
  const ctx = await browser.newContext({
    viewport: view.viewport, deviceScaleFactor: view.scale, isMobile: view.mobile, hasTouch: view.mobile,
    userAgent: view.ua, locale: lang === 'ru' ? 'ru-RU' : 'en-US', colorScheme: scheme,
    extraHTTPHeaders: { 'Accept-Language': acceptLanguage[lang] },
  });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(c.url).origin });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const resp = await page.goto(c.url);
  check(resp.status() === 200, `${tag}: status ${resp.status()}`);
  const h = resp.headers();
  check(h['content-type'] === 'text/html; charset=utf-8', `${tag}: content-type ${h['content-type']}`);
  check(h['cache-control'] === 'private, no-store', `${tag}: cache-control ${h['cache-control']}`);
  check(h['referrer-policy'] === 'no-referrer', `${tag}: referrer-policy ${h['referrer-policy']}`);
  const w = words[lang];

  check(await page.getAttribute('html', 'lang') === lang, `${tag}: html lang`);
  check(await page.title() === title, `${tag}: title ${await page.title()}`);
  check(await page.getAttribute('#state', 'data-state') === c.state, `${tag}: data-state`);
  const stateText = (await page.textContent('#state')).trim();
  check(stateText === w[c.state], `${tag}: state text "${stateText}"`);
  check((await page.textContent('#user')).includes(c.name), `${tag}: user name shown`);
  const traffic = (await page.textContent('#traffic')).trim();
  const wantTraffic = c.traffic_en.replace(' of ', w.of).replace('unlimited', w.unlimited);
  check(traffic === wantTraffic, `${tag}: traffic "${traffic}" want "${wantTraffic}"`);
  const expiry = (await page.textContent('#expiry')).trim();
  if (c.state === 'expiring')
    check(/^(2 days left|Осталось 2 дня) · /.test(expiry), `${tag}: days left "${expiry}"`);
  if (c.devices) {
    const d = (await page.textContent('#devices')).trim();
    check(d.endsWith(c.devices.replace(' of ', w.of)), `${tag}: devices "${d}"`);
    check(await page.isVisible('#devices-full'), `${tag}: device limit notice`);
  } else {
    check(!(await page.isVisible('#devices-full')), `${tag}: no device notice`);
  }
  if (c.state === 'active' && !c.devices) {
    check(/^(30 days left|Осталось 30 дней) · /.test(expiry), `${tag}: days left "${expiry}"`);
    check(await page.isVisible('#reset'), `${tag}: reset date shown`);
    check(await page.getAttribute('[role=progressbar]', 'aria-valuenow') === '5', `${tag}: bar at 5 %`);
  }
  if (c.state === 'limited')
    check(await page.getAttribute('[role=progressbar]', 'aria-valuenow') === '100', `${tag}: bar full`);
  check(await page.getAttribute('#renew', 'href') === 'https://t.me/veil_test_bot?start=renew', `${tag}: renew button`);
  check((await page.textContent('#renew')) === (lang === 'ru' ? 'Продлить' : 'Renew'), `${tag}: renew label`);
  const servers = await page.$$eval('.servers code', (els) => els.map((e) => e.textContent));
  if (c.servers)
    check(servers.length === 1 && servers[0].startsWith('vless://') && servers[0].includes('@de1.vpn.test:443?'),
          `${tag}: servers ${JSON.stringify(servers)}`);
  else
    check(servers.length === 0 && await page.isVisible('#no-servers'), `${tag}: no servers while ${c.state}`);

  // Fits a phone: nothing wider than the viewport.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `${tag}: page is ${overflow}px wider than the viewport`);

  // The visitor's platform is open first, and every button carries its deep link.
  const firstPlatform = await page.getAttribute('details[id^=apps-]', 'id');
  check(firstPlatform === (view.mobile ? 'apps-android' : 'apps-linux'), `${tag}: first platform ${firstPlatform}`);
  const links = await page.$$eval('a[data-app]', (as) => as.map((a) => [a.dataset.app, a.getAttribute('href')]));
  const want = expectedLinks(c.url);
  check(links.length >= 15, `${tag}: ${links.length} app buttons`);
  for (const [app, href] of links)
    check(want[app] === href, `${tag}: ${app} link ${href} want ${want[app]}`);
  const firstButton = page.locator(`#${firstPlatform} a[data-app]`).first();
  check(await firstButton.isVisible(), `${tag}: first app button visible without a tap`);

  // The QR code decodes back to the subscription URL.
  const qrFile = path.join(shots, `qr-${c.name}-${lang}-${view.name}-${scheme}.png`);
  await page.locator('svg.qr').first().screenshot({ path: qrFile });
  const decoded = decodeQr(qrFile);
  check(decoded === c.url, `${tag}: QR decodes to "${decoded}" want "${c.url}"`);

  // Copy button: the link lands on the clipboard and the button says so.
  await page.click('#copy');
  await page.waitForFunction((t) => document.getElementById('copy').textContent === t, w.copied, { timeout: 5000 })
    .catch(() => check(false, `${tag}: copy button did not confirm`));
  const clip = await page.evaluate(() => navigator.clipboard.readText()).catch((e) => `(clipboard: ${e})`);
  check(clip === c.url, `${tag}: clipboard "${clip}"`);
  await page.evaluate(() => { document.getElementById('copy').blur(); });

  // Accessibility basics (labels, names, contrast) in this theme.
  await page.evaluate(axeSource);
  const axe = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa'] }));
  for (const v of axe.violations)
    check(false, `${tag}: axe ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);

  await page.screenshot({ path: path.join(shots, `sub-${c.name}-${c.state}-${lang}-${view.name}-${scheme}.png`), fullPage: true });
  check(errors.length === 0, `${tag}: page errors ${JSON.stringify(errors)}`);
  await ctx.close();
}

// The language switch link turns an English page Russian (and the answer cache keeps them apart).
async function checkSwitch(browser, c) {
  const ctx = await browser.newContext({ extraHTTPHeaders: { 'Accept-Language': acceptLanguage.en } });
  const page = await ctx.newPage();
  await page.goto(c.url);
  check(await page.getAttribute('html', 'lang') === 'en', 'switch: starts in English');
  await page.click('nav a[hreflang=ru]');
  await page.waitForLoadState();
  check(await page.getAttribute('html', 'lang') === 'ru', 'switch: ?lang=ru gives Russian');
  check((await page.textContent('#state')).trim() === words.ru[c.state], 'switch: Russian state text');
  await page.goto(c.url);
  check(await page.getAttribute('html', 'lang') === 'en', 'switch: without ?lang= English again');
  await ctx.close();
}

const browser = await chromium.launch({
  executablePath: process.env.VEIL_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  for (const c of cases)
    for (const lang of ['en', 'ru'])
      for (const view of views) {
        // Dark theme on the Russian phone pages, light elsewhere: both themes meet axe.
        const scheme = lang === 'ru' && view.mobile ? 'dark' : 'light';
        await checkPage(browser, c, lang, view, scheme);
      }
  await checkSwitch(browser, cases[0]);
} finally {
  await browser.close();
}
const pages = cases.length * 4;
if (failures > 0) {
  console.log(`${failures} check(s) failed over ${pages} pages`);
  process.exit(1);
}
console.log(`ok - ${pages} pages checked in chromium`);
