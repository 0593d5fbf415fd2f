// Browser test of the buyer chat page (bot/www) against a running
// `xiaoer serve`:  node tests/browser/chat.test.mjs http://127.0.0.1:PORT/
//
// Environment: CHROMIUM (default /usr/bin/chromium); XIAOER_BIN and
// XIAOER_TMP let the reconnect test start its own server it can stop and
// restart (run.sh sets them).  The last line printed is always
// "browser: N passed, N failed".

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.argv[2];
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOT_DIR = process.env.TMPDIR || '/tmp';
const REPLY_MS = 2000;		// a bot reply must show within this
const TOTAL_MS = 85000;		// the whole file, hard limit

let passed = 0;
let failed = 0;
let finished = false;

function finish(code) {
	if (finished)
		return;
	finished = true;
	console.log(`browser: ${passed} passed, ${failed} failed`);
	process.exit(code ?? (failed ? 1 : 0));
}

async function test(name, fn) {
	const t0 = Date.now();
	try {
		const skipped = await fn();
		if (typeof skipped === 'string' && skipped.startsWith('skip:')) {
			console.log(`skip - ${name}: ${skipped.slice(5).trim()}`);
			return;
		}
		passed += 1;
		console.log(`ok - ${name} (${Date.now() - t0} ms)`);
	} catch (e) {
		failed += 1;
		console.log(`not ok - ${name}: ${(e && e.message) || e}`);
	}
}

function assert(cond, msg) {
	if (!cond)
		throw new Error(msg);
}

if (!BASE || !/^https?:\/\//.test(BASE)) {
	console.log('usage: node chat.test.mjs http://127.0.0.1:PORT/');
	failed += 1;
	finish(2);
}

setTimeout(() => {
	failed += 1;
	console.log(`not ok - the whole browser test took longer than ${TOTAL_MS / 1000} s`);
	finish(1);
}, TOTAL_MS).unref();

/* ----------------------------------------------------------- the browser */

const problems = [];	// console errors, page errors, CSP violations

// 'expected' matches console errors this page is meant to cause (Chromium
// logs every refused websocket while the reconnect test's server is down).
async function openPage(browser, url, label, viewport = { width: 1280, height: 860 }, expected = null) {
	const context = await browser.newContext({ viewport, locale: 'zh-CN', deviceScaleFactor: 1 });
	context.setDefaultTimeout(10000);
	context.setDefaultNavigationTimeout(10000);
	const page = await context.newPage();
	const frames = { sent: [], received: [], sockets: [] };
	page.on('console', (m) => {
		if (m.type() === 'error' && !(expected && expected.test(m.text())))
			problems.push(`${label}: console error: ${m.text()}`);
	});
	page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
	page.on('requestfailed', (r) => {
		if (!r.url().startsWith('ws'))
			problems.push(`${label}: request failed: ${r.url()} ${r.failure()?.errorText}`);
	});
	page.on('websocket', (ws) => {
		frames.sockets.push(ws.url());
		ws.on('framesent', (f) => frames.sent.push(parse(f.payload)));
		ws.on('framereceived', (f) => frames.received.push(parse(f.payload)));
	});
	// Test-side only: record CSP violations the page reports.
	await context.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
		});
	});
	const response = await page.goto(url, { waitUntil: 'load' });
	return { context, page, frames, response };
}

function parse(payload) {
	try {
		return JSON.parse(String(payload));
	} catch {
		return { unparsed: String(payload) };
	}
}

async function waitFor(fn, ms, what) {
	const end = Date.now() + ms;
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > end)
			throw new Error(`timed out after ${ms} ms waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

async function connState(page) {
	return page.$eval('#conn', (n) => ({ state: n.dataset.state, text: n.textContent.trim() }));
}

async function waitOnline(page, ms = 5000) {
	await waitFor(async () => {
		const c = await connState(page);
		return c.state === 'online' && c.text === '在线';
	}, ms, 'the connection indicator to show 在线').catch(async (e) => {
		const c = await connState(page);
		throw new Error(`${e.message} (it shows ${c.state}: ${c.text})`);
	});
}

// The buyer bubble with this text that was added last; its message id.
async function lastBuyerId(page, text) {
	return page.$$eval('.msg-buyer', (nodes, t) => {
		const hit = nodes.filter((n) => n.querySelector('.bubble').textContent === t).pop();
		return hit ? hit.dataset.id : null;
	}, text);
}

// Wait for the bot reply to message 'id'; returns its text, caption, buttons.
async function replyTo(page, id, ms = REPLY_MS) {
	const sel = `.row-bot[data-reply-to="${id}"]`;
	await page.waitForSelector(sel, { timeout: ms }).catch(async () => {
		const state = await page.$eval(`.msg-buyer[data-id="${id}"]`, (n) => `${n.dataset.state} ${n.textContent}`).catch(() => 'no bubble');
		const err = await page.$$eval('.line-error', (ns) => ns.map((n) => `${n.dataset.code}: ${n.textContent}`).join('; '));
		throw new Error(`no bot reply to ${id} within ${ms} ms (buyer bubble: ${state}${err ? `; error lines: ${err}` : ''})`);
	});
	return page.$eval(sel, (row) => ({
		text: row.querySelector('.bubble').textContent,
		caption: row.querySelector('.caption')?.textContent || '',
		buttons: [...row.querySelectorAll('.quick button')].map((b) => ({ title: b.textContent, payload: b.dataset.payload })),
	}));
}

async function buyerCount(page) {
	return page.$$eval('.msg-buyer', (n) => n.length);
}

/* --------------------------------------------------- a second server */

// For the reconnect test: a server of our own that we can stop and start.
async function startServer(port, db = 'reconnect.db', more = []) {
	const bin = process.env.XIAOER_BIN;
	const dir = process.env.XIAOER_TMP;
	const child = spawn(bin, ['serve', ...more, '--port', String(port), '--db', path.join(dir, db),
		'--content', '.', '--www', 'bot/www'], { stdio: ['ignore', 'ignore', 'pipe'] });
	let err = '';
	const url = await new Promise((resolve) => {
		const timer = setTimeout(() => resolve(null), 10000);
		child.stderr.on('data', (d) => {
			err += d;
			const m = /^xiaoer: listening on (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(err);
			if (m) {
				clearTimeout(timer);
				resolve(m[1]);
			}
		});
		child.on('exit', () => {
			clearTimeout(timer);
			resolve(null);
		});
	});
	child.stderr.on('data', () => {});	// keep draining
	return { child, url, err: () => err };
}

async function stopServer(child) {
	if (child.exitCode !== null || child.signalCode !== null)
		return;
	const gone = once(child, 'exit');
	child.kill('SIGTERM');
	const t = setTimeout(() => child.kill('SIGKILL'), 5000);
	await gone;
	clearTimeout(t);
}

/* ------------------------------------------------------------ the tests */

const browser = await chromium.launch({
	executablePath: CHROMIUM,
	headless: true,
	// Playwright starts Chromium with a new empty --user-data-dir itself.
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'],
}).catch((e) => {
	console.log(`not ok - launch Chromium at ${CHROMIUM}: ${e.message.split('\n')[0]}`);
	failed += 1;
	finish(1);
});

let main;
const extra = [];

try {
	await test('page loads with the strict CSP the server sends', async () => {
		main = await openPage(browser, BASE, 'page');
		const { response, page } = main;
		assert(response && response.status() === 200, `GET / answered ${response && response.status()}`);
		const csp = response.headers()['content-security-policy'] || '';
		assert(/script-src 'self'/.test(csp), `GET / has no strict content-security-policy header (got "${csp}")`);
		const title = await page.title();
		assert(title.includes('店小二'), `title is "${title}"`);
		const h1 = await page.textContent('h1');
		assert(h1.includes('店小二') && h1.includes('智能客服'), `header says "${h1}"`);
		const styled = await page.evaluate(() => getComputedStyle(document.querySelector('.chat')).display);
		assert(styled === 'flex', 'app.css was not applied (see the console errors below)');
	});

	const { page, frames } = main || {};
	if (!page)
		throw new Error('the page did not load; nothing else can run');

	await test('connection indicator shows 在线', async () => {
		await waitOnline(page);
		const url = frames.sockets[0] || '';
		assert(/\/ws\/buyer\?buyer=web-[0-9a-f]+/.test(url), `websocket URL is "${url}"`);
	});

	await test('accessibility basics: live log, labelled input, labelled send button', async () => {
		const a = await page.evaluate(() => ({
			live: document.querySelector('#log').getAttribute('aria-live'),
			role: document.querySelector('#log').getAttribute('role'),
			label: document.querySelector('label[for="input"]')?.textContent,
			send: document.querySelector('#send').getAttribute('aria-label'),
			lang: document.documentElement.lang,
			focus: document.activeElement && document.activeElement.id,
		}));
		assert(a.live === 'polite' && a.role === 'log', `message list role=${a.role} aria-live=${a.live}`);
		assert(a.label && a.send, 'the input or the send button has no label');
		assert(a.lang === 'zh-CN', `html lang is ${a.lang}`);
		assert(a.focus === 'input', `focus starts on ${a.focus}, not the input`);
	});

	let firstReply = null;
	await test('我的快递到哪了 + Enter: an explained bot reply within 2 s', async () => {
		const before = frames.sent.length;
		await page.fill('#input', '我的快递到哪了');
		const t0 = Date.now();
		await page.press('#input', 'Enter');
		const id = await waitFor(() => lastBuyerId(page, '我的快递到哪了'), 1000, 'the buyer bubble');
		const sent = frames.sent.slice(before).find((f) => f.id === id);
		assert(sent && sent.type === 'message' && sent.text === '我的快递到哪了', `frame sent: ${JSON.stringify(frames.sent.slice(before))}`);
		firstReply = await replyTo(page, id);
		const ms = Date.now() - t0;
		assert(firstReply.caption.includes('logistics.where') && firstReply.caption.includes('@'),
			`caption is "${firstReply.caption}", expected "logistics.where · …@N"`);
		assert(ms <= REPLY_MS, `reply took ${ms} ms`);
		assert(firstReply.text.length > 0, 'the reply bubble is empty');
		const state = await page.$eval(`.msg-buyer[data-id="${id}"]`, (n) => n.dataset.state);
		assert(state === 'done', `the buyer bubble is still "${state}" after the reply`);
		assert(await page.inputValue('#input') === '', 'the input was not cleared');
	});

	await test('starter chip 什么时候发货 gets a reply', async () => {
		await page.click('.starters .chip[data-text="什么时候发货"]');
		const id = await waitFor(() => lastBuyerId(page, '什么时候发货'), 1000, 'the buyer bubble');
		const r = await replyTo(page, id);
		assert(/\S+ · \S+@\d+/.test(r.caption), `caption is "${r.caption}", expected "intent · script@version"`);
	});

	await test('转人工 (payload human.request): button frame, explained reply, queued status line', async () => {
		const before = frames.sent.length;
		// Prefer a quick-reply button under a bot reply; else the starter chip.
		const quick = await page.$('.row-bot .quick button[data-payload="human.request"]:not([disabled])');
		const target = quick || await page.$('.starters .chip[data-payload="human.request"]');
		const title = (await target.textContent()).trim();
		await target.click();
		const id = await waitFor(() => lastBuyerId(page, title), 1000, `a buyer bubble "${title}"`);
		const sent = frames.sent.slice(before).find((f) => f.id === id);
		assert(sent && sent.type === 'button' && sent.payload === 'human.request',
			`frame sent: ${JSON.stringify(frames.sent.slice(before))}`);
		const r = await replyTo(page, id);
		assert(r.caption.includes('human.request'), `caption is "${r.caption}"${quick ? ' (quick-reply button)' : ' (starter chip)'}`);
		await page.waitForSelector('.line-status', { timeout: REPLY_MS }).catch(() => {
			const st = frames.received.filter((f) => f.type === 'status');
			throw new Error(`no queued status line; status frames received: ${JSON.stringify(st)}`);
		});
		const line = await page.textContent('.line-status');
		assert(line.includes('已为您转接人工客服'), `status line is "${line}"`);
		if (quick) {
			const pressed = await quick.getAttribute('aria-pressed');
			assert(pressed === 'true', 'the pressed quick reply is not marked');
		}
	});

	await test('empty input cannot be sent; Shift+Enter is a newline', async () => {
		const before = frames.sent.length;
		const bubbles = await buyerCount(page);
		await page.fill('#input', '   ');
		assert(await page.isDisabled('#send'), 'send is enabled for blank input');
		await page.press('#input', 'Enter');
		await page.fill('#input', '');
		await page.type('#input', '第一行');
		await page.keyboard.press('Shift+Enter');
		await page.type('#input', '第二行');
		assert(await page.inputValue('#input') === '第一行\n第二行', `input is ${JSON.stringify(await page.inputValue('#input'))}`);
		await page.waitForTimeout(200);
		assert(frames.sent.length === before && await buyerCount(page) === bubbles, 'something was sent');
		await page.fill('#input', '');
	});

	await test('2001 characters cannot be sent and the limit is explained', async () => {
		const before = frames.sent.length;
		const bubbles = await buyerCount(page);
		await page.fill('#input', '好'.repeat(2001));
		assert(await page.isDisabled('#send'), 'send is enabled at 2001 characters');
		assert((await page.textContent('#counter')).includes('2001/2000'), `counter says ${await page.textContent('#counter')}`);
		assert(await page.isVisible('#limit'), 'no limit message');
		const msg = await page.textContent('#limit');
		assert(msg.includes('2000') && msg.includes('太长'), `limit message is "${msg}"`);
		await page.press('#input', 'Enter');
		await page.waitForTimeout(300);
		assert(frames.sent.length === before, 'a frame was sent');
		assert(await buyerCount(page) === bubbles, 'a bubble was added');
		await page.fill('#input', '好'.repeat(2000));
		assert(!(await page.isDisabled('#send')), 'send is disabled at exactly 2000 characters');
		assert(!(await page.isVisible('#limit')), 'the limit message stays at 2000 characters');
		await page.fill('#input', '');
	});

	await test('screenshot (desktop and phone)', async () => {
		await page.mouse.move(0, 0);
		await page.screenshot({ path: path.join(SHOT_DIR, 'xiaoer-chat.png') });
		const phone = await openPage(browser, BASE, 'phone', { width: 390, height: 844 });
		extra.push(phone);
		await waitOnline(phone.page);
		await phone.page.fill('#input', '怎么退货');
		await phone.page.press('#input', 'Enter');
		const id = await waitFor(() => lastBuyerId(phone.page, '怎么退货'), 1000, 'the buyer bubble');
		await replyTo(phone.page, id);
		await phone.page.waitForTimeout(300);
		await phone.page.screenshot({ path: path.join(SHOT_DIR, 'xiaoer-chat-phone.png') });
		console.log(`# screenshots: ${path.join(SHOT_DIR, 'xiaoer-chat.png')} ${path.join(SHOT_DIR, 'xiaoer-chat-phone.png')}`);
	});

	await test('buyer text is shown as text, never parsed as HTML', async () => {
		const evil = '<img src=x id=pwned>&amp;';
		await page.fill('#input', evil);
		await page.press('#input', 'Enter');
		const id = await waitFor(() => lastBuyerId(page, evil), 1000, 'the buyer bubble with the literal text');
		assert(id, 'no bubble');
		assert(await page.$('#pwned') === null, 'an <img> was created from buyer text');
		await page.waitForSelector(`.row-bot[data-reply-to="${id}"], .msg-buyer[data-id="${id}"][data-state="failed"]`, { timeout: REPLY_MS }).catch(() => {});
	});

	await test('rate_limited error frame: plain Chinese line, bubble marked with 重发', async () => {
		// A fresh context is a fresh buyer, so the main conversation is untouched.
		const r = await openPage(browser, BASE, 'ratelimit', { width: 480, height: 760 });
		extra.push(r);
		await waitOnline(r.page);
		let n = 0;
		while (n < 40 && !r.frames.received.some((f) => f.type === 'error')) {
			n += 1;
			await r.page.fill('#input', `在吗 ${n}`);
			await r.page.press('#input', 'Enter');
			if (n >= 15)
				await r.page.waitForTimeout(30);
		}
		const err = await waitFor(() => r.frames.received.find((f) => f.type === 'error'), 2000,
			`an error frame after ${n} messages in ${n >= 15 ? 'about 2' : '1'} s (default rate_limit is 20 per 10 s)`);
		assert(err.code === 'rate_limited', `error frame is ${JSON.stringify(err)}`);
		assert(err.reply_to, `error frame has no reply_to: ${JSON.stringify(err)}`);
		const line = await r.page.waitForSelector('.line-error[data-code="rate_limited"]', { timeout: 1000 });
		const text = await line.textContent();
		assert(text === '发送太快了，请稍等几秒再试', `error line is "${text}"`);
		const st = await r.page.$eval(`.msg-buyer[data-id="${err.reply_to}"]`, (m) => `${m.dataset.state}|${m.textContent}`);
		assert(st.startsWith('failed|') && st.includes('重发'), `the limited bubble is "${st}"`);
		await r.context.close();
	});

	await test('reload keeps the buyer id (localStorage)', async () => {
		const id1 = await page.evaluate(() => localStorage.getItem('xiaoer.buyer'));
		assert(/^web-[0-9a-f]{16}$/.test(id1 || ''), `stored buyer id is ${id1}`);
		const n = frames.sockets.length;
		await page.reload({ waitUntil: 'load' });
		await waitOnline(page);
		const id2 = await page.evaluate(() => localStorage.getItem('xiaoer.buyer'));
		assert(id1 === id2, `buyer id changed: ${id1} -> ${id2}`);
		const url = frames.sockets[n] || '';
		assert(url.includes(`buyer=${encodeURIComponent(id1)}`), `websocket after reload is "${url}", expected buyer=${id1}`);
	});

	await test('reconnect: server stopped → 已断开，正在重连…; message typed offline is sent after restart', async () => {
		if (!process.env.XIAOER_BIN || !process.env.XIAOER_TMP)
			return 'skip: XIAOER_BIN/XIAOER_TMP not set (run through tests/browser/run.sh)';
		const first = await startServer(0);
		assert(first.url, `second server did not start: ${first.err().trim().split('\n').pop()}`);
		const port = new URL(first.url).port;
		let srv = first.child;
		try {
			const r = await openPage(browser, first.url, 'reconnect', { width: 480, height: 760 },
				/^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws\/buyer\?buyer=[^']*' failed: .*(ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE)/);
			extra.push(r);
			await waitOnline(r.page);
			await stopServer(srv);
			await waitFor(async () => (await connState(r.page)).state !== 'online', 5000, 'the indicator to leave 在线');
			const c = await connState(r.page);
			assert(c.state === 'reconnecting' && c.text.includes('已断开，正在重连'),
				`after SIGTERM the indicator shows ${c.state}: "${c.text}" (a 1000 close means idle timeout; going away is 1001)`);
			await r.page.fill('#input', '我的快递到哪了');
			await r.page.press('#input', 'Enter');
			const id = await waitFor(() => lastBuyerId(r.page, '我的快递到哪了'), 1000, 'the offline bubble');
			const st = await r.page.$eval(`.msg-buyer[data-id="${id}"]`, (n) => `${n.dataset.state}|${n.textContent}`);
			assert(st.startsWith('queued|') && st.includes('等待连接'), `offline bubble is "${st}"`);
			let again = null;
			for (let i = 0; i < 5 && !again?.url; i += 1) {	// the port may linger briefly
				again = await startServer(port);
				if (!again.url)
					await new Promise((res) => setTimeout(res, 500));
			}
			if (!again.url)
				return `skip: could not restart the server on port ${port}: ${again.err().trim().split('\n').pop()}`;
			srv = again.child;
			await waitOnline(r.page, 15000);
			const reply = await replyTo(r.page, id, 3000);
			assert(reply.caption.includes('logistics.where'), `reply after reconnect has caption "${reply.caption}"`);
		} finally {
			await stopServer(srv);
		}
	});

	await test('idle timeout (close 1000): quiet 已断开 state, the next message reconnects', async () => {
		if (!process.env.XIAOER_BIN || !process.env.XIAOER_TMP)
			return 'skip: XIAOER_BIN/XIAOER_TMP not set (run through tests/browser/run.sh)';
		const conf = path.join(process.env.XIAOER_TMP, 'idle.conf');
		fs.writeFileSync(conf, 'idle_timeout_s 2\n');
		const srv = await startServer(0, 'idle.db', ['-c', conf]);
		try {
			assert(srv.url, `server with idle_timeout_s 2 did not start: ${srv.err().trim().split('\n').pop()}`);
			const r = await openPage(browser, srv.url, 'idle', { width: 480, height: 760 });
			extra.push(r);
			await waitOnline(r.page);
			await waitFor(async () => (await connState(r.page)).state !== 'online', 6000, 'the idle close');
			const c = await connState(r.page);
			assert(c.state === 'idle' && c.text.includes('长时间未操作'), `after the idle timeout the indicator shows ${c.state}: "${c.text}"`);
			const n = r.frames.sockets.length;
			await r.page.waitForTimeout(1500);
			assert(r.frames.sockets.length === n, 'the page reconnected by itself after an idle close');
			await r.page.fill('#input', '什么时候发货');
			await r.page.press('#input', 'Enter');
			const id = await waitFor(() => lastBuyerId(r.page, '什么时候发货'), 1000, 'the buyer bubble');
			await replyTo(r.page, id, 3000);
			await waitOnline(r.page, 1000);
		} finally {
			await stopServer(srv.child);
		}
	});

	await test('no console errors, page errors or CSP violations', async () => {
		assert(problems.length === 0, problems.join(' | '));
	});
} catch (e) {
	failed += 1;
	console.log(`not ok - ${e.message}`);
} finally {
	for (const p of extra)
		await p.context.close().catch(() => {});
	await browser?.close().catch(() => {});
}

finish();
