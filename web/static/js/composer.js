// The composer: text (Enter sends, Shift+Enter adds a line), one attachment, a quoted reply.

import { byId } from "./dom.js";

export class Composer {
  /** onSend({body, file, quotedMsgId}) is called with what to send; the composer clears. */
  constructor({ onSend }) {
    this.onSend = onSend;
    this.form = byId("composer");
    this.text = byId("composer-text");
    this.fileInput = byId("composer-file");
    this.file = null;
    this.quoted = null;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    byId("attach").addEventListener("click", () => this.fileInput.click());
    this.fileInput.addEventListener("change", () => this.setFile(this.fileInput.files[0] || null));
    byId("file-remove").addEventListener("click", () => this.setFile(null));
    byId("reply-cancel").addEventListener("click", () => this.replyTo(null));
  }

  /** Enable or disable for the ticket shown (closed tickets take no replies). */
  setTicket(ticket) {
    const closed = !ticket || ticket.status === "closed";
    for (const el of this.form.querySelectorAll("textarea, button, input")) el.disabled = closed;
    byId("closed-hint").hidden = !ticket || ticket.status !== "closed";
  }

  reset() {
    this.text.value = "";
    this.setFile(null);
    this.replyTo(null);
  }

  setFile(file) {
    this.file = file;
    if (!file) this.fileInput.value = "";
    byId("file-chip").hidden = !file;
    byId("file-name").textContent = file ? file.name : "";
  }

  /** Quote `message` in the next send (null cancels). */
  replyTo(message) {
    this.quoted = message;
    byId("reply-bar").hidden = !message;
    byId("reply-text").textContent = message ? (message.body || message.mediaName || "") : "";
    if (message) this.text.focus();
  }

  submit() {
    const body = this.text.value.trim();
    if (!body && !this.file) return;
    this.onSend({ body, file: this.file, quotedMsgId: this.quoted ? this.quoted.id : null });
    this.reset();
    this.text.focus();
  }
}
