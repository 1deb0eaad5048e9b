// A space's chat over the shared websocket (/ws), following docs/realtime.md:
// subscribe with the last seq and room version seen (so deletions made while away are replayed),
// render messages in seq order, resend unacknowledged messages with the same key after a
// reconnect (the server stores each key once).
import { el } from "/static/app.js";

export class ChatRoom {
  constructor({ space, log, status, form, input, names }) {
    this.space = space;
    this.log = log;
    this.status = status;
    this.form = form;
    this.input = input;
    this.names = names || new Map();
    this.lastSeq = 0;
    this.version = 0; // highest room version seen (subscribed, message, deleted frames)
    this.pending = new Map(); // key -> body, until acknowledged
    this.rendered = new Map(); // seq -> element
    this.backoff = 500;
    this.lastTyping = 0;
    this.typers = new Map();
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
    switch (frame.type) {
      case "subscribed":
        if (frame.space === this.space) this.seeVersion(frame);
        this.setStatus("Connected");
        for (const [key, body] of this.pending) this.transmit(key, body); // resend after reconnect
        break;
      case "message":
        if (frame.space === this.space) {
          this.render(frame);
          this.seeVersion(frame);
        }
        break;
      case "ack":
        this.pending.delete(frame.key);
        break;
      case "deleted": {
        if (frame.space !== this.space) break;
        this.seeVersion(frame);
        const node = this.rendered.get(frame.seq);
        if (node) {
          node.classList.add("deleted");
          node.replaceChildren("This message was deleted.");
        }
        break;
      }
      case "typing":
        if (frame.space === this.space) this.showTyping(frame.account);
        break;
      case "presence":
        if (frame.space === this.space) this.setStatus(`Connected · ${frame.online.length} online`);
        break;
      case "error":
        this.setStatus(frame.message || "Something went wrong.", true);
        if (frame.ref) this.pending.delete(frame.ref); // a refused send is not retried
        break;
      default:
        break;
    }
  }

  seeVersion(frame) {
    if (typeof frame.version === "number") this.version = Math.max(this.version, frame.version);
  }

  render(frame) {
    if (frame.seq <= this.lastSeq && this.rendered.has(frame.seq)) return; // already shown
    this.lastSeq = Math.max(this.lastSeq, frame.seq);
    const who = this.names.get(frame.author) || "Member";
    const when = new Date(frame.sent_at).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
    const node = frame.deleted
      ? el("div", { class: "msg deleted", "data-seq": frame.seq }, "This message was deleted.")
      : el("div", { class: "msg", "data-seq": frame.seq },
          el("span", { class: "who" }, who), el("span", { class: "muted small" }, when), " ", frame.body);
    this.rendered.set(frame.seq, node);
    const atBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    this.log.append(node);
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
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
    this.setStatus("Connection lost — reconnecting…");
    setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 15000);
  }

  setStatus(text, isError = false) {
    this.status.textContent = text;
    this.status.classList.toggle("error", isError);
  }
}
