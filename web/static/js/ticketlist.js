// The left column: tabs with counts, the "mine / all" filter (admins), search, and the list.

import { byId, debounce, h } from "./dom.js";
import { formatTime, t } from "./i18n.js";
import { STATUSES } from "./store.js";

export class TicketList {
  /** store: TicketStore; users: Map id → user; onSelect(ticketId). */
  constructor({ store, users, onSelect }) {
    Object.assign(this, { store, users, onSelect });
    this.tab = "pending";
    this.selected = null;
    this.scheduled = false;
    this.el = byId("ticket-list");
    this.more = byId("tickets-more");
    store.onChange(() => this.schedule());
    for (const status of STATUSES) {
      byId(`tab-${status}`).addEventListener("click", () => this.showTab(status));
    }
    this.more.addEventListener("click", () => store.loadMore(this.tab));
    const search = byId("ticket-search");
    const runSearch = debounce(() => store.setSearch(search.value), 300);
    search.addEventListener("input", runSearch);
    const filter = byId("owner-filter");
    filter.hidden = store.me.profile !== "admin";
    filter.querySelectorAll("input[name=owner]").forEach((input) => {
      input.checked = (input.value === "all") === store.showAll;
      input.addEventListener("change", () => store.setShowAll(input.value === "all"));
    });
  }

  showTab(status) {
    this.tab = status;
    this.render();
  }

  select(ticketId) {
    this.selected = ticketId;
    this.render();
  }

  /** Coalesce bursts of events into one render. */
  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      this.render();
    }, 16);
  }

  render() {
    for (const status of STATUSES) {
      const tab = byId(`tab-${status}`);
      tab.setAttribute("aria-selected", String(status === this.tab));
      byId(`count-${status}`).textContent = String(Math.max(0, this.store.counts[status]));
    }
    const tickets = this.store.list(this.tab);
    this.el.replaceChildren(...tickets.map((ticket) => this.item(ticket)));
    if (!tickets.length) this.el.append(h("li", { class: "empty", text: t("tickets.empty") }));
    this.more.hidden = !this.store.hasMore[this.tab];
  }

  item(ticket) {
    const contact = ticket.contact || {};
    const name = contact.name || contact.number || "?";
    const user = ticket.userId ? this.users.get(ticket.userId) : null;
    return h("li", {
      class: "ticket", role: "button", tabindex: "0",
      "aria-selected": String(ticket.id === this.selected),
      dataset: { id: String(ticket.id), status: ticket.status, testid: "ticket" },
      onclick: () => this.onSelect(ticket.id),
      onkeydown: (event) => { if (event.key === "Enter") this.onSelect(ticket.id); },
    },
    h("div", { class: "avatar", text: name.trim().charAt(0).toUpperCase() || "?" }),
    h("div", { class: "ticket-main" },
      h("div", { class: "row" },
        h("span", { class: "name", text: name }),
        h("span", { class: "time", text: formatTime(ticket.lastMessageAt) })),
      h("div", { class: "row" },
        h("span", { class: "preview", text: ticket.lastMessage || "" }),
        ticket.unreadMessages > 0 && h("span", {
          class: "unread", text: String(ticket.unreadMessages),
          title: t("tickets.unread", { count: ticket.unreadMessages }) })),
      h("div", { class: "row sub" },
        h("span", { class: "number", text: contact.number || "" }),
        user && h("span", { class: "assignee", text: user.name }))));
  }
}
