// The conversation pane: header with the ticket's actions, the messages, the composer.
//
// Messages are held by id and merged (a version older than the one held, by updatedAt, is
// ignored). A sent message first shows as an optimistic bubble; when POST /messages answers with
// the stored id, that bubble is replaced by the stored message. Socket events for our own new
// messages that race ahead of the POST answer are parked until it comes, then matched on the id:
// one bubble per message, whatever the order.

import * as api from "./api.js";
import { actionButtons, runAction, TransferDialog } from "./actions.js";
import { bubble } from "./bubble.js";
import { Composer } from "./composer.js";
import { byId, toast } from "./dom.js";
import { errorText, t } from "./i18n.js";

const NEAR_BOTTOM_PX = 120;
const NEAR_TOP_PX = 60;

function stamp(item) {
  return item.updatedAt ? Date.parse(item.updatedAt) : 0;
}

// createdAt has millisecond precision; messages of the same millisecond keep the server's order
// through `_seq`: page p's i-th message gets -p*PAGE_SPAN + i, live ones an increasing count.
const PAGE_SPAN = 100_000;

function before(a, b) {
  const ta = Date.parse(a.createdAt);
  const tb = Date.parse(b.createdAt);
  return ta < tb || (ta === tb && a._seq < b._seq);
}

export class Conversation {
  /** store: TicketStore; users: Map; queues(): list; me: user; media: MediaCache;
   * onAction(ticket): after one of this user's actions. */
  constructor({ store, users, queues, me, media, onAction }) {
    Object.assign(this, { store, users, queues, me, media, onAction });
    this.pane = byId("conversation-pane");
    this.list = byId("messages");
    this.older = byId("messages-older");
    this.dialog = new TransferDialog({ users: () => [...users.values()], queues });
    this.composer = new Composer({ onSend: (payload) => this.send(payload) });
    this.list.addEventListener("scroll", () => {
      if (this.list.scrollTop < NEAR_TOP_PX) this.loadOlder();
    });
    this.ctx = {
      media,
      lookup: (id) => this.messages.get(id),
      contactName: "",
      onReply: (message) => this.composer.replyTo(message),
      onRetry: (message) => this.retry(message),
    };
    this.ticketId = null;
    this.generation = 0;
    this.tempCount = 0;
    this.liveSeq = 0;
    this.clear();
  }

  clear() {
    this.messages = new Map();
    this.order = [];
    this.elements = new Map();
    this.parked = new Map();
    this.inflight = 0;
    this.page = 1;
    this.hasMore = false;
    this.loadingOlder = false;
    this.list.replaceChildren(this.older);
    this.older.hidden = true;
    this.media.clear();
  }

  async open(ticketId) {
    if (ticketId === this.ticketId) return;
    this.generation += 1;
    this.ticketId = ticketId;
    this.clear();
    this.composer.reset();
    byId("conversation-empty").hidden = true;
    this.pane.hidden = false;
    this.renderHeader();
    await this.loadFirst(true);
    this.markRead();
  }

  /** The attendant is looking at it: unread to 0 on the server (every screen follows). */
  markRead() {
    const ticket = this.store.get(this.ticketId);
    if (!ticket || !ticket.unreadMessages || this.readPending) return;
    this.readPending = true;
    api.post(`/tickets/${this.ticketId}/read`)
      .then((answer) => this.store.merge(answer))
      .catch(() => {})
      .finally(() => { this.readPending = false; });
  }

  /** After a resync: fetch the newest page again and merge it. */
  reload() {
    if (this.ticketId !== null) this.loadFirst(false).catch(() => {});
  }

  async loadFirst(scroll) {
    const generation = this.generation;
    const ticketId = this.ticketId;
    const answer = await api.get(`/messages/${ticketId}?pageNumber=1`);
    if (generation !== this.generation) return;
    this.store.merge(answer.ticket);
    this.renderHeader();
    if (scroll) this.hasMore = answer.hasMore;
    const stick = scroll || this.nearBottom();
    answer.messages.forEach((message, i) => this.upsert(message, -PAGE_SPAN + i));
    if (stick) this.scrollToBottom();
    this.pane.dataset.loaded = String(ticketId);
    if (this.list.scrollHeight <= this.list.clientHeight) this.loadOlder();
  }

  async loadOlder() {
    if (!this.hasMore || this.loadingOlder || this.ticketId === null) return;
    this.loadingOlder = true;
    this.older.hidden = false;
    const generation = this.generation;
    try {
      const page = this.page + 1;
      const answer = await api.get(`/messages/${this.ticketId}?pageNumber=${page}`);
      if (generation !== this.generation) return;
      const height = this.list.scrollHeight;
      const top = this.list.scrollTop;
      answer.messages.forEach((message, i) => this.upsert(message, -page * PAGE_SPAN + i));
      this.list.scrollTop = top + (this.list.scrollHeight - height);
      this.page = page;
      this.hasMore = answer.hasMore;
    } finally {
      if (generation === this.generation) {
        this.loadingOlder = false;
        this.older.hidden = true;
      }
    }
  }

  // --- live updates -------------------------------------------------------------------------

  onTicket(ticket) {
    if (ticket.id === this.ticketId) this.renderHeader();
  }

  onMessage(message) {
    if (message.ticketId !== this.ticketId) return;
    const ours = message.fromMe && message.userId === this.me.id;
    if (this.parked.has(message.id) || (this.inflight > 0 && ours
        && !this.messages.has(message.id))) {
      this.park(message);
      return;
    }
    const stick = this.nearBottom();
    this.upsert(message);
    if (stick) this.scrollToBottom();
    if (!message.fromMe && document.visibilityState === "visible") this.markRead();
  }

  park(message) {
    const prev = this.parked.get(message.id);
    if (!prev || stamp(message) >= stamp(prev)) this.parked.set(message.id, { ...prev, ...message });
  }

  /** Merge one stored message into the pane (insert in time order, or replace its bubble).
   * `seq` orders messages of the same millisecond (see PAGE_SPAN); live ones omit it. */
  upsert(message, seq) {
    const prev = this.messages.get(message.id);
    if (prev && stamp(message) < stamp(prev)) return;
    const next = { ...prev, ...message };
    if (!prev) next._seq = seq ?? ++this.liveSeq;
    if (prev && prev.status === next.status && prev.ack > next.ack) next.ack = prev.ack;
    this.messages.set(next.id, next);
    const el = bubble(next, this.ctx);
    const old = this.elements.get(next.id);
    this.elements.set(next.id, el);
    if (old) {
      old.replaceWith(el);
      return;
    }
    let index = this.order.length;
    while (index > 0 && before(next, this.messages.get(this.order[index - 1]))) index -= 1;
    this.order.splice(index, 0, next.id);
    const after = this.order[index + 1];
    const anchor = after ? this.elements.get(after) : this.list.querySelector(".optimistic");
    this.list.insertBefore(el, anchor || null);
  }

  // --- sending --------------------------------------------------------------------------------

  async send({ body, file, quotedMsgId }) {
    const ticketId = this.ticketId;
    const temp = { id: `tmp-${++this.tempCount}`, optimistic: true, fromMe: true, body, ack: 0,
      status: "pending", createdAt: new Date().toISOString(), quotedMsgId,
      localFile: file ? file.name : null };
    const el = bubble(temp, this.ctx);
    this.list.append(el);
    this.scrollToBottom();
    this.inflight += 1;
    try {
      let answer;
      if (file) {
        const form = new FormData();
        form.append("medias", file);
        if (body) form.append("body", body);
        if (quotedMsgId) form.append("quotedMsgId", quotedMsgId);
        answer = await api.request("POST", `/messages/${ticketId}`, { form });
      } else {
        answer = await api.post(`/messages/${ticketId}`, { body, quotedMsgId });
      }
      el.remove();
      if (ticketId === this.ticketId) {
        for (const stored of answer.messages || [answer]) {
          const raced = this.parked.get(stored.id);
          this.parked.delete(stored.id);
          this.upsert(stored);
          if (raced) this.upsert(raced);
        }
        this.scrollToBottom();
      }
    } catch (error) {
      const failed = bubble({ ...temp, status: "failed", ack: -1 }, {
        ...this.ctx,
        onRetry: () => {
          failed.remove();
          this.send({ body, file, quotedMsgId });
        },
      });
      el.replaceWith(failed);
      toast(errorText(error), "error");
    } finally {
      this.inflight -= 1;
      if (this.inflight === 0) this.flushParked();
    }
  }

  /** Our messages sent from elsewhere (another tab) wait no longer than our own sends. */
  flushParked() {
    const parked = [...this.parked.values()];
    this.parked.clear();
    parked.forEach((message) => this.upsert(message));
  }

  async retry(message) {
    try {
      this.upsert(await api.post(`/messages/${message.ticketId}/${message.id}/retry`));
    } catch (error) {
      toast(errorText(error), "error");
    }
  }

  // --- header and actions -----------------------------------------------------------------------

  renderHeader(force = false) {
    const ticket = this.store.get(this.ticketId);
    if (!ticket) return;
    const contact = ticket.contact || {};
    // rebuilt only when it changes: a click on an action must not meet a replaced button
    const signature = JSON.stringify([ticket.id, ticket.status, ticket.userId, ticket.queueId,
      contact.name, contact.number, this.users.size, this.queues().length]);
    if (!force && signature === this.headerSignature) return;
    this.headerSignature = signature;
    this.ctx.contactName = contact.name || contact.number || "";
    byId("conv-name").textContent = contact.name || contact.number || "";
    byId("conv-number").textContent = contact.number || "";
    const status = byId("conv-status");
    status.textContent = t(`tabs.${ticket.status}`);
    status.dataset.status = ticket.status;
    const user = ticket.userId ? this.users.get(ticket.userId) : null;
    byId("conv-assignee").textContent = user ? t("conversation.assignedTo", { name: user.name })
      : (ticket.userId ? t("conversation.assignedTo", { name: `#${ticket.userId}` })
        : t("conversation.unassigned"));
    const queue = ticket.queueId ? this.queues().find((q) => q.id === ticket.queueId) : null;
    byId("conv-queue").textContent = queue ? t("conversation.queue", { name: queue.queue }) : "";
    byId("conv-actions").replaceChildren(...actionButtons(ticket, (kind) => this.act(kind)));
    this.composer.setTicket(ticket);
  }

  async act(kind) {
    const ticket = this.store.get(this.ticketId);
    try {
      const updated = await runAction(kind, ticket, this.dialog);
      if (!updated) return;
      this.store.apply(updated);
      this.renderHeader();
      this.onAction(this.store.get(updated.id));
    } catch (error) {
      toast(errorText(error), "error");
    }
  }

  /** Re-render texts after a language change. */
  refresh() {
    if (this.ticketId === null) return;
    this.renderHeader(true);
    for (const id of this.order) this.upsertRender(id);
  }

  upsertRender(id) {
    const el = bubble(this.messages.get(id), this.ctx);
    this.elements.get(id).replaceWith(el);
    this.elements.set(id, el);
  }

  nearBottom() {
    const list = this.list;
    return list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom() {
    this.list.scrollTop = this.list.scrollHeight;
  }
}
