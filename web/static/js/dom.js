// Building DOM without HTML strings: every piece of data goes in as text (textContent or a text
// node), never through innerHTML, so a customer's "<img onerror=…>" is shown, not run.

/**
 * h("div", {class, text, dataset, hidden, onclick, title, …}, ...children) → Element.
 * Children may be Nodes, strings (become text nodes), arrays, null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") el.textContent = value;
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (typeof value === "boolean") el.toggleAttribute(key, value);
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function byId(id) {
  return document.getElementById(id);
}

const SVG = "http://www.w3.org/2000/svg";

/** A small inline SVG icon from constant shapes: [["path", {d}], ["circle", {…}]]. */
export function svg(shapes, className) {
  const root = document.createElementNS(SVG, "svg");
  root.setAttribute("viewBox", "0 0 18 14");
  root.setAttribute("aria-hidden", "true");
  root.setAttribute("class", className);
  for (const [tag, attrs] of shapes) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    root.append(node);
  }
  return root;
}

/** Run fn at most once per `ms`, after the last call (a trailing debounce). */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Show a short message in the corner for a few seconds. `kind`: "info" | "error". */
export function toast(text, kind = "info") {
  const box = byId("toasts");
  if (!box) return;
  const item = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status",
    text });
  box.append(item);
  setTimeout(() => item.remove(), 5000);
}
