// A space's chat over the shared websocket (/ws), following docs/realtime.md:
// subscribe with the last seq and room version seen (so edits and deletions made while away are
// replayed), render messages in seq order, page backwards with `history` frames when the reader
// scrolls up, resend unacknowledged messages with the same key after a reconnect (the server
// stores each key once), and tell the server how far the reader has read (unread counts).
// Every piece of text goes into the page as text nodes; links are made with linkify().
import { el, linkify } from "/static/app.js";

const PAGE = 50;

export class ChatRoom {
  constructor({ space, log, status, form, input, names, me, canModerate, onMute }) {
    this.space = space;
    this.log = log;
    this.status = status;
    this.form = form;
    this.input = input;
    this.names = names || new Map();
    this.me = me || null;
    this.canModerate = Boolean(canModerate);
    this.onMute = onMute || null;
    this.lastSeq = 0;
    this.version = 0; // highest room version seen (subscribed, message, edited, deleted frames)
    this.oldest = null; // lowest seq shown; older pages are asked for below it
    this.more = false; // older messages may exist
    this.loadingOlder = false;
    this.pending = new Map(); // key -> body, until acknowledged
    this.rendered = new Map(); // seq -> { node, version, sentAt }
    this.backoff = 500;
    this.lastTyping = 0;
    this.typers = new Map();
    this.readSent = 0;
    this.readTimer = null;
    this.older = el("button", { type: "button", class: "secondary small older", hidden: true }, "Load earlier messages");
    this.older.addEventListener("click", () => this.loadOlder());
    this.log.prepend(this.older);
    // Older pages load when the reader scrolls *up* to the top, not on scroll events fired while
    // the first messages render (the log starts at the top before it is scrolled to the newest,
    // which loaded every older page on a slow machine).
    this.lastScrollTop = 0;
    this.log.addEventListener("scroll", () => {
      const top = this.log.scrollTop;
      const up = top < this.lastScrollTop;
      this.lastScrollTop = top;
      if (up && top < 20) this.loadOlder();
    });
    document.addEventListener("visibilitychange", () => this.markRead());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send(input.value);
    });
    input.addEventListener("input", () => this.typing());
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.setStatus("Connecting…");
    const socket = new WebSocket(`${scheme}://${location.host}/ws`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.backoff = 500;
      socket.send(JSON.stringify({
        type: "subscribe", space: this.space, after: this.lastSeq, since_version: this.version,
      }));
    });
    socket.addEventListener("message", (event) => this.onFrame(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => this.onClose(event));
  }

  onFrame(frame) {
    if (frame.space !== undefined && frame.space !== this.space) return;
    switch (frame.type) {
      case "subscribed":
        this.seeVersion(frame);
        this.setStatus("Connected");
        if (this.oldest === null && frame.head > this.lastSeq) this.oldest = this.lastSeq + 1;
        this.more = this.oldest !== null && this.oldest > 1;
        this.showOlderButton();
        for (const [key, body] of this.pending) this.transmit(key, body); // resend after reconnect
        break;
      case "message":
        this.render(frame);
        this.seeVersion(frame);
        this.scheduleRead();
        break;
      case "history":
        this.loadingOlder = false;
        this.prependPage(frame.messages);
        this.more = frame.more && frame.messages.length > 0;
        this.showOlderButton();
        break;
      case "ack":
        this.pending.delete(frame.key);
        break;
      case "edited":
        this.seeVersion(frame);
        this.applyChange(frame.seq, frame.version, { ...frame, deleted: false });
        break;
      case "deleted":
        this.seeVersion(frame);
        this.applyChange(frame.seq, frame.version || 0, { deleted: true });
        break;
      case "purged":
        this.purge(new Date(frame.before));
        break;
      case "typing":
        this.showTyping(frame.account);
        break;
      case "presence":
        this.setStatus(`Connected · ${frame.online.length} online`);
        break;
      case "error":
        this.onError(frame);
        break;
      default:
        break; // frames this page does not know yet are ignored (the protocol only grows)
    }
  }

  showMuted() {
    this.input.disabled = true;
    this.input.placeholder = "A facilitator muted you here: you can read, but not post.";
    this.form.querySelector("button[type=submit]")?.setAttribute("disabled", "");
  }

  onError(frame) {
    if (frame.code === "muted") this.showMuted();
    const messages = {
      muted: "A facilitator muted you here: you can read, but not post.",
      not_author: "Only its author can edit a message.",
    };
    this.setStatus(messages[frame.code] || frame.message || "Something went wrong.", true);
    if (frame.code === "not_subscribed" || frame.code === "unavailable") this.loadingOlder = false;
    if (frame.ref && this.pending.has(frame.ref)) this.pending.delete(frame.ref); // a refused send is not retried
  }

  seeVersion(frame) {
    if (typeof frame.version === "number") this.version = Math.max(this.version, frame.version);
  }

  // --- rendering ------------------------------------------------------------------------------

  nameOf(frame) {
    if (frame.author === this.me) return "You";
    return frame.author_name || this.names.get(frame.author) || "Former member";
  }

  buildNode(frame) {
    const node = el("div", { class: "msg", "data-seq": frame.seq });
    this.fillNode(node, frame);
    return node;
  }

  fillNode(node, frame) {
    if (frame.deleted) {
      node.className = "msg deleted";
      node.replaceChildren("This message was deleted.");
      return;
    }
    node.className = "msg";
    const when = new Date(frame.sent_at).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
    const body = el("span", { class: "body" }, linkify(frame.body));
    const actions = el("span", { class: "actions" });
    const own = frame.author && frame.author === this.me;
    if (own) {
      actions.append(this.actionButton("Edit", () => this.startEdit(node, frame)));
    }
    if (own || this.canModerate) {
      actions.append(this.actionButton("Delete", () => this.remove(frame.seq)));
    }
    if (this.canModerate && !own && frame.author && this.onMute) {
      actions.append(this.actionButton("Mute", () => this.onMute(frame.author, this.nameOf(frame))));
    }
    node.replaceChildren(
      el("span", { class: "who" }, this.nameOf(frame)),
      el("span", { class: "muted small" }, when),
      " ", body,
      frame.edited_at ? el("span", { class: "muted small edited" }, " (edited)") : null,
      actions.childNodes.length ? actions : null,
    );
  }

  actionButton(text, handler) {
    const button = el("button", { type: "button", class: "link small" }, text);
    button.addEventListener("click", handler);
    return button;
  }

  render(frame) {
    if (this.rendered.has(frame.seq)) {
      // Already shown (a replay after reconnect): take it only if it is newer.
      this.applyChange(frame.seq, frame.version || 0, frame);
      return;
    }
    this.lastSeq = Math.max(this.lastSeq, frame.seq);
    if (this.oldest === null || frame.seq < this.oldest) this.oldest = frame.seq;
    const node = this.buildNode(frame);
    this.rendered.set(frame.seq, { node, version: frame.version || 0, frame });
    const atBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    this.insert(node, frame.seq);
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
  }

  insert(node, seq) {
    // Keep seq order: live messages go last; anything older goes before the first larger seq.
    let after = null;
    for (const [other, entry] of this.rendered) {
      if (other > seq && (after === null || other < after.seq)) after = { seq: other, node: entry.node };
    }
    if (after && after.node !== node) this.log.insertBefore(node, after.node);
    else this.log.append(node);
  }

  prependPage(messages) {
    const fresh = messages.filter((m) => !this.rendered.has(m.seq));
    if (!fresh.length) return;
    const keepFromBottom = this.log.scrollHeight - this.log.scrollTop;
    for (const m of fresh) {
      const node = this.buildNode(m);
      this.rendered.set(m.seq, { node, version: m.version || 0, frame: m });
      this.insert(node, m.seq);
      if (this.oldest === null || m.seq < this.oldest) this.oldest = m.seq;
    }
    this.log.scrollTop = this.log.scrollHeight - keepFromBottom; // the reader stays where they were
  }

  applyChange(seq, version, change) {
    const entry = this.rendered.get(seq);
    if (!entry || version < entry.version) return; // not shown, or older than what is shown
    entry.version = version;
    entry.frame = { ...entry.frame, ...change };
    if (change.deleted) entry.frame.body = "";
    this.fillNode(entry.node, entry.frame);
  }

  purge(before) {
    for (const [seq, entry] of [...this.rendered]) {
      if (new Date(entry.frame.sent_at) < before) {
        entry.node.remove();
        this.rendered.delete(seq);
      }
    }
    this.oldest = this.rendered.size ? Math.min(...this.rendered.keys()) : null;
    this.more = false; // whatever was older is gone
    this.showOlderButton();
  }

  showOlderButton() {
    this.older.hidden = !this.more;
    if (this.older.parentNode !== this.log || this.log.firstChild !== this.older) this.log.prepend(this.older);
  }

  loadOlder() {
    if (!this.more || this.loadingOlder || this.oldest === null || this.oldest <= 1) return;
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    this.loadingOlder = true;
    this.socket.send(JSON.stringify({ type: "history", space: this.space, before: this.oldest, limit: PAGE }));
  }

  // --- actions --------------------------------------------------------------------------------

  startEdit(node, frame) {
    const field = el("input", { "aria-label": "Edit message", maxlength: 4000, value: frame.body, class: "edit" });
    const save = el("button", { type: "submit" }, "Save");
    const cancel = el("button", { type: "button", class: "secondary" }, "Cancel");
    const form = el("form", { class: "edit-form" }, field, save, cancel);
    cancel.addEventListener("click", () => this.fillNode(node, this.rendered.get(frame.seq).frame));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = field.value.trim();
      if (!body) return;
      this.frame({ type: "edit", space: this.space, seq: frame.seq, body });
      this.fillNode(node, { ...this.rendered.get(frame.seq).frame }); // the 'edited' frame brings the new text
    });
    node.replaceChildren(form);
    field.focus();
  }

  remove(seq) {
    if (!confirm("Delete this message for everyone?")) return;
    this.frame({ type: "delete", space: this.space, seq });
  }

  frame(data) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(data));
    else this.setStatus("Offline — try again when the connection is back.", true);
  }

  send(text) {
    const body = text.trim();
    if (!body) return;
    const key = crypto.randomUUID();
    this.pending.set(key, body);
    this.input.value = "";
    this.transmit(key, body);
  }

  transmit(key, body) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "send", space: this.space, key, body }));
    } else {
      this.setStatus("Offline — your message will be sent when the connection is back.");
    }
  }

  scheduleRead() {
    if (this.readTimer) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      this.markRead();
    }, 1000);
  }

  markRead() {
    // Only what a person could have seen counts as read.
    if (document.visibilityState !== "visible" || this.lastSeq <= this.readSent) return;
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    this.readSent = this.lastSeq;
    this.socket.send(JSON.stringify({ type: "read", space: this.space, seq: this.lastSeq }));
  }

  typing() {
    const now = Date.now();
    if (now - this.lastTyping < 3000 || !this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    this.lastTyping = now;
    this.socket.send(JSON.stringify({ type: "typing", space: this.space }));
  }

  showTyping(account) {
    const name = this.names.get(account) || "Someone";
    clearTimeout(this.typers.get(account));
    this.setStatus(`${name} is typing…`);
    this.typers.set(account, setTimeout(() => this.setStatus("Connected"), 4000));
  }

  onClose(event) {
    if (event.code === 4401) {
      this.setStatus("Your sign-in has ended. Sign in again to keep chatting.", true);
      return;
    }
    if (event.code === 4403) {
      this.setStatus("Chat refused this page's address (origin). Open the service at its usual address.", true);
      return;
    }
    if (event.code === 4429) {
      this.setStatus("Too many messages too quickly — chat paused. Wait a moment, then reload the page.", true);
      return;
    }
    this.loadingOlder = false;
    this.setStatus("Connection lost — reconnecting…");
    setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 15000);
  }

  setStatus(text, isError = false) {
    this.status.textContent = text;
    this.status.classList.toggle("error", isError);
  }
}
