// Drives Debian's chromium (headless, playwright-core) through the dashboard pages that
// tests/integration/test_web_admin_pages.sh set up (a hub with billing on the YooKassa fake, a
// node, a user without a subscription, a paid YooKassa payment). The admin creates a plan, grants
// it to the user, extends the subscription, disables the user, drains the node and refunds the
// payment through the pages; after each step the REST API must show the same state. Support sees
// every page and changes nothing; a change without the CSRF token is refused; axe-core on every
// page; settings show no secret. Environment: VEIL_WEB_BASE, VEIL_WEB_ADMIN, VEIL_WEB_SUPPORT,
// VEIL_WEB_USER (id), VEIL_WEB_NODE_ID, VEIL_WEB_KEY2 (a REALITY public key), VEIL_WEB_PAYMENT (id), VEIL_WEB_SECRETS (words that must
// never show, space-separated), VEIL_WEB_SHOTS, VEIL_WEB_NODE, VEIL_CHROMIUM.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.VEIL_WEB_NODE, 'package.json'));
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const base = process.env.VEIL_WEB_BASE, shots = process.env.VEIL_WEB_SHOTS;
const admin = process.env.VEIL_WEB_ADMIN, support = process.env.VEIL_WEB_SUPPORT;
const userId = process.env.VEIL_WEB_USER, nodeId = process.env.VEIL_WEB_NODE_ID;
const paymentId = process.env.VEIL_WEB_PAYMENT;
const secrets = (process.env.VEIL_WEB_SECRETS || '').split(' ').filter((s) => s.length > 0);

let failures = 0;
function check(cond, what) {
  if (!cond) {
    failures++;
    console.log(`not ok - ${what}`);
  } else {
    console.log(`ok - ${what}`);
  }
}

async function api(p) {
  const r = await fetch(`${base}${p}`, { headers: { Authorization: `Bearer ${admin}` } });
  return r.json();
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
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

async function submit(page, selector) {
  const [resp] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
  return resp;
}

const pages = ['/admin', `/admin/users/${userId}`, '/admin/plans', '/admin/nodes', '/admin/payments', '/admin/audit',
               '/admin/settings'];

const browser = await chromium.launch({
  executablePath: process.env.VEIL_CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const post = async (url, form) =>
    (await ctx.request.post(`${base}${url}`, { form, maxRedirects: 0, failOnStatusCode: false })).status();

  // Support first: every page renders, no change form but log-out, every change refused.
  await login(page, support);
  for (const p of pages) {
    const r = await page.goto(`${base}${p}`);
    check(r.status() === 200, `support sees ${p}`);
    check(await page.locator('form[method=post]').count() === 1, `support: ${p} has no change form`);
  }
  const supCsrf = await page.getAttribute('input[name=csrf]', 'value');
  const supportPosts = [
    [`/admin/users/${userId}/grant`, { plan: '1' }], [`/admin/users/${userId}/extend`, { days: '5' }],
    [`/admin/users/${userId}/rotate-link`, {}], ['/admin/devices/1/free', { user: userId }],
    ['/admin/plans', { name: 'x', duration_days: '1', quota_gib: '0', device_limit: '0', prices: 'RUB 1' }],
    ['/admin/plans/1/delete', {}], [`/admin/nodes/${nodeId}/drain`, { draining: 'true' }],
    [`/admin/nodes/${nodeId}/weight`, { weight: '5' }], [`/admin/nodes/${nodeId}/rotate-token`, {}],
    ['/admin/nodes', { name: 'n' }], [`/admin/payments/${paymentId}/refund`, {}],
    ['/admin/users', { username: 'support_made', language: 'en' }],
  ];
  const supCodes = [];
  for (const [url, form] of supportPosts) supCodes.push(await post(url, { ...form, csrf: supCsrf }));
  check(supCodes.every((c) => c === 403), `support: every change refused 403 (${supCodes.join(',')})`);
  await submit(page, 'header button[type=submit]');

  await login(page, admin);
  const csrf = await page.getAttribute('input[name=csrf]', 'value');
  // CSRF: the admin's session without the token (or a wrong one) changes nothing.
  const noCsrf = [];
  for (const [url, form] of supportPosts) {
    noCsrf.push(await post(url, form));
    noCsrf.push(await post(url, { ...form, csrf: 'A'.repeat(43) }));
  }
  check(noCsrf.every((c) => c === 403), `admin without CSRF token: every change refused 403 (${noCsrf.join(',')})`);

  // Overview with its charts: the figures are a snapshot up to 30 s old (stamped); "Refresh now"
  // takes them again, so the payments made above show.
  await page.goto(`${base}/admin`);
  check(/Figures as of \d\d:\d\d:\d\d UTC/.test(await page.textContent('#as-of')), 'overview: freshness stamp');
  await Promise.all([page.waitForNavigation(), page.click('#as-of a')]);
  check(page.url() === `${base}/admin?fresh=1`, `overview: refreshed (${page.url()})`);
  const today = (await page.textContent('#revenue-today')).trim();
  const month = (await page.textContent('#revenue-month')).trim();
  check(/^(\d+\.\d\d [A-Z]{3}|\d+ XTR|—)/.test(today) && month.length > 0, `overview: revenue today "${today}", month "${month}"`);
  // The "now" cards: no node has pushed yet, so nothing is open and no byte was counted today.
  const online = (await page.textContent('#online-now')).trim();
  const traffic = (await page.textContent('#traffic-today')).trim();
  const onlineNote = await page.textContent('#online-now + .muted');
  check(online === '0' && traffic === '0 B' && /^\d+$/.test((await page.textContent('#users-this-hour')).trim()),
        `overview: online now "${online}", traffic today "${traffic}"`);
  check(/online now: connections open on the \d+ nodes up, as of their last usage push/.test(onlineNote),
        `overview: online now says what it counts ("${onlineNote}")`);
  check(await page.locator('#chart-payments svg rect.bar').count() >= 1, 'overview: the payments chart has a bar');
  check(await page.isVisible('#chart-revenue'), 'overview: revenue chart');
  await axe(page, 'overview');
  await page.screenshot({ path: path.join(shots, 'overview.png'), fullPage: true });

  // Plans: create one with prices in two currencies.
  await page.goto(`${base}/admin/plans`);
  await page.fill('#name', 'Pro 30');
  await page.fill('#duration_days', '30');
  await page.fill('#quota_gib', '100');
  await page.fill('#device_limit', '3');
  await page.selectOption('#reset_strategy', 'monthly');
  await page.fill('#prices', 'RUB 299.00, XTR 250');
  await submit(page, '#plan-save');
  check((await page.textContent('#notice')) === 'Plan created.', 'plan: created notice');
  const planRow = page.locator('tr', { hasText: 'Pro 30' });
  const prices = await planRow.locator('.prices').textContent();
  check(prices.includes('299.00 RUB') && prices.includes('250 XTR'), `plan: prices shown as money (${prices})`);
  const planId = (await planRow.getAttribute('id')).replace('plan-', '');
  let plan = await api(`/api/v1/plans/${planId}`);
  check(plan.prices.RUB === 29900 && plan.prices.XTR === 250 && plan.quota_bytes === 100 * 2 ** 30 &&
        plan.reset_strategy === 'monthly' && plan.device_limit === 3, `API: plan ${JSON.stringify(plan)}`);
  // A bad price is refused with a message, nothing created.
  await page.fill('#name', 'Broken');
  await page.fill('#prices', 'RUB 1.234');
  const bad = await submit(page, '#plan-save');
  check(bad.status() === 422 && (await page.textContent('#notice')).includes('prices'), 'plan: bad price refused');
  await axe(page, 'plans');
  await page.screenshot({ path: path.join(shots, 'plans.png'), fullPage: true });
  // Edit: the price changes, the rest stays.
  await page.goto(`${base}/admin/plans/${planId}`);
  check(await page.inputValue('#prices') === 'RUB 299.00, XTR 250', 'plan edit: prices prefilled as money');
  await page.fill('#prices', 'RUB 349.50, XTR 250');
  await submit(page, '#plan-save');
  plan = await api(`/api/v1/plans/${planId}`);
  check(plan.prices.RUB === 34950 && plan.quota_bytes === 100 * 2 ** 30, `API: plan edited ${JSON.stringify(plan.prices)}`);

  // Delete: refused while a subscription uses the plan (the payer's Month), done for an unused one.
  await page.goto(`${base}/admin/plans`);
  await submit(page, 'tr:has-text("Month") button.danger');
  check((await page.textContent('#notice')).includes('disable it instead'), 'plan: delete refused while in use');
  await page.fill('#name', 'Tmp');
  await page.fill('#prices', 'USD 1.99');
  await submit(page, '#plan-save');
  await submit(page, 'tr:has-text("Tmp") button.danger');
  check((await page.textContent('#notice')) === 'Plan deleted.', 'plan: unused plan deleted');
  check(!(await api('/api/v1/plans')).plans.some((x) => x.name === 'Tmp'), 'API: plan Tmp gone');

  // A new user through the users page's form; the API sees it; the same name again is refused.
  await page.goto(`${base}/admin/users`);
  await page.click('details.card summary');
  await page.fill('#nu-name', 'web_new_user');
  await page.fill('#nu-tg', '770000123');
  await page.selectOption('#nu-lang', 'ru');
  await submit(page, '#new-user button');
  check(/\/admin\/users\/\d+\?done=created$/.test(page.url()), `new user: on its page (${page.url()})`);
  const made = (await api('/api/v1/users?q=web_new_user')).users;
  check(made.length === 1 && made[0].telegram_id === 770000123 && made[0].language === 'ru',
        `API: the new user ${JSON.stringify(made)}`);
  check(!(await api('/api/v1/users?q=support_made')).users.length, 'API: support made no user');
  await page.goto(`${base}/admin/users`);
  await page.click('details.card summary');
  await page.fill('#nu-name', 'web_new_user');
  await submit(page, '#new-user button');
  check((await page.textContent('#error')).includes('exists'), 'new user: a taken name refused');
  await axe(page, 'new user refused');

  // The user: grant the plan, extend, disable.
  await page.goto(`${base}/admin/users/${userId}`);
  check(await page.isVisible('#sub-none'), 'user: no subscription yet');
  await page.selectOption('#plan', planId);
  await submit(page, '#grant');
  check((await page.textContent('#notice')) === 'Plan granted.', 'user: plan granted');
  check((await page.textContent('#sub-plan')) === 'Pro 30' && (await page.textContent('#sub-state')) === 'active',
        'user: subscription shown active');
  let subs = (await api(`/api/v1/users/${userId}/subscriptions`)).subscriptions;
  const sub = subs.find((s) => s.state === 'active');
  check(sub && sub.plan_id === Number(planId) && sub.ends_at - sub.starts_at === 30 * 86400,
        `API: subscription granted ${JSON.stringify(sub)}`);
  // A device fetches the subscription (the plan limits devices), then the admin frees its slot.
  const subToken = (await api(`/api/v1/users/${userId}/secrets`)).sub_token;
  const fetched = await fetch(`${base}/sub/${subToken}`, { headers: { 'x-hwid': 'test-device-0001', 'user-agent': 'v2rayNG/1.9' } });
  check(fetched.status === 200, `device fetch of /sub: ${fetched.status}`);
  await page.goto(`${base}/admin/users/${userId}`);
  const devRow = page.locator('tr[id^=device-]', { hasText: 'test-device-0001' });
  check(await devRow.count() === 1, 'user: the device listed');
  await submit(page, 'tr[id^=device-] button');
  check((await page.textContent('#notice')).includes('Device removed'), 'user: device freed');
  check((await api(`/api/v1/users/${userId}/devices`)).devices.length === 0, 'API: no device left');
  await page.fill('#days', '10');
  await submit(page, '#extend');
  check((await page.textContent('#notice')) === 'Subscription extended.', 'user: extended');
  subs = (await api(`/api/v1/users/${userId}/subscriptions`)).subscriptions;
  const ext = subs.find((s) => s.id === sub.id);
  check(ext.ends_at - sub.ends_at === 10 * 86400, `API: ends 10 days later (${ext.ends_at - sub.ends_at} s)`);
  await page.fill('#days', '0');
  await page.locator('#days').evaluate((e) => e.removeAttribute('min'));
  await submit(page, '#extend');
  check((await page.textContent('#notice')).includes('whole number'), 'user: 0 days refused');
  check(await page.isVisible('#usage-chart svg'), 'user: traffic chart');
  await axe(page, 'user');
  await page.screenshot({ path: path.join(shots, 'user.png'), fullPage: true });
  await submit(page, '#toggle');
  check((await page.textContent('#user-state')) === 'disabled', 'user: disabled on the page');
  check((await api(`/api/v1/users/${userId}`)).enabled === false, 'API: user disabled');
  const tokenBefore = (await api(`/api/v1/users/${userId}/secrets`)).sub_token;
  await submit(page, '#rotate');
  check((await page.textContent('#notice')).includes('rotated'), 'user: link rotated');
  const tokenAfter = (await api(`/api/v1/users/${userId}/secrets`)).sub_token;
  check(tokenBefore && tokenAfter && tokenBefore !== tokenAfter, 'API: subscription token changed');

  // Nodes: drain, weight.
  await page.goto(`${base}/admin/nodes`);
  check((await page.textContent(`#node-${nodeId} .state`)).includes('draining') === false, 'node: not draining');
  await submit(page, `#node-${nodeId} button.drain`);
  check((await page.textContent(`#node-${nodeId} .state`)).includes('draining'), 'node: draining on the page');
  check((await api(`/api/v1/nodes/${nodeId}`)).draining === true, 'API: node draining');
  await page.fill(`#node-${nodeId} input[name=weight]`, '40');
  await submit(page, `#node-${nodeId} form[action$=weight] button`);
  check((await page.textContent(`#node-${nodeId} .weight`)) === '40', 'node: weight 40 on the page');
  check((await api(`/api/v1/nodes/${nodeId}`)).weight === 40, 'API: node weight 40');
  await axe(page, 'nodes');
  await page.screenshot({ path: path.join(shots, 'nodes.png'), fullPage: true });
  await submit(page, `#node-${nodeId} form[action$=rotate-token] button`);
  const tok = await page.textContent('#node-token');
  check(/^vn_/.test(tok) && (await page.textContent('#install-cmd')).includes(tok), 'node: new token and install command');
  await axe(page, 'node token');
  const nodeAuth = await fetch(`${base}/api/v1/node/users`, { headers: { Authorization: `Bearer ${tok}` } });
  check(nodeAuth.status === 200, `API: the rotated node token works (${nodeAuth.status})`);

  // Register a node through the form: the token and the install command come back once.
  await page.goto(`${base}/admin/nodes`);
  await page.fill('#name', 'ams-2');
  await page.fill('#address', 'ams2.example.net');
  await page.fill('#public_key', process.env.VEIL_WEB_KEY2);
  await page.fill('#server_names', 'www.microsoft.com, www.apple.com');
  await page.fill('#short_ids', 'ab12');
  await submit(page, '#node-register');
  const tok2 = await page.textContent('#node-token');
  check(/^vn_/.test(tok2) && (await page.textContent('#install-cmd')).includes(`${base}`), 'node: registered, install command names this hub');
  const ams = (await api('/api/v1/nodes')).nodes.find((x) => x.name === 'ams-2');
  check(ams && ams.server_names.length === 2 && ams.short_ids[0] === 'ab12', `API: node registered ${JSON.stringify(ams)}`);

  // Payments: filter, see the YooKassa payment, refund it through billing.
  await page.goto(`${base}/admin/payments?provider=yookassa&status=succeeded`);
  const payRow = page.locator(`#pay-${paymentId}`);
  check(await payRow.count() === 1, 'payments: the YooKassa payment listed by the filter');
  check((await payRow.locator('.amount').textContent()) === '299.00 RUB', 'payments: amount as money');
  await page.goto(`${base}/admin/payments?status=refunded`);
  check(await page.locator(`#pay-${paymentId}`).count() === 0, 'payments: filter by state excludes it');
  await page.goto(`${base}/admin/payments?since=2000-01-01&until=2000-01-02`);
  check(await page.locator('tbody tr').count() === 0, 'payments: date filter');
  await page.goto(`${base}/admin/payments?user=${process.env.VEIL_WEB_PAYER}`);
  check(await page.locator(`#pay-${paymentId}`).count() === 1, 'payments: user filter');
  await axe(page, 'payments');
  await page.screenshot({ path: path.join(shots, 'payments.png'), fullPage: true });
  await submit(page, `#pay-${paymentId} button`);
  check((await page.textContent('#notice')) === 'Payment refunded.', 'payments: refunded notice');
  const pay = await api(`/api/v1/payments/${paymentId}`);
  check(pay.status === 'refunded', `API: payment ${pay.status}`);

  // Audit: the dashboard's changes are there.
  await page.goto(`${base}/admin/audit`);
  const actions = await page.locator('td.action').allTextContents();
  for (const a of ['plan.create', 'plan.update', 'subscription.grant', 'subscription.extend', 'user.disable',
                   'user.rotate_token', 'node.drain', 'node.weight', 'node.rotate_token', 'payment.refund'])
    check(actions.includes(a), `audit: ${a}`);
  check(actions.includes('node.register') && actions.includes('plan.delete') && actions.includes('device.delete'), 'audit: register, plan delete, device delete');
  await axe(page, 'audit');
  await page.screenshot({ path: path.join(shots, 'audit.png'), fullPage: true });

  // Settings: read-only and without secrets.
  await page.goto(`${base}/admin/settings`);
  const html = await page.content();
  check(html.includes('yookassa'), 'settings: billing providers listed');
  for (const s of secrets) check(!html.includes(s), `settings: no secret (${s.slice(0, 4)}…)`);
  check(await page.locator('form[method=post]').count() === 1, 'settings: read-only');
  await axe(page, 'settings');
  await page.screenshot({ path: path.join(shots, 'settings.png'), fullPage: true });
  await ctx.close();
} finally {
  await browser.close();
}
if (failures > 0) {
  console.log(`${failures} dashboard check(s) failed`);
  process.exit(1);
}
console.log('ok - dashboard pages checked in chromium');
