// 店小二 buyer chat page: one websocket to /ws/buyer (DESIGN.md section 4).
//
// Plain ES module, no build step, served under a strict CSP: no inline
// script or style, and every piece of server text goes in via textContent.

const MAX_CHARS = 2000;		// the server's max_message_chars default
const NEAR_CHARS = 1800;	// the counter turns amber from here
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const STABLE_MS = 5000;		// an open this long resets the backoff
const PENDING_MS = 20000;	// stop showing "sending" after this
const TYPING_DELAY_MS = 350;	// no typing dots for quick replies
const BUYER_KEY = 'xiaoer.buyer';

const ERROR_TEXT = {
	rate_limited: '发送太快了，请稍等几秒再试',
	too_large: `消息太长了，请删减后再发，或分几条发送（每条最多 ${MAX_CHARS} 字）`,
	unavailable: '系统繁忙，这条消息没有保存成功，请稍后重发',
	busy: '当前咨询的人比较多，请稍后再试',
	forbidden: '身份校验没有通过，请刷新页面后再试',
	bad_json: '消息格式有误，没有发送成功，请刷新页面后再试',
	bad_request: '消息格式有误，没有发送成功，请刷新页面后再试',
	unknown_type: '这个操作暂不支持，请直接输入您的问题',
};
const ERROR_DEFAULT = '消息没有发送成功，请稍后重试';

const CONN_TEXT = {
	connecting: '连接中…',
	online: '在线',
	reconnecting: '已断开，正在重连…',
	idle: '已断开（长时间未操作），发送消息即可重新连接',
};

const $ = (id) => document.getElementById(id);
const log = $('log');
const form = $('composer');
const input = $('input');
const sendBtn = $('send');
const counter = $('counter');
const limitMsg = $('limit');
const conn = $('conn');
const connText = $('conn-text');

/* ---------------------------------------------------------------- DOM */

function el(tag, className, text) {
	const node = document.createElement(tag);
	if (className)
		node.className = className;
	if (text !== undefined && text !== null)
		node.textContent = String(text);
	return node;
}

function nearBottom() {
	return log.scrollHeight - log.scrollTop - log.clientHeight < 96;
}

// Whether the log follows new lines: true until the reader scrolls up.
let stick = true;
log.addEventListener('scroll', () => { stick = nearBottom(); }, { passive: true });

function toEnd() {
	log.scrollTop = log.scrollHeight;
	stick = true;
}

// The log shrinks when the input grows or the phone keyboard opens.
if ('ResizeObserver' in window)
	new ResizeObserver(() => { if (stick) toEnd(); }).observe(log);

// Append to the log, keeping the typing indicator last; follow the end
// when the reader was already there (or when it is the buyer's own line).
function append(node, force) {
	if (typing.node.parentNode === log)
		log.insertBefore(node, typing.node);
	else
		log.appendChild(node);
	if (force || stick)
		toEnd();
	return node;
}

function addLine(text, kind) {
	const line = el('p', `line line-${kind}`, text);
	return append(line, true);
}

function clock(d) {
	const pad = (n) => String(n).padStart(2, '0');
	return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/* ----------------------------------------------------------- identity */

function randomId() {
	const bytes = new Uint8Array(8);
	crypto.getRandomValues(bytes);
	return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// A shop that signs its buyers (DESIGN.md: identity) opens the page as
// /?buyer=ID&ts=T&sig=S; otherwise the page keeps its own anonymous id.
function buyerQuery() {
	const q = new URLSearchParams(location.search);
	const out = new URLSearchParams();
	if (q.get('buyer')) {
		for (const k of ['buyer', 'ts', 'sig'])
			if (q.get(k))
				out.set(k, q.get(k));
		return out;
	}
	let id = null;
	try {
		id = localStorage.getItem(BUYER_KEY);
		if (!id || !/^[A-Za-z0-9._:-]{1,64}$/.test(id)) {
			id = `web-${randomId()}`;
			localStorage.setItem(BUYER_KEY, id);
		}
	} catch {
		id = id || `web-${randomId()}`;	// storage blocked: this visit only
	}
	out.set('buyer', id);
	return out;
}

const query = buyerQuery();
const wsUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws/buyer?${query}`;

/* ----------------------------------------------------- outgoing lines */

const session = randomId().slice(0, 4);
let seq = 0;
const entries = new Map();	// id -> {id, frame, node, state, timer}
const outbox = [];		// entries waiting for a connection

function nextId() {
	seq += 1;
	return `m-${session}-${seq}`;
}

const STATE_TEXT = {
	queued: '等待连接，恢复后自动发送',
	failed: '未发送成功',
	lost: '连接中断，未确认送达',
};

function setEntryState(entry, state, why) {
	entry.state = state;
	const box = entry.node;
	box.dataset.state = state;
	const meta = box.querySelector('.meta');
	meta.replaceChildren();
	if (state === 'pending') {
		const spin = el('span', 'spinner');
		spin.setAttribute('role', 'img');
		spin.setAttribute('aria-label', '发送中');
		meta.append(spin);
	} else if (state === 'queued') {
		meta.append(el('span', null, STATE_TEXT.queued));
	} else if (state === 'failed' || state === 'lost') {
		meta.append(el('span', null, why || STATE_TEXT[state]));
		const retry = el('button', 'retry', '重发');
		retry.type = 'button';
		retry.addEventListener('click', () => resend(entry));
		meta.append(retry);
	}
	meta.hidden = meta.childNodes.length === 0;
	if (entry.timer && state !== 'pending') {
		clearTimeout(entry.timer);
		entry.timer = 0;
	}
	updateTyping();
}

function buyerBubble(text) {
	const row = el('div', 'row row-buyer');
	const msg = el('div', 'msg msg-buyer');
	msg.append(el('p', 'bubble', text));
	const meta = el('p', 'meta');
	meta.hidden = true;
	msg.append(meta);
	row.append(msg);
	append(row, true);
	return msg;
}

function submit(frame, shown) {
	const id = nextId();
	const entry = { id, frame: { ...frame, id }, node: buyerBubble(shown), state: '', timer: 0 };
	entry.node.dataset.id = id;
	entries.set(id, entry);
	dispatch(entry);
}

function dispatch(entry) {
	if (ws && ws.readyState === WebSocket.OPEN) {
		ws.send(JSON.stringify(entry.frame));
		if (convState === 'agent') {
			setEntryState(entry, 'sent');	// a person answers, in their own time
		} else {
			setEntryState(entry, 'pending');
			entry.timer = setTimeout(() => {
				if (entry.state === 'pending')
					setEntryState(entry, 'sent');
			}, PENDING_MS);
		}
	} else {
		outbox.push(entry);
		setEntryState(entry, 'queued');
		if (!retryTimer && (!ws || ws.readyState !== WebSocket.CONNECTING))
			connect();
	}
}

function resend(entry) {
	entries.delete(entry.id);
	entry.id = nextId();
	entry.frame = { ...entry.frame, id: entry.id };
	entry.node.dataset.id = entry.id;
	entries.set(entry.id, entry);
	dispatch(entry);
}

function sendText(text) {
	submit({ type: 'message', text }, text);
}

function sendButton(title, payload) {
	submit({ type: 'button', payload }, title);
}

/* ----------------------------------------------------- typing indicator */

const typing = { node: null, timer: 0 };
typing.node = el('div', 'row row-bot typing');
{
	const msg = el('div', 'msg msg-bot');
	const bubble = el('div', 'bubble');
	bubble.setAttribute('role', 'img');
	bubble.setAttribute('aria-label', '店小二正在输入');
	bubble.append(el('span', 'dot'), el('span', 'dot'), el('span', 'dot'));
	msg.append(bubble);
	typing.node.append(msg);
}

function updateTyping() {
	const waiting = convState !== 'agent' &&
		[...entries.values()].some((e) => e.state === 'pending');
	if (!waiting) {
		clearTimeout(typing.timer);
		typing.timer = 0;
		typing.node.remove();
		return;
	}
	if (typing.node.parentNode === log || typing.timer)
		return;
	typing.timer = setTimeout(() => {
		typing.timer = 0;
		log.appendChild(typing.node);
		if (stick)
			toEnd();
	}, TYPING_DELAY_MS);
}

/* ------------------------------------------------------- incoming lines */

let convState = 'bot';
let queueLine = null;

function settle(replyTo, state, why) {
	const entry = replyTo && entries.get(replyTo);
	if (!entry)
		return;
	const i = outbox.indexOf(entry);
	if (i >= 0)
		outbox.splice(i, 1);
	setEntryState(entry, state, why);
}

function quickReplies(buttons) {
	const group = el('div', 'quick');
	group.setAttribute('role', 'group');
	group.setAttribute('aria-label', '快捷回复');
	for (const b of buttons) {
		if (!b || typeof b.title !== 'string' || typeof b.payload !== 'string')
			continue;
		const btn = el('button', 'chip', b.title);
		btn.type = 'button';
		btn.dataset.payload = b.payload;
		btn.addEventListener('click', () => {
			for (const other of group.querySelectorAll('button'))
				other.disabled = true;
			btn.setAttribute('aria-pressed', 'true');
			sendButton(b.title, b.payload);
			input.focus();
		});
		group.append(btn);
	}
	return group.childNodes.length ? group : null;
}

function onReply(f) {
	settle(f.reply_to, 'done');
	const row = el('div', 'row row-bot');
	const msg = el('div', 'msg msg-bot');
	msg.append(el('p', 'bubble', f.text || ''));
	if (Array.isArray(f.buttons) && f.buttons.length) {
		const group = quickReplies(f.buttons);
		if (group)
			msg.append(group);
	}
	// The selling point: every answer says which intent and which approved
	// script (id@version) produced it.
	const why = [f.intent, f.script].filter((s) => typeof s === 'string' && s).join(' · ');
	if (why) {
		const cap = el('p', 'caption', why);
		cap.title = `意图 ${f.intent || '—'}　话术 ${f.script || '—'}` +
			(f.topic ? `　主题 ${f.topic}` : '') + (f.action ? `　动作 ${f.action}` : '');
		msg.append(cap);
	}
	if (f.reply_to)
		row.dataset.replyTo = String(f.reply_to);
	row.append(msg);
	append(row);
}

function minutes(s) {
	if (s < 60)
		return '不到 1 分钟';
	return `约 ${Math.round(s / 60)} 分钟`;
}

function queueText(f) {
	const parts = [];
	if (Number.isFinite(f.position) && f.position > 0)
		parts.push(`前面还有 ${f.position} 位`);
	if (Number.isFinite(f.eta_s) && f.eta_s >= 0)
		parts.push(`预计等待${minutes(f.eta_s)}`);
	return '已为您转接人工客服，请稍候' + (parts.length ? `（${parts.join('，')}）` : '');
}

function onStatus(f) {
	const prev = convState;
	const state = String(f.state || '');
	convState = state;
	if (state === 'queued') {
		const text = queueText(f);
		if (prev === 'queued' && queueLine && queueLine.isConnected)
			queueLine.textContent = text;
		else
			queueLine = addLine(text, 'status');
	} else if (state === 'agent') {
		for (const e of entries.values())
			if (e.state === 'pending')
				setEntryState(e, 'sent');
		if (prev !== 'agent')
			addLine('人工客服已接入，请直接描述您的问题', 'status');
	} else if (state === 'bot') {
		if (prev === 'queued' || prev === 'agent')
			addLine('已转回智能客服店小二', 'status');
	} else if (state === 'closed') {
		if (prev !== 'closed')
			addLine('本次会话已结束，感谢您的咨询', 'status');
	}
	updateTyping();
}

function onAgentMessage(f) {
	const row = el('div', 'row row-agent');
	const msg = el('div', 'msg msg-agent');
	msg.append(el('p', 'who', f.agent ? `人工客服 · ${f.agent}` : '人工客服'));
	msg.append(el('p', 'bubble', f.text || ''));
	row.append(msg);
	append(row);
}

function onNotice(f) {
	const box = el('div', 'notice');
	box.setAttribute('role', 'note');
	box.append(el('p', 'notice-title', f.kind === 'payment_reminder' ? '订单提醒' : '通知'));
	box.append(el('p', 'notice-text', f.text || ''));
	if (f.kind)
		box.dataset.kind = String(f.kind);
	append(box);
}

function onError(f) {
	const text = ERROR_TEXT[f.code] || ERROR_DEFAULT;
	settle(f.reply_to, 'failed');
	const line = addLine(text, 'error');
	line.dataset.code = String(f.code || '');
	if (f.message)
		line.title = String(f.message);
}

function onFrame(raw) {
	let f;
	try {
		f = JSON.parse(raw);
	} catch {
		console.warn('xiaoer: ignoring a frame that is not JSON');
		return;
	}
	if (!f || typeof f !== 'object')
		return;
	switch (f.type) {
	case 'reply': onReply(f); break;
	case 'status': onStatus(f); break;
	case 'agent_message': onAgentMessage(f); break;
	case 'notice': onNotice(f); break;
	case 'error': onError(f); break;
	default: break;		// newer server: ignore what we do not know
	}
}

/* ----------------------------------------------------------- connection */

let ws = null;
let attempt = 0;
let retryTimer = 0;
let stableTimer = 0;

function setConn(state, text) {
	conn.dataset.state = state;
	connText.textContent = text || CONN_TEXT[state];
}

function connect() {
	clearTimeout(retryTimer);
	retryTimer = 0;
	if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING))
		return;
	if (attempt === 0 && conn.dataset.state !== 'reconnecting')
		setConn('connecting');
	let sock;
	try {
		sock = new WebSocket(wsUrl);
	} catch (e) {
		console.warn('xiaoer: cannot open the websocket', e);
		scheduleReconnect();
		return;
	}
	ws = sock;
	sock.addEventListener('open', () => {
		if (ws !== sock)
			return;
		setConn('online');
		stableTimer = setTimeout(() => { attempt = 0; }, STABLE_MS);
		for (const entry of outbox.splice(0))
			dispatch(entry);
	});
	sock.addEventListener('message', (ev) => {
		if (ws === sock && typeof ev.data === 'string')
			onFrame(ev.data);
	});
	sock.addEventListener('close', (ev) => {
		if (ws !== sock)
			return;
		ws = null;
		clearTimeout(stableTimer);
		// Sent but never answered: the server may or may not have it.
		for (const e of entries.values())
			if (e.state === 'pending')
				setEntryState(e, 'lost');
		if (ev.code === 1009)
			addLine(ERROR_TEXT.too_large, 'error');
		else if (ev.code === 1007)
			addLine('消息里有无法识别的字符，请修改后重发', 'error');
		if (ev.code === 1000 && outbox.length === 0) {
			// Idle timeout: stay quiet until the buyer comes back.
			attempt = 0;
			setConn('idle');
			return;
		}
		scheduleReconnect();
	});
}

function scheduleReconnect() {
	const delay = Math.min(BACKOFF_MIN_MS * 2 ** attempt, BACKOFF_MAX_MS);
	attempt += 1;
	setConn('reconnecting');
	conn.title = `${Math.round(delay / 1000)} 秒后重试`;
	clearTimeout(retryTimer);
	retryTimer = setTimeout(connect, delay);
}

function wake() {
	if (!ws && (conn.dataset.state === 'idle' || retryTimer)) {
		attempt = 0;
		connect();
	}
}

window.addEventListener('online', wake);
document.addEventListener('visibilitychange', () => {
	if (document.visibilityState === 'visible' && conn.dataset.state === 'idle')
		wake();
});

/* ------------------------------------------------------------- composer */

function chars(s) {
	return [...s].length;	// code points, as the server counts them
}

function updateComposer() {
	const n = chars(input.value.trim());
	const over = n > MAX_CHARS;
	counter.textContent = `${n}/${MAX_CHARS}`;
	counter.dataset.level = over ? 'over' : n > NEAR_CHARS ? 'near' : '';
	form.dataset.over = String(over);
	sendBtn.disabled = n === 0 || over;
	if (over) {
		limitMsg.textContent = `消息太长了：最多 ${MAX_CHARS} 字，已超出 ${n - MAX_CHARS} 字，请删减或分几条发送`;
		limitMsg.hidden = false;
	} else {
		limitMsg.hidden = true;
		limitMsg.textContent = '';
	}
}

function trySend() {
	const text = input.value.trim();
	if (!text)
		return;
	if (chars(text) > MAX_CHARS) {
		updateComposer();
		input.focus();
		return;
	}
	sendText(text);
	input.value = '';
	updateComposer();
	input.focus();
}

form.addEventListener('submit', (ev) => {
	ev.preventDefault();
	trySend();
});

input.addEventListener('keydown', (ev) => {
	// Enter sends; Shift+Enter is a newline; Enter that confirms an IME
	// candidate (pinyin input) must never send.
	if (ev.key !== 'Enter' || ev.shiftKey || ev.isComposing || ev.keyCode === 229)
		return;
	ev.preventDefault();
	trySend();
});

input.addEventListener('input', updateComposer);
input.addEventListener('focus', () => {
	if (conn.dataset.state === 'idle')
		wake();
});

for (const chip of document.querySelectorAll('.starters .chip')) {
	chip.addEventListener('click', () => {
		if (chip.dataset.payload)
			sendButton(chip.dataset.title || chip.textContent, chip.dataset.payload);
		else
			sendText(chip.dataset.text || chip.textContent);
		input.focus();
	});
}

/* ----------------------------------------------------------------- start */

$('today').textContent = `今天 ${clock(new Date())}`;
updateComposer();
connect();
if (matchMedia('(min-width: 521px)').matches)
	input.focus();
