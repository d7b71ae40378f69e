// One message bubble: quote, media (through blob: URLs), text, time, ack ticks, reply / retry.
// Data attributes (data-id, data-ack, data-state) let tests and CSS read the state.

import { h, svg } from "./dom.js";
import { formatTime, t } from "./i18n.js";

const LINE = { fill: "none", stroke: "currentColor", "stroke-width": "1.6",
  "stroke-linecap": "round", "stroke-linejoin": "round" };
const ICONS = {
  pending: [["circle", { cx: "9", cy: "7", r: "5.5", ...LINE }], ["path", { d: "M9 4v3.2l2 1.3", ...LINE }]],
  sent: [["path", { d: "M4 7.5l3 3 7-7", ...LINE }]],
  double: [["path", { d: "M1 7.5l3 3 7-7", ...LINE }], ["path", { d: "M7.5 10.5l7-7", ...LINE }]],
  failed: [["circle", { cx: "9", cy: "7", r: "5.5", ...LINE }], ["path", { d: "M9 4v3.5M9 9.8v.2", ...LINE }]],
};

/** "failed" | "pending" | "sent" | "delivered" | "read" | "played" for an outbound message. */
export function ackState(message) {
  if (message.status === "failed" || message.ack < 0) return "failed";
  if (message.ack <= 0) return "pending";
  return ["sent", "delivered", "read", "played"][Math.min(message.ack, 4) - 1];
}

export function ticks(message) {
  const state = ackState(message);
  const shape = state === "delivered" || state === "read" || state === "played" ? "double" : state;
  return h("span", { class: `ticks ${state}`, title: t(`ack.${state}`),
    "aria-label": t(`ack.${state}`), dataset: { testid: "ticks" } }, svg(ICONS[shape], "icon"));
}

/**
 * ctx: {media: MediaCache, lookup(id) → message|undefined, contactName, onReply(message),
 * onRetry(message)}.
 */
export function bubble(message, ctx) {
  const state = message.fromMe ? ackState(message) : "received";
  const el = h("div", {
    class: `msg ${message.fromMe ? "out" : "in"}${message.optimistic ? " optimistic" : ""}`,
    dataset: { id: message.id, ack: String(message.ack), state, testid: "message" },
  });
  if (message.quotedMsgId) el.append(quote(ctx.lookup(message.quotedMsgId), ctx));
  if (message.mediaUrl) el.append(media(message, ctx));
  else if (message.localFile) el.append(h("div", { class: "doc", text: message.localFile }));
  if (message.body && !(message.mediaUrl && message.body === message.mediaName)) {
    el.append(h("div", { class: "body", text: message.body }));
  }
  el.append(h("div", { class: "meta" },
    h("span", { class: "time", text: formatTime(message.createdAt) }),
    message.fromMe && ticks(message)));
  if (state === "failed") {
    el.append(h("div", { class: "failure" },
      h("span", { class: "error", text: t("conversation.failed") }),
      h("button", { type: "button", class: "retry", text: t("conversation.retry"),
        dataset: { testid: "retry" }, onclick: () => ctx.onRetry(message) })));
  }
  if (!message.optimistic) {
    el.append(h("button", { type: "button", class: "reply", text: t("conversation.reply"),
      onclick: () => ctx.onReply(message) }));
  }
  return el;
}

function quote(quoted, ctx) {
  if (!quoted) return h("div", { class: "quote", text: t("conversation.quoted") });
  const author = quoted.fromMe ? t("conversation.you") : ctx.contactName;
  return h("div", { class: "quote", dataset: { quoted: quoted.id } },
    h("span", { class: "quote-author", text: author }),
    h("span", { class: "quote-body", text: quoted.body || quoted.mediaName || "" }));
}

function media(message, ctx) {
  const kind = message.mediaType;
  const name = message.mediaName || message.body || "file";
  if (kind === "image") {
    const img = h("img", { class: "media-image", alt: name });
    ctx.media.url(message.mediaUrl).then((url) => { img.src = url; }, () => {});
    return img;
  }
  if (kind === "audio" || kind === "video") {
    const player = h(kind, { class: `media-${kind}`, controls: true, preload: "metadata" });
    ctx.media.url(message.mediaUrl).then((url) => { player.src = url; }, () => {});
    return player;
  }
  const link = h("a", { class: "doc", href: "#", text: name,
    title: t("conversation.download", { name }) });
  link.addEventListener("click", async (event) => {
    if (link.dataset.ready) return;  // the blob: href is set; let the browser download it
    event.preventDefault();
    const url = await ctx.media.url(message.mediaUrl);
    link.href = url;
    link.download = name;
    link.dataset.ready = "1";
    link.click();
  });
  return link;
}
