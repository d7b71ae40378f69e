// The tickets the page knows, kept current by REST loads and socket events.
//
// Tickets are merged by id; a version older than the one held (by updatedAt) is ignored, so a
// late REST answer never undoes a newer event. Tab counts start from the server's counts and
// move with each known ticket's status/visibility change; a change the page cannot account for
// (an unknown ticket, any change while a search is active, or an event applied while a load was
// in flight, whose counts may predate it) schedules a recount through REST.

import * as api from "./api.js";
import { debounce } from "./dom.js";

export const STATUSES = ["pending", "open", "closed"];

function stamp(ticket) {
  return ticket.updatedAt ? Date.parse(ticket.updatedAt) : 0;
}

export class TicketStore {
  /** me: the user ({id, profile}). */
  constructor(me) {
    this.me = me;
    this.tickets = new Map();
    this.counts = { pending: 0, open: 0, closed: 0 };
    this.hasMore = { pending: false, open: false, closed: false };
    this.pages = { pending: 1, open: 1, closed: 1 };
    this.showAll = me.profile === "admin";
    this.search = "";
    this.matches = new Set();  // ids the server matched for the current search
    this.listeners = new Set();
    this.recount = debounce(() => this.load().catch(() => {}), 400);
    this.generation = 0;
    this.loading = 0;
    this.changedWhileLoading = false;
  }

  onChange(fn) {
    this.listeners.add(fn);
  }

  emit() {
    this.listeners.forEach((fn) => fn());
  }

  get(id) {
    return this.tickets.get(id);
  }

  /** Whether the current filter ("mine"/"all", search) shows this ticket. */
  visible(ticket) {
    if (!this.showAll && ticket.userId !== this.me.id
        && !(ticket.status === "pending" && ticket.userId == null)) return false;
    if (!this.search) return true;
    if (this.matches.has(ticket.id)) return true;
    const needle = this.search.toLowerCase();
    const contact = ticket.contact || {};
    return [contact.name, contact.number, ticket.lastMessage]
      .some((text) => (text || "").toLowerCase().includes(needle));
  }

  /** Merge one ticket from an event. `created`: it is new to the server too. */
  apply(ticket, { created = false } = {}) {
    const prev = this.tickets.get(ticket.id);
    if (prev && stamp(ticket) < stamp(prev)) return prev;
    const next = { ...prev, ...ticket };
    this.tickets.set(ticket.id, next);
    if (this.loading) this.changedWhileLoading = true;
    if (this.search) {
      this.recount();
    } else if (prev) {
      if (this.visible(prev)) this.counts[prev.status] -= 1;
      if (this.visible(next)) this.counts[next.status] += 1;
    } else if (created) {
      if (this.visible(next)) this.counts[next.status] += 1;
    } else {
      this.recount();
    }
    this.emit();
    return next;
  }

  /** A ticket from a REST answer: merged without touching the counts. */
  merge(ticket) {
    const prev = this.tickets.get(ticket.id);
    if (prev && stamp(ticket) < stamp(prev)) return prev;
    const next = { ...prev, ...ticket };
    this.tickets.set(ticket.id, next);
    return next;
  }

  query(status, page) {
    const params = new URLSearchParams({ status, pageNumber: String(page),
      showAll: String(this.showAll) });
    if (this.search) params.set("searchParam", this.search);
    return api.get(`/tickets?${params}`);
  }

  /** Reload the first page of every tab and the counts (initial load, resync, filter change). */
  async load() {
    const generation = ++this.generation;
    let answers;
    this.loading += 1;
    try {
      answers = await Promise.all(STATUSES.map((status) => this.query(status, 1)));
    } finally {
      this.loading -= 1;
    }
    if (generation !== this.generation) return;  // a newer load started meanwhile
    if (this.changedWhileLoading) {  // the counts may predate an event already applied
      this.changedWhileLoading = false;
      this.recount();
    }
    if (this.search) this.matches = new Set();
    answers.forEach((answer, index) => {
      const status = STATUSES[index];
      this.counts[status] = answer.count;
      this.hasMore[status] = answer.hasMore;
      this.pages[status] = 1;
      answer.tickets.forEach((ticket) => {
        this.merge(ticket);
        if (this.search) this.matches.add(ticket.id);
      });
    });
    this.emit();
  }

  async loadMore(status) {
    const page = this.pages[status] + 1;
    const answer = await this.query(status, page);
    this.pages[status] = page;
    this.hasMore[status] = answer.hasMore;
    answer.tickets.forEach((ticket) => {
      this.merge(ticket);
      if (this.search) this.matches.add(ticket.id);
    });
    this.emit();
  }

  /** A tab's tickets: unread first, then the most recent activity (Izing's order). */
  list(status) {
    return [...this.tickets.values()]
      .filter((ticket) => ticket.status === status && this.visible(ticket))
      .sort((a, b) => (b.unreadMessages > 0) - (a.unreadMessages > 0)
        || (b.lastMessageAt || 0) - (a.lastMessageAt || 0) || b.id - a.id);
  }

  setShowAll(showAll) {
    this.showAll = showAll;
    return this.load();
  }

  setSearch(text) {
    this.search = text.trim();
    this.matches = new Set();
    return this.load();
  }
}
