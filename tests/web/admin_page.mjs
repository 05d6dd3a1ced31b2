// Drives Debian's chromium (headless, playwright-core) through the admin dashboard that
// tests/integration/test_web_admin.sh set up: a wrong token cannot log in, the support role sees
// but cannot change, the admin disables a user through the UI, a change without the CSRF token
// is refused. Environment: VEIL_WEB_BASE, VEIL_WEB_ADMIN, VEIL_WEB_SUPPORT (tokens),
// VEIL_WEB_TARGET (the username to disable), VEIL_WEB_SHOTS, VEIL_WEB_NODE, VEIL_CHROMIUM.
// Prints "disabled <id>" and "untouched <id>" for the shell script to check through the API.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.VEIL_WEB_NODE, 'package.json'));
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const base = process.env.VEIL_WEB_BASE, shots = process.env.VEIL_WEB_SHOTS;
const target = process.env.VEIL_WEB_TARGET;

let failures = 0;
function check(cond, what) {
  if (!cond) {
    failures++;
    console.log(`not ok - ${what}`);
  }
}

async function axe(page, tag) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa'] }));
  for (const v of r.violations)
    check(false, `${tag}: axe ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

async function login(page, token) {
  await page.goto(`${base}/admin`);
  await page.fill('#token', token);
  const [resp] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  return resp;
}

const browser = await chromium.launch({
  executablePath: process.env.VEIL_CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();

  // The login form (typed with a trailing slash too), and a wrong token.
  await page.goto(`${base}/admin/`);
  check(page.url() === `${base}/admin`, `/admin/ redirects to /admin: ${page.url()}`);
  check(await page.isVisible('#token'), 'login form shown without a session');
  await axe(page, 'login');
  await page.screenshot({ path: path.join(shots, 'admin-login.png') });
  let resp = await login(page, 'va_not_a_real_token_0123456789');
  check(resp.status() === 401, `wrong token: status ${resp.status()}`);
  check((await page.textContent('#error')).includes('Unknown'), 'wrong token: error shown');
  check((await ctx.cookies()).length === 0, 'wrong token: no cookie');
  const users403 = await page.goto(`${base}/admin/users`);
  check(users403.url().endsWith('/admin'), 'users page without a session goes to the login');

  // Support: sees everything, changes nothing.
  resp = await login(page, process.env.VEIL_WEB_SUPPORT);
  check(resp.status() === 200 && (await page.textContent('#role')).includes('support'), 'support logged in');
  const cookie = (await ctx.cookies()).find((c) => c.name === 'veil_admin');
  check(cookie && cookie.httpOnly && cookie.secure && cookie.sameSite === 'Strict' && cookie.path === '/admin',
        `session cookie attributes ${JSON.stringify(cookie)}`);
  const total = Number(await page.textContent('#users'));
  check(total >= 61, `overview: ${total} users`);
  await axe(page, 'overview');
  await page.screenshot({ path: path.join(shots, 'admin-overview.png') });
  await page.click('nav a[href="/admin/users"]');
  check((await page.textContent('#count')).includes(`${total} users · page 1 of 2`), 'users: page 1 of 2');
  check(await page.locator('tbody tr').count() === 50, 'users: 50 rows on page 1');
  check(await page.locator('button.danger').count() === 0, 'support: no Disable buttons');
  await page.click('a[rel=next]');
  check((await page.textContent('#count')).includes('page 2 of 2'), 'users: page 2');
  check(await page.locator('tbody tr').count() === total - 50, 'users: the rest on page 2');
  const supportCsrf = await page.getAttribute('input[name=csrf]', 'value');
  // (The page's CSP allows no fetch: these posts go through the context's request API, which
  // carries the same session cookie.)
  const post = async (url, form) =>
    (await ctx.request.post(`${base}${url}`, { form, maxRedirects: 0, failOnStatusCode: false })).status();
  const sup = await post('/admin/users/1/disable', { csrf: supportCsrf });
  check(sup === 403, `support disabling a user: status ${sup}`);
  await page.click('header button[type=submit]'); // log out
  check(await page.isVisible('#token'), 'logged out: login form again');
  check(!(await ctx.cookies()).some((c) => c.name === 'veil_admin'), 'logged out: cookie cleared');

  // Admin: search, disable through the UI.
  await login(page, process.env.VEIL_WEB_ADMIN);
  await page.goto(`${base}/admin/users`);
  await page.fill('#q', target);
  await Promise.all([page.waitForNavigation(), page.click('form[role=search] button')]);
  const rows = page.locator('tbody tr');
  check(await rows.count() === 1, `search "${target}": ${await rows.count()} rows`);
  const rowId = (await rows.first().getAttribute('id')).replace('user-', '');
  check((await rows.first().locator('.state').textContent()) === 'enabled', 'target enabled before');
  await page.screenshot({ path: path.join(shots, 'admin-users-search.png') });
  await Promise.all([page.waitForNavigation(), rows.first().locator('button.danger').click()]);
  check((await page.textContent('#notice')) === `User ${rowId} disabled.`, 'disable: notice shown');
  await page.goto(`${base}/admin/users?q=${encodeURIComponent(target)}`);
  check((await page.locator(`#user-${rowId} .state`).textContent()) === 'disabled', 'disable: row shows disabled');
  await axe(page, 'users');
  await page.screenshot({ path: path.join(shots, 'admin-users-disabled.png') });
  // Enable undoes it, then disable again for the API check.
  await Promise.all([page.waitForNavigation(), page.locator(`#user-${rowId} button`).click()]);
  check((await page.textContent('#notice')) === `User ${rowId} enabled.`, 'enable: notice shown');
  check(await page.inputValue('#q') === target, 'enable: back on the same search');
  check((await page.locator(`#user-${rowId} .state`).textContent()) === 'enabled', 'enable: row shows enabled');
  await Promise.all([page.waitForNavigation(), page.locator(`#user-${rowId} button.danger`).click()]);
  check((await page.locator(`#user-${rowId} .state`).textContent()) === 'disabled', 'disabled again');
  console.log(`disabled ${rowId}`);

  // CSRF: the admin's own session without the token, or with a wrong one, changes nothing.
  const other = [await post('/admin/users/1/disable', {}),
                 await post('/admin/users/1/disable', { csrf: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })];
  check(other[0] === 403 && other[1] === 403, `CSRF refused: ${JSON.stringify(other)}`);
  console.log('untouched 1');
  await ctx.close();
} finally {
  await browser.close();
}
if (failures > 0) {
  console.log(`${failures} dashboard check(s) failed`);
  process.exit(1);
}
console.log('ok - dashboard checked in chromium');
