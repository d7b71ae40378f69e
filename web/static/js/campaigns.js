// The campaigns page (admins only): the tenant's campaigns with their status and progress, kept
// live by campaign.updated events (the same JSON as GET /campaigns/<id>); a form that creates a
// draft and uploads its contacts (a typed list and/or a CSV file), with the report of the rows
// the server rejected; the same form edits a draft or paused campaign (PUT /campaigns/<id>);
// start / pause / resume / cancel / delete per campaign.
// Events are fresher than REST answers that crossed them: each campaign remembers the number of
// the last event that touched it, and an answer whose request started before that event is
// ignored for that campaign.

import * as api from "./api.js";
import { byId, h, toast } from "./dom.js";
import { errorText, has, language, t } from "./i18n.js";

const ACTIONS = {
  draft: ["start", "edit", "contacts", "delete"],
  running: ["pause", "contacts", "cancel"],
  paused: ["resume", "edit", "contacts", "cancel", "delete"],
  finished: ["delete"],
  cancelled: ["delete"],
};
const CONFIRM = new Set(["cancel", "delete"]);
const CHUNK = 5000;          // typed contacts per request (the server takes up to 50 000)
const MAX_REJECTED_SHOWN = 200;
const MAX_NAME = 255;

/** Cumulative counters from the server's "each recipient once, in its current state" ones: a
 * read message was also delivered and sent; a reply means it reached the phone. */
export function funnel(counters = {}) {
  const n = (key) => Number(counters[key] || 0);
  const replied = n("replied");
  const read = n("read") + replied;
  const delivered = n("delivered") + read;
  const sent = n("sent") + delivered;
  return { total: n("total"), pending: n("pending") + n("queued"), sent, delivered, read,
    replied, failed: n("failed"), optedOut: n("optedOut"), cancelled: n("cancelled") };
}

/** "5511…,Maria" lines → {items: [{number, name?}], lines: [line number of each item]}. */
export function parseNumbers(text) {
  const items = [];
  const lines = [];
  text.split(/\r\n|\r|\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (!trimmed) return;
    const cut = trimmed.search(/[,;\t]/);
    const number = (cut < 0 ? trimmed : trimmed.slice(0, cut)).trim();
    const name = cut < 0 ? "" : trimmed.slice(cut + 1).trim().slice(0, MAX_NAME);
    items.push(name ? { number, name } : { number });
    lines.push(index + 1);
  });
  return { items, lines };
}

/** The server's reason for a rejected row (by its `code`), in the user's language. */
function rejectionText(row) {
  if (row.code === "ERR_EMPTY_NUMBER") return t("campaigns.reject.empty");
  if (row.code === "ERR_NOT_A_NUMBER") return t("campaigns.reject.notNumber");
  if (row.code === "ERR_INVALID_NUMBER") return t("campaigns.reject.invalid");
  if (row.code === "ERR_NUMBER_LENGTH") {
    return t("campaigns.reject.digits", { min: row.min, max: row.max, got: row.got });
  }
  return String(row.error || "");
}

/** Add a typed list (in chunks) to campaign `id`; the rows of the report are textarea lines. */
async function addTyped(id, text) {
  const { items, lines } = parseNumbers(text);
  const report = { received: 0, added: 0, duplicates: 0, rejected: [] };
  for (let start = 0; start < items.length; start += CHUNK) {
    const part = await api.post(`/campaigns/${id}/contacts`,
      { contacts: items.slice(start, start + CHUNK) });
    report.received += part.received;
    report.added += part.added;
    report.duplicates += part.duplicates;
    for (const row of part.rejected) {
      report.rejected.push({ ...row, row: lines[start + row.row - 1] ?? row.row });
    }
  }
  return report;
}

async function addCsv(id, file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return api.request("POST", `/campaigns/${id}/contacts`, { form });
}

/** Typed list and/or CSV file → [{kind: "typed" | "csv", source, report}]. A part that fails
 * is a toast and is missing from the answer; the other part still goes. */
async function addContacts(id, text, file) {
  const reports = [];
  if (text.trim()) {
    try {
      reports.push({ kind: "typed", source: t("campaigns.source.typed"),
        report: await addTyped(id, text) });
    } catch (error) {
      toast(errorText(error), "error");
    }
  }
  if (file) {
    try {
      reports.push({ kind: "csv", source: t("campaigns.source.csv", { name: file.name }),
        report: await addCsv(id, file) });
    } catch (error) {
      toast(errorText(error), "error");
    }
  }
  return reports;
}

async function uploadMedia(id, file) {
  const form = new FormData();
  form.append("media", file, file.name);
  return api.request("POST", `/campaigns/${id}/media`, { form });
}

/** The report of one or more uploads: a summary line each and a table of the rejected rows. */
function reportView(reports) {
  return reports.map(({ source, report }) => {
    const rejected = report.rejected || [];
    const shown = rejected.slice(0, MAX_REJECTED_SHOWN);
    return h("div", { class: "report", dataset: { testid: "contacts-report" } },
      h("p", { class: "report-summary", text: t("campaigns.report.summary", {
        source, received: report.received, added: report.added,
        duplicates: report.duplicates, rejected: rejected.length }) }),
      shown.length > 0 && h("table", { class: "rejected" },
        h("thead", {}, h("tr", {},
          h("th", { text: t("campaigns.report.row") }),
          h("th", { text: t("campaigns.report.value") }),
          h("th", { text: t("campaigns.report.error") }))),
        h("tbody", {}, shown.map((row) => h("tr", { dataset: { testid: "rejected-row" } },
          h("td", { text: String(row.row) }),
          h("td", { class: "value", text: row.value }),
          h("td", { text: rejectionText(row) }))))),
      rejected.length > shown.length && h("p", { class: "muted",
        text: t("campaigns.report.more", { count: rejected.length - shown.length }) }));
  });
}

function statusLabel(status) {
  return has(`campaignStatus.${status}`) ? t(`campaignStatus.${status}`) : status;
}

// Campaign times are the company's: the sending window is in the tenant's time zone (setting
// "timezone"), so every time on this page is shown and typed in that zone too (undefined until
// the settings load: the browser's zone).

/** The wall clock of `date` in `zone`: {year, month, day, hour, minute, second} as numbers. */
function wallClock(date, zone) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23",
    year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric",
    second: "numeric" }).formatToParts(date);
  const get = (type) => Number(parts.find((part) => part.type === type).value);
  return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour"),
    minute: get("minute"), second: get("second") };
}

/** A campaign moment in `zone`: "14:05" today, "28/11 14:05" another day, with the year when
 * it is not this year's (a start time may be far ahead). */
function when(value, zone) {
  const date = new Date(value);
  if (!value || Number.isNaN(date.getTime())) return "";
  const then = wallClock(date, zone);
  const now = wallClock(new Date(), zone);
  // a 24-hour clock in every language, like the window's "HH:MM" beside it on the card
  const options = { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (then.year !== now.year || then.month !== now.month || then.day !== now.day) {
    Object.assign(options, { day: "2-digit", month: "2-digit" });
  }
  if (then.year !== now.year) options.year = "numeric";
  return new Intl.DateTimeFormat(language(), options).format(date);
}

/** An ISO instant → the "YYYY-MM-DDTHH:MM" a datetime-local input shows, in `zone`. */
function localInput(value, zone) {
  const date = new Date(value);
  if (!value || Number.isNaN(date.getTime())) return "";
  const c = wallClock(date, zone);
  const pad = (n) => String(n).padStart(2, "0");
  return `${c.year}-${pad(c.month)}-${pad(c.day)}T${pad(c.hour)}:${pad(c.minute)}`;
}

/** "YYYY-MM-DDTHH:MM" typed as a wall clock in `zone` → an ISO instant (in a DST gap or
 * overlap, the zone's offset before the change). */
function fromLocalInput(text, zone) {
  const [day, time] = text.split("T");
  const [year, month, date] = day.split("-").map(Number);
  const [hour, minute] = time.split(":").map(Number);
  const wall = Date.UTC(year, month - 1, date, hour, minute);
  const offset = (instant) => {
    const c = wallClock(new Date(instant), zone);
    return Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second) - instant;
  };
  const first = wall - offset(wall);
  return new Date(wall - offset(first)).toISOString();
}

/** Seconds as the user's language writes them ("1,5" in Portuguese, "1.5" in English). */
function seconds(value) {
  return new Intl.NumberFormat(language(), { maximumFractionDigits: 1 }).format(value);
}

/** One campaign on screen. Built once; update() changes it in place, so a button being clicked
 * is not swapped under the pointer by the 4-a-second progress events. */
class CampaignCard {
  constructor(page) {
    this.page = page;
    this.name = h("h3", { class: "campaign-name" });
    this.chip = h("span", { class: "chip campaign-status" });
    this.connection = h("span", { class: "campaign-connection muted" });
    this.meta = h("p", { class: "campaign-meta muted" });
    this.message = h("p", { class: "campaign-message" });
    this.segments = ["reached", "failed", "skipped"]
      .map((kind) => h("span", { class: `seg ${kind}` }));
    this.bar = h("div", { class: "progress", role: "progressbar", "aria-valuemin": "0" },
      ...this.segments);
    this.label = h("p", { class: "progress-label" });
    this.counters = h("ul", { class: "counters" });
    this.buttons = h("div", { class: "buttons" });
    this.buttonsKey = null;
    this.el = h("article", { class: "campaign", dataset: { testid: "campaign" } },
      h("header", {}, h("div", { class: "campaign-title" }, this.name, this.chip),
        this.connection),
      this.meta, this.message, this.bar, this.label, this.counters, this.buttons);
  }

  update(row, busy) {
    const status = row.status;
    Object.assign(this.el.dataset, { id: String(row.id), status });
    this.name.textContent = row.name;
    this.chip.textContent = statusLabel(status);
    this.chip.dataset.status = status;
    this.connection.textContent = this.page.connectionName(row.whatsappId);
    this.meta.textContent = this.metaText(row);
    const variants = [row.message2, row.message3].filter(Boolean).length;
    this.message.textContent = row.message1 || "";
    this.message.title = [row.message1, row.message2, row.message3].filter(Boolean).join("\n—\n");
    this.message.dataset.variants = variants
      ? t("campaigns.variants", { count: variants + 1 }) : "";
    this.paintProgress(funnel(row.counters));
    const key = `${status}|${busy}|${this.page.languageStamp}`;
    if (key !== this.buttonsKey) {
      this.buttonsKey = key;
      this.buttons.replaceChildren(...(ACTIONS[status] || []).map((action) =>
        h("button", { type: "button", class: action === "start" || action === "resume"
          ? `primary ${action}` : action, dataset: { action }, disabled: busy,
        text: t(`campaigns.action.${action}`),
        onclick: () => this.page.command(row.id, action) })));
    }
  }

  metaText(row) {
    const parts = [];
    const at = (value) => when(value, this.page.zone);
    if (row.finishedAt) parts.push(t("campaigns.meta.finished", { time: at(row.finishedAt) }));
    else if (row.startAt && (row.status === "draft" || Date.parse(row.startAt) > Date.now())) {
      parts.push(t("campaigns.meta.startsAt", { time: at(row.startAt) }));
    } else if (row.startedAt) {
      parts.push(t("campaigns.meta.started", { time: at(row.startedAt) }));
    } else parts.push(t("campaigns.meta.startsOnStart"));
    parts.push(row.jitter > 0
      ? t("campaigns.meta.gapRange",
        { min: seconds(row.delay), max: seconds(row.delay + row.jitter) })
      : t("campaigns.meta.gap", { delay: seconds(row.delay) }));
    if (row.windowStart && row.windowEnd) {
      parts.push(t("campaigns.meta.window", { start: row.windowStart, end: row.windowEnd }));
    }
    if (row.dailyCap) parts.push(t("campaigns.meta.cap", { cap: row.dailyCap }));
    if (row.optOutKeyword) parts.push(t("campaigns.meta.optOut", { keyword: row.optOutKeyword }));
    if (row.mediaName) parts.push(t("campaigns.meta.media", { name: row.mediaName }));
    const waiting = row.status === "running" && row.waitingFor
      && has(`campaigns.waiting.${row.waitingFor}`);
    if (waiting) {  // first: a running campaign that sends nothing says why
      parts.unshift(t(`campaigns.waiting.${row.waitingFor}`, { time: at(row.nextSendAt) }));
    }
    return parts.join(" · ");
  }

  paintProgress(c) {
    const total = c.total;
    const share = (count) => (total ? `${(100 * count) / total}%` : "0%");
    const [reached, failed, skipped] = this.segments;
    reached.style.width = share(c.sent);
    failed.style.width = share(c.failed);
    skipped.style.width = share(c.optedOut + c.cancelled);
    const done = total - c.pending;
    const percent = total ? Math.floor((100 * done) / total) : 0;
    this.bar.setAttribute("aria-valuemax", String(total));
    this.bar.setAttribute("aria-valuenow", String(done));
    this.label.textContent = total ? t("campaigns.progress", { done, total, percent })
      : t("campaigns.noContacts");
    const shown = ["pending", "sent", "delivered", "read", "replied", "failed"];
    if (c.optedOut) shown.push("optedOut");
    if (c.cancelled) shown.push("cancelled");
    this.counters.replaceChildren(...shown.map((key) => h("li", {
      dataset: { counter: key, value: String(c[key]) },
      title: t(`campaigns.counterHint.${key}`),
    }, h("strong", { text: String(c[key]) }), " ",
    h("span", { text: t(`campaigns.counter.${key}`) }))));
  }
}

export class CampaignsPage {
  constructor() {
    this.root = byId("campaigns");
    this.more = byId("campaigns-more");
    this.rows = new Map();         // id → campaign JSON
    this.cards = new Map();        // id → CampaignCard
    this.connections = new Map();  // id → connection JSON (GET /whatsapp)
    this.busy = new Set();         // ids with a command in flight
    this.gone = new Set();         // ids deleted here (a late event must not bring them back)
    this.touched = new Map();      // id → number of the last event about it
    this.events = 0;               // campaign.updated events seen so far
    this.pages = 1;
    this.loaded = false;
    this.loading = null;
    this.again = false;
    this.languageStamp = 0;
    this.zone = undefined;         // the company's time zone (GET /settings), once known
    this.form = new CampaignForm(this);
    this.contacts = new ContactsDialog(this);
    this.more.addEventListener("click", () => this.loadMore());
  }

  /** (Re)load every page shown so far and the connections; events that crossed it win. */
  load() {
    if (this.loading) {
      this.again = true;  // asked for while one is in flight: its answer may be too old
      return this.loading;
    }
    this.loading = (async () => {
      try {
        do {
          this.again = false;
          await this.fetchAll();
        } while (this.again);
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  reload() {
    if (this.loaded) this.load().catch(() => {});
  }

  async fetchAll() {
    const since = this.events;
    const [connections, pages, settings] = await Promise.all([api.get("/whatsapp"),
      this.fetchPages(), api.get("/settings")]);
    const zone = settings.find((setting) => setting.key === "timezone");
    this.zone = zone ? zone.value : undefined;
    this.connections = new Map(connections.map((row) => [row.id, row]));
    const fresh = new Map(pages.rows.map((row) => [row.id, row]));
    for (const [id, row] of this.rows) {
      if ((this.touched.get(id) || 0) > since) fresh.set(id, row);
    }
    for (const id of this.gone) fresh.delete(id);
    this.rows = fresh;
    this.more.hidden = !pages.hasMore;
    this.loaded = true;
    this.render();
    this.form.translate();  // the zone in its hint, the connections in its list
  }

  async fetchPages() {
    const rows = [];
    let hasMore = false;
    for (let page = 1; page <= this.pages; page += 1) {
      const answer = await api.get(`/campaigns?pageNumber=${page}`);
      rows.push(...answer.campaigns);
      hasMore = answer.hasMore;
      if (!hasMore) break;
    }
    return { rows, hasMore };
  }

  async loadMore() {
    this.more.disabled = true;
    try {
      const since = this.events;
      const answer = await api.get(`/campaigns?pageNumber=${this.pages + 1}`);
      this.pages += 1;
      answer.campaigns.forEach((row) => this.accept(row, since));
      this.more.hidden = !answer.hasMore;
      this.render();
    } catch (error) {
      toast(errorText(error), "error");
    } finally {
      this.more.disabled = false;
    }
  }

  /** A REST answer about one campaign, asked for when `since` events had been seen. */
  accept(row, since) {
    if (this.gone.has(row.id) || (this.touched.get(row.id) || 0) > since) return false;
    this.rows.set(row.id, row);
    return true;
  }

  onCampaign(data) {
    this.events += 1;
    if (!data || this.gone.has(data.id)) return;
    this.touched.set(data.id, this.events);
    const known = this.rows.has(data.id);
    this.rows.set(data.id, { ...this.rows.get(data.id), ...data });
    this.form.onChanged(this.rows.get(data.id));
    if (!this.loaded) return;
    if (known && this.cards.has(data.id)) this.paint(data.id);
    else this.render();
  }

  /** campaign.deleted: another screen (or this one) deleted it. */
  onDeleted(data) {
    this.events += 1;
    if (data) this.form.onChanged({ ...this.rows.get(data.id), id: data.id, deleted: true });
    if (data && this.rows.has(data.id)) this.forget(data.id);
    else if (data) this.gone.add(data.id);
  }

  /** setting.updated: a new time zone redraws every time on the page in it. */
  onSetting(data) {
    if (!data || data.key !== "timezone" || data.value === this.zone) return;
    const before = this.zone;
    this.zone = data.value;
    this.form.rezone(before, this.zone);
    this.form.translate();
    if (this.loaded) this.render();
  }

  onSession(data) {
    const row = data && this.connections.get(data.id);
    if (!row) return;
    this.connections.set(data.id, { ...row, ...data });
    this.form.fillConnections();
  }

  connectionName(id) {
    const row = this.connections.get(id);
    return row ? row.name : t("campaigns.unknownConnection", { id });
  }

  onLanguageChange() {
    this.languageStamp += 1;
    this.form.translate();
    this.contacts.translate();
    if (this.loaded) this.render();
  }

  render() {
    const rows = [...this.rows.values()].sort((a, b) => b.id - a.id);
    const cards = new Map();
    for (const row of rows) {
      const card = this.cards.get(row.id) || new CampaignCard(this);
      cards.set(row.id, card);
      card.update(row, this.busy.has(row.id));
    }
    this.cards = cards;
    this.root.replaceChildren(...rows.map((row) => cards.get(row.id).el));
    if (!rows.length) {
      this.root.append(h("p", { class: "empty", text: t("campaigns.empty") }));
    }
  }

  paint(id) {
    const card = this.cards.get(id);
    const row = this.rows.get(id);
    if (card && row) card.update(row, this.busy.has(id));
  }

  /** A campaign created here: shown at once, before its campaign.updated arrives. */
  added(row, since) {
    this.gone.delete(row.id);
    this.accept(row, since);
    this.render();
  }

  /** Fetch one campaign again (its counters after an upload, whatever the socket does). */
  async refresh(id) {
    const since = this.events;
    try {
      if (this.accept(await api.get(`/campaigns/${id}`), since)) this.paint(id);
    } catch (error) {
      if (error.status === 404) this.forget(id);
    }
  }

  forget(id) {
    this.gone.add(id);
    this.rows.delete(id);
    this.render();
  }

  async command(id, action) {
    const row = this.rows.get(id);
    if (!row || this.busy.has(id)) return;
    if (action === "contacts") {
      this.contacts.open(row);
      return;
    }
    if (action === "edit") {
      this.form.open(row);
      return;
    }
    if (CONFIRM.has(action)
        && !window.confirm(t(`campaigns.confirm.${action}`, { name: row.name }))) {
      return;
    }
    this.form.closeIfEditing(id);  // started or deleted from this screen: no edit to keep
    const since = this.events;
    this.busy.add(id);
    this.paint(id);
    try {
      if (action === "delete") {
        await api.del(`/campaigns/${id}`);
        this.busy.delete(id);
        this.forget(id);
        return;
      }
      const answer = await api.post(`/campaigns/${id}/${action}`);
      this.accept(answer, since);
    } catch (error) {
      toast(errorText(error), "error");
      if (error.status === 404) this.forget(id);  // deleted on another screen
    } finally {
      this.busy.delete(id);
      this.paint(id);
    }
  }
}

/** The campaign form. New: creates a draft, then its media and contacts. Edit (a draft or a
 * paused campaign): PUT of every field — a field emptied here is cleared — with the
 * `updatedAt` it was filled from (the server refuses the save if the campaign changed since),
 * then the media change; contacts are added with the "Add contacts" dialog instead.
 * While a save is in flight the form is busy: it cannot be closed or opened for another
 * campaign, and what the save sends was read from the form before its first request. */
class CampaignForm {
  constructor(page) {
    this.page = page;
    this.editing = null;  // the campaign JSON the form was filled from, or null for a new one
    this.busy = false;    // a create or a save is in flight
    this.form = byId("campaign-form");
    this.select = byId("campaign-whatsapp");
    this.submitButton = byId("campaign-submit");
    this.report = byId("campaign-report");
    this.stale = byId("campaign-form-stale");
    byId("campaign-new").addEventListener("click", () => this.open());
    byId("campaign-form-cancel").addEventListener("click", () => this.close());
    byId("campaign-form-reload").addEventListener("click", () => this.reloadValues());
    byId("campaign-report-close").addEventListener("click", () => { this.report.hidden = true; });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.form.addEventListener("input", (event) => {  // a complaint lasts until the next edit
      if (event.target.setCustomValidity) event.target.setCustomValidity("");
      byId("campaign-window-end").setCustomValidity("");
    });
    this.translate();
  }

  translate() {
    byId("campaign-tags-hint").textContent = t("campaigns.tagsHint",
      { name: "{{name}}", greeting: "{{greeting}}" });
    byId("campaign-pacing-hint").textContent = t("campaigns.pacingHint",
      { zone: this.page.zone || Intl.DateTimeFormat().resolvedOptions().timeZone });
    const row = this.editing;
    byId("campaign-form-title").textContent = row
      ? t("campaigns.editTitle", { name: row.name }) : t("campaigns.formTitle");
    this.submitButton.textContent = t(row ? "campaigns.save" : "campaigns.create");
    byId("campaign-media-remove-label").textContent = row && row.mediaName
      ? t("campaigns.removeMedia", { name: row.mediaName }) : "";
    this.fillConnections();
  }

  /** Open empty for a new campaign, or filled with `row` to edit it. */
  open(row = null) {
    if (this.busy) {
      toast(t("campaigns.waitForSave"), "error");
      return;
    }
    this.form.reset();
    this.editing = row;
    this.stale.hidden = true;
    this.select.disabled = false;
    byId("campaign-media-current").hidden = true;
    if (row) this.fill(row);
    else this.fillConnections(null);  // the default connection
    byId("campaign-recipients").hidden = Boolean(row);
    this.translate();
    this.form.hidden = false;
    this.form.scrollIntoView({ block: "nearest" });
    byId("campaign-name").focus();
    if (row && !this.page.connections.has(row.whatsappId)) this.page.reload();  // added since
  }

  fill(row) {
    const set = (id, value) => { byId(id).value = value ?? ""; };
    set("campaign-name", row.name);
    set("campaign-message1", row.message1);
    set("campaign-message2", row.message2);
    set("campaign-message3", row.message3);
    set("campaign-start", localInput(row.startAt, this.page.zone));
    set("campaign-delay", row.delay);
    set("campaign-jitter", row.jitter);
    set("campaign-window-start", row.windowStart);
    set("campaign-window-end", row.windowEnd);
    set("campaign-daily-cap", row.dailyCap);
    set("campaign-opt-out", row.optOutKeyword);
    byId("campaign-media").value = "";
    byId("campaign-media-remove").checked = false;
    byId("campaign-media-current").hidden = !row.mediaName;
    this.fillConnections(row.whatsappId);
    this.select.disabled = row.status !== "draft";  // the server's rule
  }

  close() {
    if (this.busy) return;
    this.form.reset();
    this.editing = null;
    this.select.disabled = false;
    this.stale.hidden = true;
    byId("campaign-media-current").hidden = true;
    this.form.hidden = true;
  }

  /** The company's zone changed: the start typed (or filled) keeps its instant. */
  rezone(before, zone) {
    const field = byId("campaign-start");
    if (field.value) field.value = localInput(fromLocalInput(field.value, before), zone);
  }

  /** Quietly, before this screen starts or deletes the campaign being edited. */
  closeIfEditing(id) {
    if (this.editing && this.editing.id === id) this.close();
  }

  /** campaign.updated / deleted for the campaign being edited: a start or a delete elsewhere
   * closes the form (the server would refuse the save), with a word why; any other change
   * made elsewhere offers to load the new values (saving now would be refused). */
  onChanged(row) {
    if (!this.editing || this.form.hidden || this.editing.id !== row.id || this.busy) return;
    if (row.deleted || !(row.status === "draft" || row.status === "paused")) {
      this.close();
      toast(t("campaigns.editClosed", { name: row.name || "" }), "error");
    } else if (row.updatedAt && row.updatedAt !== this.editing.updatedAt) {
      this.stale.hidden = false;
    }
  }

  /** "Load the new values": the form shows the campaign as it is now (typing is replaced). */
  reloadValues() {
    const row = this.editing && this.page.rows.get(this.editing.id);
    if (!row) return;
    this.editing = row;
    this.fill(row);
    this.stale.hidden = true;
    this.translate();
  }

  /** Select `preferred` (a connection id; null: the default one; undefined: keep the current
   * choice). A campaign's connection missing from the list is kept as an option of its own,
   * so a save never moves the campaign to another connection by itself. */
  fillConnections(preferred) {
    const rows = [...this.page.connections.values()].sort((a, b) => a.id - b.id);
    const wanted = preferred === undefined ? this.select.value : String(preferred ?? "");
    const options = rows.map((row) => {
      const status = has(`session.${row.status}`) ? t(`session.${row.status}`) : row.status;
      return h("option", { value: String(row.id), text: `${row.name} (${status})` });
    });
    const own = this.editing && this.editing.whatsappId;
    if (own && !this.page.connections.has(own)) {
      options.push(h("option", { value: String(own), text: this.page.connectionName(own) }));
    }
    this.select.replaceChildren(...options);
    const fallback = rows.find((row) => row.isDefault) || rows[0];
    if (options.some((option) => option.value === wanted)) this.select.value = wanted;
    else if (fallback) this.select.value = String(fallback.id);
  }

  /** The JSON body, or null after showing what is wrong. */
  body() {
    const value = (id) => byId(id).value.trim();
    const start = value("campaign-window-start");
    const end = value("campaign-window-end");
    let windowProblem = "";
    if (Boolean(start) !== Boolean(end)) windowProblem = t("campaigns.windowBoth");
    else if (start && start === end) windowProblem = t("campaigns.windowEqual");
    byId("campaign-window-end").setCustomValidity(windowProblem);
    // lengths in characters as the server counts them (maxlength would count UTF-16 units:
    // an emoji twice); the server trims, so blank is empty
    for (const field of this.form.querySelectorAll("[data-max]")) {
      const max = Number(field.dataset.max);
      const length = [...field.value].length;
      let problem = "";
      if (length > max) problem = t("campaigns.tooLong", { max, length });
      else if (field.required && field.value && !field.value.trim()) problem = t("campaigns.blank");
      field.setCustomValidity(problem);
    }
    if (!this.form.reportValidity()) return null;
    const number = (id) => (value(id) === "" ? undefined : Number(value(id)));
    const startAt = value("campaign-start");
    const body = {
      name: value("campaign-name"),
      whatsappId: Number(this.select.value),
      message1: byId("campaign-message1").value,
      message2: byId("campaign-message2").value || undefined,
      message3: byId("campaign-message3").value || undefined,
      startAt: startAt ? fromLocalInput(startAt, this.page.zone) : undefined,
      delay: number("campaign-delay"),
      jitter: number("campaign-jitter"),
      windowStart: start || undefined,
      windowEnd: end || undefined,
      dailyCap: number("campaign-daily-cap"),
      optOutKeyword: value("campaign-opt-out") || undefined,
    };
    const row = this.editing;
    if (row) {  // every field goes: one emptied here is cleared on the server
      for (const key of Object.keys(body)) if (body[key] === undefined) body[key] = null;
      if (this.select.disabled) delete body.whatsappId;
      // an untouched start keeps its seconds (and its hour in a DST overlap)
      if (startAt && startAt === localInput(row.startAt, this.page.zone)) {
        body.startAt = row.startAt;
      }
      body.updatedAt = row.updatedAt;
    }
    return body;
  }

  /** The attachment change the form asks for, read before any request goes. */
  mediaChange() {
    return { file: byId("campaign-media").files[0] || null,
      remove: byId("campaign-media-remove").checked };
  }

  async submit() {
    if (this.busy) return;
    const body = this.body();
    if (!body) return;
    this.busy = true;
    this.submitButton.disabled = true;
    try {
      if (this.editing) await this.save(body, this.mediaChange());
      else await this.create(body, this.mediaChange().file, byId("campaign-numbers").value,
        byId("campaign-csv").files[0] || null);
    } finally {
      this.busy = false;
      this.submitButton.disabled = false;
    }
  }

  async create(body, media, text, file) {
    let campaign;
    try {
      const since = this.page.events;
      campaign = await api.post("/campaigns", body);
      this.page.added(campaign, since);
    } catch (error) {
      toast(errorText(error), "error");  // nothing was created: the form keeps its values
      return;
    }
    let mediaError = null;
    if (media) {
      try {
        await uploadMedia(campaign.id, media);
      } catch (error) {
        mediaError = error;
        toast(errorText(error), "error");
      }
    }
    const reports = await addContacts(campaign.id, text, file);
    this.busy = false;
    this.close();
    this.showReport(campaign, reports, mediaError && { name: media.name, error: mediaError });
    await this.page.refresh(campaign.id);
    const typedFailed = text.trim() && !reports.some((part) => part.kind === "typed");
    const csvFailed = file && !reports.some((part) => part.kind === "csv");
    if (typedFailed || csvFailed) {  // the draft exists: offer the rest again, text kept
      this.page.contacts.open(this.page.rows.get(campaign.id) || campaign,
        typedFailed ? text : "");
    }
  }

  /** Edit: PUT the fields, then replace or remove the media. A refusal (409: changed, started
   * or deleted elsewhere; 400: a bad value) is a toast and the form keeps what was typed; once
   * the fields are saved, the form shows the saved campaign (a failed upload can be retried). */
  async save(body, media) {
    const { id } = this.editing;
    try {
      const since = this.page.events;
      const saved = await api.put(`/campaigns/${id}`, body);
      this.page.accept(saved, since);
      this.editing = saved;
      this.translate();
      if (media.file) await uploadMedia(id, media.file);
      else if (media.remove && saved.mediaName) await api.del(`/campaigns/${id}/media`);
      this.busy = false;
      this.close();
      await this.page.refresh(id);
    } catch (error) {
      toast(errorText(error), "error");
      if (error.code === "ERR_CAMPAIGN_CHANGED") this.stale.hidden = false;
      if (error.status === 404) {
        this.busy = false;
        this.close();
        this.page.forget(id);
      }
    }
  }

  /** What the create did: the contacts' reports and, when the attachment failed, why (the
   * draft exists without it: Edit adds it, a second Create would make a second draft). */
  showReport(campaign, reports, mediaFailure = null) {
    byId("campaign-report-title").textContent = t("campaigns.created", { name: campaign.name });
    byId("campaign-report-body").replaceChildren(
      ...(mediaFailure ? [h("p", { class: "report-error", dataset: { testid: "media-failed" },
        text: t("campaigns.report.mediaFailed", { name: mediaFailure.name,
          reason: errorText(mediaFailure.error) }) })] : []),
      ...(reports.length ? reportView(reports)
        : [h("p", { class: "muted", text: t("campaigns.report.none") })]));
    this.report.hidden = false;
  }
}

/** "Add contacts" to an existing campaign; the dialog stays open to show the report. */
class ContactsDialog {
  constructor(page) {
    this.page = page;
    this.dialog = byId("contacts-dialog");
    this.form = byId("contacts-form");
    this.campaign = null;
    byId("contacts-close").addEventListener("click", () => this.dialog.close());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  translate() {
    if (this.campaign) {
      byId("contacts-title").textContent = t("campaigns.addContactsTo",
        { name: this.campaign.name });
    }
  }

  open(campaign, text = "") {
    this.campaign = campaign;
    this.form.reset();
    byId("contacts-numbers").value = text;
    byId("contacts-report").replaceChildren();
    this.translate();
    this.dialog.showModal();
    byId("contacts-numbers").focus();
  }

  async submit() {
    const text = byId("contacts-numbers").value;
    const file = byId("contacts-csv").files[0];
    if (!text.trim() && !file) {
      toast(t("campaigns.nothingToAdd"), "error");
      return;
    }
    const button = byId("contacts-submit");
    button.disabled = true;
    try {
      const reports = await addContacts(this.campaign.id, text, file);
      for (const part of reports) {  // clear what went through; keep what failed to retry it
        byId(part.kind === "typed" ? "contacts-numbers" : "contacts-csv").value = "";
      }
      byId("contacts-report").replaceChildren(...reportView(reports));
      await this.page.refresh(this.campaign.id);
    } finally {
      button.disabled = false;
    }
  }
}
