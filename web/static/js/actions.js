// Ticket actions (PUT /tickets/<id>): accept, transfer, close, reopen, and the transfer dialog.

import * as api from "./api.js";
import { byId, h } from "./dom.js";
import { t } from "./i18n.js";

/** The actions a ticket in this status offers, in display order. */
export function actionsFor(ticket) {
  if (ticket.status === "pending") return ["accept", "transfer", "close"];
  if (ticket.status === "open") return ["transfer", "close"];
  return ["reopen"];
}

/** Run one action; resolves with the updated ticket, or null when the user cancelled. */
export async function runAction(kind, ticket, dialog) {
  const path = `/tickets/${ticket.id}`;
  if (kind === "accept" || kind === "reopen") return api.put(path, { status: "open" });
  if (kind === "close") return api.put(path, { status: "closed" });
  const choice = await dialog.choose(ticket);
  return choice ? api.put(path, choice) : null;
}

export function actionButtons(ticket, onAction) {
  return actionsFor(ticket).map((kind) => h("button", {
    type: "button", class: `action ${kind}`, text: t(`actions.${kind}`),
    dataset: { action: kind }, onclick: () => onAction(kind),
  }));
}

/** The transfer dialog: pick an attendant and/or a queue. */
export class TransferDialog {
  /** users(): [{id, name}], queues(): [{id, queue}] (current lists). */
  constructor({ users, queues }) {
    Object.assign(this, { users, queues });
    this.dialog = byId("transfer-dialog");
    this.userSelect = byId("transfer-user");
    this.queueSelect = byId("transfer-queue");
  }

  /** Resolves with {userId?, queueId?} or null when cancelled. */
  choose(ticket) {
    const option = (value, text, selected) => h("option", { value, text, selected });
    this.userSelect.replaceChildren(option("", t("transfer.keep"), true),
      option("none", t("transfer.nobody")),
      ...this.users().map((u) => option(String(u.id), u.name, false)));
    this.queueSelect.replaceChildren(option("", t("transfer.keep"), true),
      option("none", t("transfer.noQueue")),
      ...this.queues().map((q) => option(String(q.id), q.queue, false)));
    this.dialog.dataset.ticket = String(ticket.id);
    this.dialog.returnValue = "";
    this.dialog.showModal();
    return new Promise((resolve) => {
      this.dialog.addEventListener("close", () => {
        if (this.dialog.returnValue !== "ok") return resolve(null);
        const choice = {};
        const pick = (select) => (select.value === "none" ? null : Number(select.value));
        if (this.userSelect.value) choice.userId = pick(this.userSelect);
        if (this.queueSelect.value) choice.queueId = pick(this.queueSelect);
        return resolve(Object.keys(choice).length ? choice : null);
      }, { once: true });
    });
  }
}
