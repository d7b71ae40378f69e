// The dashboard's entry point: login, then the tickets, connections and (admins only) campaigns
// pages kept live by the socket. Pages are chosen by the URL hash (#/tickets, #/connections,
// #/campaigns).

import * as api from "./api.js";
import { CampaignsPage } from "./campaigns.js";
import { ConnectionsPage } from "./connections.js";
import { Conversation } from "./conversation.js";
import { byId, h, toast } from "./dom.js";
import { errorText, LANGUAGES, language, onLanguageChange, setLanguage, t, translate } from "./i18n.js";
import { LiveSocket } from "./live.js";
import { Notifier } from "./notify.js";
import { TicketStore } from "./store.js";
import { TicketList } from "./ticketlist.js";

let started = false;

function fillLanguages(select) {
  select.replaceChildren(...LANGUAGES.map(([value, label]) => h("option", { value, text: label,
    selected: value === language() })));
  select.addEventListener("change", () => setLanguage(select.value));
  onLanguageChange((lang) => { select.value = lang; });
}

function showLogin() {
  byId("app-view").hidden = true;
  byId("login-view").hidden = false;
  const form = byId("login-form");
  const error = byId("login-error");
  byId("login-email").focus();
  form.onsubmit = async (event) => {
    event.preventDefault();
    error.hidden = true;
    byId("login-submit").disabled = true;
    try {
      await api.login(byId("login-email").value.trim(), byId("login-password").value);
      await startApp();
    } catch (failure) {
      error.textContent = failure.status === 401 ? t("login.failed")
        : failure.status === 429 ? errorText(failure)
          : t("login.error", { message: failure.message || "?" });
      error.hidden = false;
    } finally {
      byId("login-submit").disabled = false;
    }
  };
}

async function startApp() {
  const me = await api.get("/users/me");
  started = true;
  byId("login-view").hidden = true;
  byId("app-view").hidden = false;
  byId("user-name").textContent = me.name;
  byId("tenant-name").textContent = me.tenant.name;

  const users = new Map();
  let queues = [];
  const loadPickers = async () => {
    const [userPage, queueList] = await Promise.all([api.get("/users"), api.get("/queue")]);
    users.clear();
    userPage.users.forEach((user) => users.set(user.id, user));
    queues = queueList;
  };
  await loadPickers();

  const store = new TicketStore(me);
  const notifier = new Notifier();
  const connections = new ConnectionsPage();
  const admin = me.profile === "admin";
  const campaigns = admin ? new CampaignsPage() : null;
  byId("nav-campaigns").hidden = !admin;
  const conversation = new Conversation({
    store, users, me, queues: () => queues, media: new api.MediaCache(),
    onAction: (ticket) => { if (store.visible(ticket)) list.showTab(ticket.status); },
  });
  const list = new TicketList({
    store, users,
    onSelect: (id) => {
      list.select(id);
      conversation.open(id).catch((error) => toast(errorText(error), "error"));
    },
  });
  store.onChange(() => {
    notifier.setPending(store.counts.pending);
    conversation.onTicket(store.get(conversation.ticketId) || {});
  });

  const onEvent = (name, data) => {
    if (name === "ticket.created") {
      const ticket = store.apply(data, { created: true });
      if (ticket.status === "pending" && store.visible(ticket)) notifier.newTicket(ticket);
    } else if (name === "ticket.updated") {
      store.apply(data);
    } else if (name === "message.created") {
      if (data.ticket) store.apply(data.ticket);
      conversation.onMessage(data);
    } else if (name === "message.updated" || name === "message.ack") {
      conversation.onMessage(data);
    } else if (name === "session.updated") {
      connections.onSession(data);
      if (campaigns) campaigns.onSession(data);
    } else if (name === "campaign.updated") {
      if (campaigns) campaigns.onCampaign(data);
    } else if (name === "campaign.deleted") {
      if (campaigns) campaigns.onDeleted(data);
    } else if (name === "setting.updated") {
      if (campaigns) campaigns.onSetting(data);
    }
  };
  const live = new LiveSocket({
    token: api.session.token,
    refresh: api.refresh,
    onEvent,
    onStatus: (state) => { byId("banner").hidden = state !== "down"; },
    onResync: () => {
      store.load().catch((error) => toast(errorText(error), "error"));
      conversation.reload();
      connections.reload();
      if (campaigns) campaigns.reload();
      loadPickers().then(() => list.render(), () => {});
    },
  });
  live.start();

  byId("logout").addEventListener("click", () => {
    live.stop();
    api.logout();  // the session change below reloads the page onto the login form
  });
  const pages = ["tickets", "connections", ...(campaigns ? ["campaigns"] : [])];
  const showPage = () => {
    const wanted = location.hash.replace(/^#\//, "");
    const page = pages.includes(wanted) ? wanted : "tickets";
    for (const name of ["tickets", "connections", "campaigns"]) {
      byId(`${name}-page`).hidden = page !== name;
      byId(`nav-${name}`).classList.toggle("active", page === name);
    }
    if (page === "connections" && !connections.loaded) {
      connections.load().catch((error) => toast(errorText(error), "error"));
    }
    // every visit reloads: events are not kept while the page is away for long (replay buffer)
    if (page === "campaigns") campaigns.load().catch((error) => toast(errorText(error), "error"));
  };
  window.addEventListener("hashchange", showPage);
  showPage();
  onLanguageChange(() => {
    list.render();
    conversation.refresh();
    connections.render();
    if (campaigns) campaigns.onLanguageChange();
    notifier.setPending(store.counts.pending);
  });
}

function boot() {
  translate(document);
  fillLanguages(byId("login-lang"));
  fillLanguages(byId("lang-select"));
  api.session.onChange((current) => {
    if (!current && started) location.reload();
  });
  if (!api.session.get()) {
    showLogin();
    return;
  }
  startApp().catch(() => {
    if (!started) showLogin();
  });
}

boot();
