// Fan chat page: plays the fan's side of a private chat through the sandbox control API.
"use strict";

const API = "/sandbox/api";
const COLORS = ["#e17076", "#faa774", "#a695e7", "#7bc862", "#6ec9cb", "#65aadd", "#ee7aae"];
const state = {
  token: null, bot: null, fans: [], fanId: null, messages: new Map(), seq: 0,
  chat: null, poll: null, busy: false,
};
const $ = (id) => document.getElementById(id);

function botPath(path) {
  return `${API}/bots/${encodeURIComponent(state.token)}${path}`;
}

async function call(method, path, body, signal) {
  const response = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal,
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function avatarColor(id) {
  return COLORS[Math.abs(Number(id)) % COLORS.length];
}

function initials(user) {
  return ((user.first_name || "?")[0] + ((user.last_name || "")[0] || "")).toUpperCase();
}

// Entities use UTF-16 offsets, which is exactly how JavaScript indexes strings.
function renderEntities(text, entities) {
  if (!entities || !entities.length) return escapeHtml(text);
  const cuts = new Set([0, text.length]);
  for (const e of entities) { cuts.add(e.offset); cuts.add(e.offset + e.length); }
  const points = [...cuts].filter((p) => p <= text.length).sort((a, b) => a - b);
  let html = "";
  for (let i = 0; i < points.length - 1; i++) {
    const [start, end] = [points[i], points[i + 1]];
    let piece = escapeHtml(text.slice(start, end));
    for (const e of entities) {
      if (e.offset <= start && e.offset + e.length >= end) piece = wrapEntity(e, piece);
    }
    html += piece;
  }
  return html;
}

function wrapEntity(entity, inner) {
  const tags = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "code" };
  if (tags[entity.type]) return `<${tags[entity.type]}>${inner}</${tags[entity.type]}>`;
  if (entity.type === "text_link") return `<a href="${escapeHtml(entity.url || "#")}" target="_blank" rel="noreferrer">${inner}</a>`;
  if (entity.type === "url") return `<a href="${inner}" target="_blank" rel="noreferrer">${inner}</a>`;
  if (entity.type === "spoiler") return `<span style="background:#8885">${inner}</span>`;
  if (["mention", "hashtag", "bot_command"].includes(entity.type)) return `<span style="color:var(--accent)">${inner}</span>`;
  return inner;
}

function fileUrl(fileId) {
  return botPath(`/files/${encodeURIComponent(fileId)}`);
}

function mediaHtml(m) {
  if (m.photo) {
    const big = m.photo[m.photo.length - 1];
    return `<img class="photo" src="${fileUrl(big.file_id)}" alt="photo" onerror="this.outerHTML='<span class=media-tag>🖼 Photo</span>'">`;
  }
  if (m.voice) return `<span class="media-tag">🎤 Voice message · 0:${String(m.voice.duration).padStart(2, "0")}</span>`;
  if (m.video) return `<span class="media-tag">🎬 Video · ${m.video.duration}s</span>`;
  if (m.animation) return `<span class="media-tag">🎞 GIF</span>`;
  if (m.audio) return `<span class="media-tag">🎵 ${escapeHtml(m.audio.title || m.audio.file_name || "Audio")}</span>`;
  if (m.document) return `<span class="media-tag">📄 ${escapeHtml(m.document.file_name || "Document")}</span>`;
  if (m.location) return `<span class="media-tag">📍 ${m.location.latitude.toFixed(4)}, ${m.location.longitude.toFixed(4)}</span>`;
  if (m.contact) return `<span class="media-tag">👤 ${escapeHtml(m.contact.first_name)} · ${escapeHtml(m.contact.phone_number)}</span>`;
  return "";
}

function serviceText(m) {
  if (m.pinned_message) return "The bot pinned a message";
  if (m.forum_topic_created) return `Topic “${m.forum_topic_created.name}” created`;
  return "Service message";
}

function time(m) {
  const d = new Date((m.edit_date || m.date) * 1000);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function keyboardHtml(m, messageId) {
  const rows = (m.reply_markup && m.reply_markup.inline_keyboard) || [];
  if (!rows.length) return "";
  const rowHtml = rows.map((row) => `<div class="kb-row">${row.map((b) => {
    if (b.url) return `<a href="${escapeHtml(b.url)}" target="_blank" rel="noreferrer">${escapeHtml(b.text)} ↗</a>`;
    const data = b.callback_data === undefined ? "" : escapeHtml(b.callback_data);
    return `<button data-message="${messageId}" data-callback="${data}" ${b.callback_data === undefined ? "disabled" : ""}>${escapeHtml(b.text)}</button>`;
  }).join("")}</div>`).join("");
  return `<div class="inline-kb">${rowHtml}</div>`;
}

function messageHtml(record) {
  const m = record.message;
  if (record.service) return `<div class="service">${escapeHtml(serviceText(m))}</div>`;
  const mine = record.direction === "to_bot";
  const classes = ["msg", mine ? "mine" : "theirs", record.deleted ? "deleted" : ""].join(" ");
  if (record.deleted) {
    return `<div class="${classes}"><div class="bubble">message deleted<span class="meta">${time(m)}</span></div></div>`;
  }
  if (m.sticker) {
    return `<div class="${classes}"><div class="bubble sticker">${escapeHtml(m.sticker.emoji || "🙂")}</div></div>`;
  }
  const quote = m.reply_to_message
    ? `<div class="reply-quote">${escapeHtml((m.reply_to_message.text || m.reply_to_message.caption || "media").slice(0, 80))}</div>`
    : "";
  const text = m.text !== undefined ? renderEntities(m.text, m.entities)
    : m.caption !== undefined ? renderEntities(m.caption, m.caption_entities) : "";
  const meta = `<span class="meta">${record.edited ? "edited " : ""}${time(m)}${mine ? " ✓✓" : ""}</span>`;
  const forwarded = m.forward_origin ? `<div class="reply-quote">Forwarded</div>` : "";
  return `<div class="${classes}"><div class="bubble">${forwarded}${quote}${mediaHtml(m)}${text}${meta}</div>${keyboardHtml(m, record.message_id)}</div>`;
}

function renderMessages() {
  const box = $("messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const records = [...state.messages.values()].sort((a, b) => a.message_id - b.message_id);
  box.innerHTML = records.length
    ? records.map(messageHtml).join("")
    : `<div class="empty">No messages yet. Say hello, or open a deep link.</div>`;
  if (nearBottom || state.forceScroll) box.scrollTop = box.scrollHeight;
  state.forceScroll = false;
}

function renderHeader() {
  const fan = state.fans.find((f) => f.id === state.fanId);
  const enabled = Boolean(fan);
  for (const el of [$("text-input"), document.querySelector(".send"), $("block-btn")]) el.disabled = !enabled;
  document.querySelectorAll(".attach button, .deeplink button").forEach((b) => { b.disabled = !enabled; });
  if (!fan) return;
  $("chat-avatar").textContent = initials(fan);
  $("chat-avatar").style.background = avatarColor(fan.id);
  $("chat-name").textContent = [fan.first_name, fan.last_name].filter(Boolean).join(" ");
  const status = $("chat-status");
  const chat = state.chat || {};
  status.className = "status";
  if (chat.blocked) {
    status.textContent = "you blocked this bot";
    status.classList.add("blocked");
  } else if (chat.action) {
    status.textContent = `${state.bot ? state.bot.first_name : "bot"} is ${chat.action.replace(/_/g, " ")}…`;
    status.classList.add("typing");
  } else {
    const who = state.bot ? `@${state.bot.username}` : "bot";
    status.textContent = `chatting with ${who} · ${fan.language_code || "no language"}`;
  }
  $("block-btn").textContent = chat.blocked ? "Unblock bot" : "Block bot";
  $("block-btn").classList.toggle("danger", !chat.blocked);
  renderReplyKeyboard(chat.reply_keyboard);
}

function renderReplyKeyboard(markup) {
  const box = $("reply-keyboard");
  const rows = (markup && markup.keyboard) || [];
  box.classList.toggle("hidden", !rows.length);
  box.innerHTML = rows.map((row) => `<div class="kb-row">${row.map((b) => {
    const label = typeof b === "string" ? b : b.text;
    return `<button data-reply="${escapeHtml(label)}">${escapeHtml(label)}</button>`;
  }).join("")}</div>`).join("");
}

function renderFans() {
  const list = $("fan-list");
  if (!state.fans.length) {
    list.innerHTML = `<li class="none">No fans yet: create one below.</li>`;
    return;
  }
  list.innerHTML = state.fans.map((f) => `
    <li data-fan="${f.id}" class="${f.id === state.fanId ? "active" : ""}">
      <div class="avatar" style="background:${avatarColor(f.id)}">${escapeHtml(initials(f))}</div>
      <div><div>${escapeHtml(f.first_name)} ${escapeHtml(f.last_name || "")}</div>
      <div class="fan-meta">${f.username ? "@" + escapeHtml(f.username) + " · " : ""}${f.id}</div></div>
    </li>`).join("");
}

function toast(text, alert) {
  const el = $("toast");
  el.textContent = text;
  el.classList.toggle("alert", Boolean(alert));
  el.classList.remove("hidden");
  clearTimeout(state.toastTimer);
  state.toastTimer = setTimeout(() => el.classList.add("hidden"), alert ? 4000 : 2200);
}

async function loadBots() {
  const info = await call("GET", `${API}/info`);
  const select = $("bot-select");
  const tokens = new Map();
  const wanted = new URLSearchParams(location.search).get("token");
  if (wanted) tokens.set(wanted, "from the address bar");
  if (info.default_token) tokens.set(info.default_token, "default");
  for (const bot of info.bots) if (bot.got_me) tokens.set(bot.token, `@${bot.bot.username}`);
  const current = state.token || wanted || info.default_token || [...tokens.keys()][0] || null;
  select.innerHTML = [...tokens.entries()].map(([t, label]) =>
    `<option value="${escapeHtml(t)}" ${t === current ? "selected" : ""}>${escapeHtml(t.split(":")[0])} (${escapeHtml(label)})</option>`).join("");
  $("token-form").classList.toggle("hidden", tokens.size > 0);
  if (current && current !== state.token) await selectBot(current);
}

async function selectBot(token) {
  state.token = token;
  state.fanId = null;
  const info = await call("GET", botPath(""));
  state.bot = info.me;
  await loadFans();
  if (state.fans.length) await selectFan(state.fans[state.fans.length - 1].id);
}

async function loadFans() {
  if (!state.token) return;
  state.fans = await call("GET", botPath("/users"));
  renderFans();
}

async function selectFan(id) {
  state.fanId = id;
  state.messages = new Map();
  state.seq = 0;
  state.chat = null;
  state.forceScroll = true;
  renderFans();
  renderHeader();
  restartPolling();
}

function restartPolling() {
  if (state.poll) state.poll.abort();
  const controller = new AbortController();
  state.poll = controller;
  pollLoop(controller.signal, state.fanId);
}

async function pollLoop(signal, fanId) {
  let wait = 0;
  while (!signal.aborted && fanId === state.fanId) {
    try {
      const data = await call("GET", botPath(`/chats/${fanId}/messages?since_seq=${state.seq}&wait=${wait}`), null, signal);
      for (const record of data.messages) state.messages.set(record.message_id, record);
      state.seq = data.seq;
      state.chat = data;
      renderMessages();
      renderHeader();
      wait = 4;
    } catch (error) {
      if (signal.aborted) return;
      await new Promise((r) => setTimeout(r, 700));
    }
  }
}

async function act(fn) {
  if (state.busy) return;
  state.busy = true;
  try { await fn(); } catch (error) { toast(error.message); } finally { state.busy = false; }
}

function sendText(text) {
  return act(() => call("POST", botPath(`/users/${state.fanId}/messages`), { kind: "text", text }));
}

async function pressButton(messageId, data) {
  let pressed;
  await act(async () => {
    pressed = await call("POST", botPath(`/users/${state.fanId}/press`), { message_id: messageId, data });
  });
  if (!pressed) return;
  // The bot answers the callback query on its own schedule: look for it for a few seconds.
  const id = pressed.callback_query.id;
  for (let i = 0; i < 12; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const answer = await call("GET", botPath(`/callbacks/${id}`));
    if (answer.answered) {
      if (answer.answer.text) toast(answer.answer.text, answer.answer.show_alert);
      return;
    }
  }
}

function wire() {
  $("bot-select").addEventListener("change", (e) => selectBot(e.target.value));
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("token-input").value.trim();
    if (token) selectBot(token).catch((err) => toast(err.message));
  });
  $("fan-list").addEventListener("click", (e) => {
    const li = e.target.closest("li[data-fan]");
    if (li) selectFan(Number(li.dataset.fan));
  });
  $("new-fan").addEventListener("submit", (e) => {
    e.preventDefault();
    act(async () => {
      const user = await call("POST", botPath("/users"), {
        first_name: $("fan-name").value.trim(),
        username: $("fan-username").value.trim() || null,
        language_code: $("fan-lang").value,
      });
      $("fan-name").value = "";
      $("fan-username").value = "";
      await loadFans();
      await selectFan(user.id);
    });
  });
  $("send-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("text-input").value.trim();
    if (!text || !state.fanId) return;
    $("text-input").value = "";
    state.forceScroll = true;
    sendText(text);
  });
  $("deeplink-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const payload = $("deeplink-payload").value.trim();
    state.forceScroll = true;
    act(() => call("POST", botPath(`/users/${state.fanId}/start`), { payload }));
  });
  $("block-btn").addEventListener("click", () => {
    const action = state.chat && state.chat.blocked ? "unblock" : "block";
    act(() => call("POST", botPath(`/users/${state.fanId}/${action}`)));
  });
  document.querySelector(".attach").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-kind]");
    if (!button || !state.fanId) return;
    const kind = button.dataset.kind;
    const body = { kind };
    if (kind === "sticker") body.emoji = "😀";
    if (kind === "location") Object.assign(body, { latitude: 48.8584, longitude: 2.2945 });
    state.forceScroll = true;
    act(() => call("POST", botPath(`/users/${state.fanId}/messages`), body));
  });
  $("messages").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-callback]");
    if (button) pressButton(Number(button.dataset.message), button.dataset.callback);
  });
  $("reply-keyboard").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-reply]");
    if (button) sendText(button.dataset.reply);
  });
  // New bots appear when they call getMe; new fans may be created by tests or scripts.
  setInterval(() => { loadBots().catch(() => {}); loadFans().catch(() => {}); }, 5000);
}

wire();
renderHeader();
loadBots().catch((error) => toast(error.message));
