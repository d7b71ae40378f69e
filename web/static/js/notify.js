// Attention: the pending count in the window title, a toast for each new pending ticket and an
// optional short beep (off by default; the choice is kept in localStorage "tt.sound").

import { byId, toast } from "./dom.js";
import { t } from "./i18n.js";

const SOUND_KEY = "tt.sound";

export class Notifier {
  constructor() {
    this.audio = null;
    const toggle = byId("sound-toggle");
    toggle.checked = localStorage.getItem(SOUND_KEY) === "1";
    toggle.addEventListener("change", () => {
      localStorage.setItem(SOUND_KEY, toggle.checked ? "1" : "0");
      if (toggle.checked) this.beep();  // also unlocks audio: this runs inside a click
    });
  }

  /** "(3) TikTickets" while 3 tickets wait. */
  setPending(count) {
    const base = t("app.title");
    document.title = count > 0 ? `(${count}) ${base}` : base;
  }

  newTicket(ticket) {
    const contact = ticket.contact || {};
    toast(t("notify.newTicket", { name: contact.name || contact.number || "?" }));
    if (localStorage.getItem(SOUND_KEY) === "1") this.beep();
  }

  beep() {
    try {
      this.audio = this.audio || new AudioContext();
      const oscillator = this.audio.createOscillator();
      const gain = this.audio.createGain();
      oscillator.frequency.value = 880;
      gain.gain.value = 0.08;
      oscillator.connect(gain).connect(this.audio.destination);
      oscillator.start();
      oscillator.stop(this.audio.currentTime + 0.15);
    } catch {
      // no audio device: the toast and the title still tell
    }
  }
}
