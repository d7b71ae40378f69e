// Every UI string, in Brazilian Portuguese and English: the one catalogue.
// t(key, {name}) fills "{name}" placeholders; a key missing in a language falls back to English.
// Elements with data-i18n / data-i18n-placeholder / data-i18n-title are filled by translate().

const CATALOGUE = {
  en: {
    "app.title": "TikTickets",
    "login.title": "Sign in to your helpdesk",
    "login.email": "E-mail",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.failed": "Wrong e-mail or password.",
    "login.error": "Could not sign in: {message}",
    "nav.tickets": "Tickets",
    "nav.connections": "Connections",
    "header.logout": "Log out",
    "header.sound": "Sound",
    "header.language": "Language",
    "banner.disconnected": "Connection to the server lost — reconnecting…",
    "tabs.pending": "Pending",
    "tabs.open": "Open",
    "tabs.closed": "Closed",
    "tickets.search": "Search name, number or message",
    "tickets.mine": "Mine",
    "tickets.all": "All",
    "tickets.empty": "No tickets here.",
    "tickets.more": "Load more",
    "tickets.unread": "{count} unread",
    "conversation.empty": "Select a ticket to see the conversation.",
    "conversation.loading": "Loading…",
    "conversation.quoted": "Quoted message",
    "conversation.you": "You",
    "conversation.reply": "Reply",
    "conversation.retry": "Retry",
    "conversation.download": "Download {name}",
    "conversation.failed": "Not sent",
    "conversation.unassigned": "Unassigned",
    "conversation.assignedTo": "Assigned to {name}",
    "conversation.queue": "Queue: {name}",
    "conversation.closedHint": "This ticket is closed. Reopen it to reply.",
    "ack.pending": "Waiting to be sent",
    "ack.sent": "Sent",
    "ack.delivered": "Delivered",
    "ack.read": "Read",
    "ack.played": "Played",
    "ack.failed": "Failed",
    "actions.accept": "Accept",
    "actions.transfer": "Transfer",
    "actions.close": "Close",
    "actions.reopen": "Reopen",
    "composer.placeholder": "Type a message — Enter sends, Shift+Enter adds a line",
    "composer.attach": "Attach a file",
    "composer.send": "Send",
    "composer.replyingTo": "Replying to:",
    "composer.cancelReply": "Cancel reply",
    "composer.removeFile": "Remove the file",
    "transfer.title": "Transfer ticket",
    "transfer.user": "Attendant",
    "transfer.queue": "Queue",
    "transfer.keep": "(keep as it is)",
    "transfer.nobody": "(nobody)",
    "transfer.noQueue": "(no queue)",
    "transfer.submit": "Transfer",
    "transfer.cancel": "Cancel",
    "connections.title": "WhatsApp connections",
    "connections.empty": "No connections yet.",
    "connections.start": "Start",
    "connections.newQr": "New QR code",
    "connections.logout": "Log out",
    "connections.scan": "Scan this code with WhatsApp on the phone (Linked devices).",
    "connections.expires": "Expires in {seconds} s",
    "connections.expired": "This code expired — ask for a new one.",
    "connections.number": "Number: {number}",
    "connections.qrAlt": "QR code for {name}",
    "session.CONNECTED": "Connected",
    "session.DISCONNECTED": "Disconnected",
    "session.qrcode": "Waiting for the QR scan",
    "session.OPENING": "Opening",
    "session.PAIRING": "Pairing",
    "session.RECONNECTING": "Reconnecting",
    "session.TIMEOUT": "Timed out",
    "session.CONFLICT": "Open elsewhere",
    "session.UNPAIRED": "Unpaired",
    "session.LOGOUT": "Logged out by the phone",
    "notify.newTicket": "New ticket from {name}",
    "errors.generic": "Something went wrong: {message}",
    "errors.ERR_TICKET_CLOSED": "Reopen the ticket before replying.",
    "errors.ERR_OTHER_OPEN_TICKET": "This contact already has an open or pending ticket.",
    "errors.ERR_FILE_TOO_LARGE": "The file is too large.",
    "errors.ERR_NO_PERMISSION": "You are not allowed to do that.",
  },
  "pt-BR": {
    "app.title": "TikTickets",
    "login.title": "Entre no seu atendimento",
    "login.email": "E-mail",
    "login.password": "Senha",
    "login.submit": "Entrar",
    "login.failed": "E-mail ou senha incorretos.",
    "login.error": "Não foi possível entrar: {message}",
    "nav.tickets": "Atendimentos",
    "nav.connections": "Conexões",
    "header.logout": "Sair",
    "header.sound": "Som",
    "header.language": "Idioma",
    "banner.disconnected": "Conexão com o servidor perdida — reconectando…",
    "tabs.pending": "Aguardando",
    "tabs.open": "Abertos",
    "tabs.closed": "Resolvidos",
    "tickets.search": "Buscar nome, número ou mensagem",
    "tickets.mine": "Meus",
    "tickets.all": "Todos",
    "tickets.empty": "Nenhum atendimento aqui.",
    "tickets.more": "Carregar mais",
    "tickets.unread": "{count} não lidas",
    "conversation.empty": "Selecione um atendimento para ver a conversa.",
    "conversation.loading": "Carregando…",
    "conversation.quoted": "Mensagem citada",
    "conversation.you": "Você",
    "conversation.reply": "Responder",
    "conversation.retry": "Reenviar",
    "conversation.download": "Baixar {name}",
    "conversation.failed": "Não enviada",
    "conversation.unassigned": "Sem responsável",
    "conversation.assignedTo": "Com {name}",
    "conversation.queue": "Fila: {name}",
    "conversation.closedHint": "Este atendimento está resolvido. Reabra para responder.",
    "ack.pending": "Aguardando envio",
    "ack.sent": "Enviada",
    "ack.delivered": "Entregue",
    "ack.read": "Lida",
    "ack.played": "Reproduzida",
    "ack.failed": "Falhou",
    "actions.accept": "Aceitar",
    "actions.transfer": "Transferir",
    "actions.close": "Resolver",
    "actions.reopen": "Reabrir",
    "composer.placeholder": "Digite uma mensagem — Enter envia, Shift+Enter quebra a linha",
    "composer.attach": "Anexar arquivo",
    "composer.send": "Enviar",
    "composer.replyingTo": "Respondendo a:",
    "composer.cancelReply": "Cancelar resposta",
    "composer.removeFile": "Remover o arquivo",
    "transfer.title": "Transferir atendimento",
    "transfer.user": "Atendente",
    "transfer.queue": "Fila",
    "transfer.keep": "(manter como está)",
    "transfer.nobody": "(ninguém)",
    "transfer.noQueue": "(sem fila)",
    "transfer.submit": "Transferir",
    "transfer.cancel": "Cancelar",
    "connections.title": "Conexões do WhatsApp",
    "connections.empty": "Nenhuma conexão ainda.",
    "connections.start": "Iniciar",
    "connections.newQr": "Novo QR code",
    "connections.logout": "Desconectar",
    "connections.scan": "Leia este código com o WhatsApp do celular (Aparelhos conectados).",
    "connections.expires": "Expira em {seconds} s",
    "connections.expired": "Este código expirou — peça um novo.",
    "connections.number": "Número: {number}",
    "connections.qrAlt": "QR code de {name}",
    "session.CONNECTED": "Conectado",
    "session.DISCONNECTED": "Desconectado",
    "session.qrcode": "Aguardando leitura do QR",
    "session.OPENING": "Abrindo",
    "session.PAIRING": "Pareando",
    "session.RECONNECTING": "Reconectando",
    "session.TIMEOUT": "Tempo esgotado",
    "session.CONFLICT": "Aberto em outro lugar",
    "session.UNPAIRED": "Não pareado",
    "session.LOGOUT": "Desconectado pelo celular",
    "notify.newTicket": "Novo atendimento de {name}",
    "errors.generic": "Algo deu errado: {message}",
    "errors.ERR_TICKET_CLOSED": "Reabra o atendimento antes de responder.",
    "errors.ERR_OTHER_OPEN_TICKET": "Este contato já tem um atendimento aberto ou aguardando.",
    "errors.ERR_FILE_TOO_LARGE": "O arquivo é grande demais.",
    "errors.ERR_NO_PERMISSION": "Você não tem permissão para isso.",
  },
};

export const LANGUAGES = [["pt-BR", "Português (Brasil)"], ["en", "English"]];
const STORAGE_KEY = "tt.lang";
const listeners = new Set();
let current = pick(localStorage.getItem(STORAGE_KEY) || navigator.language);

function pick(lang) {
  return lang && lang.toLowerCase().startsWith("pt") ? "pt-BR" : "en";
}

export function t(key, params = {}) {
  const text = CATALOGUE[current][key] ?? CATALOGUE.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

export function has(key) {
  return key in CATALOGUE.en;
}

export function language() {
  return current;
}

export function setLanguage(lang) {
  current = pick(lang);
  localStorage.setItem(STORAGE_KEY, current);
  translate(document);
  listeners.forEach((fn) => fn(current));
}

export function onLanguageChange(fn) {
  listeners.add(fn);
}

export function translate(root) {
  document.documentElement.lang = current;
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  });
  root.querySelectorAll("[data-i18n-title]").forEach((el) => {
    el.title = t(el.dataset.i18nTitle);
    el.setAttribute("aria-label", el.title);
  });
}

/** A message or ticket time: "14:05" today, a short date before. Accepts ms or an ISO string. */
export function formatTime(value) {
  if (value === null || value === undefined) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  const now = new Date();
  const sameDay = date.toDateString() === now.toDateString();
  const options = sameDay ? { hour: "2-digit", minute: "2-digit" }
    : { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(current, options).format(date);
}

/** A user-facing sentence for an ApiError (or any Error). */
export function errorText(error) {
  const key = `errors.${error && error.code}`;
  return has(key) ? t(key) : t("errors.generic", { message: (error && error.message) || "?" });
}
