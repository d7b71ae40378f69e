// The connections page: every WhatsApp connection with its live status (session.updated events);
// a waiting QR code is shown as a PNG rendered by the server (fetched with the Bearer header),
// with a countdown and "new QR"; start and logout buttons.
// Events are fresher than REST answers that crossed them: an answer is dropped (or the list
// fetched again) when an event arrived while its request was in flight.

import * as api from "./api.js";
import { byId, h, toast } from "./dom.js";
import { errorText, has, t } from "./i18n.js";

const QR_LIFETIME_S = 20;  // WhatsApp Web replaces an unscanned code about every 20 s
const STARTABLE = new Set(["DISCONNECTED", "TIMEOUT", "CONFLICT", "UNPAIRED", "LOGOUT"]);

export class ConnectionsPage {
  constructor() {
    this.root = byId("connections");
    this.rows = new Map();
    this.qrs = new Map();  // id → {text, img, url, shownAt}
    this.loaded = false;
    this.events = 0;  // session.updated events seen so far
    setInterval(() => this.tick(), 1000);
  }

  async load() {
    const seen = this.events;
    const rows = await api.get("/whatsapp");
    this.rows = new Map(rows.map((row) => [row.id, row]));
    this.loaded = true;
    this.render();
    if (this.events !== seen) this.reload();
  }

  reload() {
    if (this.loaded) this.load().catch(() => {});
  }

  onSession(data) {
    this.events += 1;
    const row = this.rows.get(data.id);
    if (!row) {
      this.reload();
      return;
    }
    this.rows.set(data.id, { ...row, ...data });
    this.render();
  }

  render() {
    const rows = [...this.rows.values()].sort((a, b) => a.id - b.id);
    this.root.replaceChildren(...rows.map((row) => this.card(row)));
    if (!rows.length) this.root.append(h("p", { class: "empty", text: t("connections.empty") }));
  }

  card(row) {
    const status = row.status || "DISCONNECTED";
    const label = has(`session.${status}`) ? t(`session.${status}`) : status;
    const button = (kind, action) => h("button", { type: "button", class: kind,
      text: t(`connections.${kind}`), dataset: { action: kind },
      onclick: () => this.command(row.id, action) });
    return h("article", { class: "connection", dataset: { id: String(row.id), status,
      testid: "connection" } },
    h("header", {},
      h("h3", { text: row.name }),
      h("span", { class: "session-status", dataset: { status }, text: label })),
    row.number && h("p", { class: "number", text: t("connections.number", { number: row.number }) }),
    status === "qrcode" && row.qrcode && this.qrBlock(row),
    h("div", { class: "buttons" },
      STARTABLE.has(status) && button("start", "POST"),
      (status === "qrcode" || STARTABLE.has(status)) && button("newQr", "PUT"),
      status !== "DISCONNECTED" && button("logout", "DELETE")));
  }

  qrBlock(row) {
    let qr = this.qrs.get(row.id);
    if (!qr || qr.text !== row.qrcode) {
      if (qr && qr.url) URL.revokeObjectURL(qr.url);
      const img = h("img", { class: "qr-image", alt: t("connections.qrAlt", { name: row.name }),
        width: "240", height: "240", dataset: { testid: "qr" } });
      qr = { text: row.qrcode, img, url: null, shownAt: Date.now() };
      this.qrs.set(row.id, qr);
      const current = qr;
      api.fetchBlob(`/whatsapp/${row.id}/qrcode.png`).then((blob) => {
        current.url = URL.createObjectURL(blob);
        current.img.src = current.url;
      }, () => {});
    }
    qr.countdown = h("p", { class: "countdown" });
    this.paintCountdown(qr);
    return h("div", { class: "qr" }, qr.img, h("p", { text: t("connections.scan") }), qr.countdown);
  }

  tick() {
    for (const qr of this.qrs.values()) if (qr.countdown) this.paintCountdown(qr);
  }

  paintCountdown(qr) {
    const left = Math.ceil(QR_LIFETIME_S - (Date.now() - qr.shownAt) / 1000);
    qr.countdown.textContent = left > 0 ? t("connections.expires", { seconds: left })
      : t("connections.expired");
    qr.img.classList.toggle("expired", left <= 0);
  }

  async command(id, method) {
    try {
      const seen = this.events;
      const row = await api.request(method, `/whatsappsession/${id}`);
      if (this.events !== seen) return;
      this.rows.set(id, { ...this.rows.get(id), ...row });
      this.render();
    } catch (error) {
      toast(errorText(error), "error");
    }
  }
}
