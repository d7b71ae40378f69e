// The live channel: one WebSocket to /ws, per the protocol in web/socket.py.
// auth frame first → "ready" → subscribe to room "tenant" with the last event id seen →
// "subscribed", then the missed events, or "resync" (reload everything through REST).
// A closed socket is reopened with growing delays (0.5 s … 5 s); while it is down, onStatus("down")
// lets the page show its banner. A socket silent for 70 s (the server's heartbeats stopped) is
// treated as dead. body[data-live] and body[data-resyncs] expose the state to tests.

const MAX_DELAY_MS = 5000;
const SILENCE_MS = 70_000;
const PING_MS = 25_000;

export class LiveSocket {
  /**
   * token(): the current access token; refresh(): Promise of new tokens (rejects when the
   * session ended); onEvent(name, data); onResync(); onStatus("connecting" | "up" | "down").
   */
  constructor({ token, refresh, onEvent, onResync, onStatus }) {
    Object.assign(this, { token, refresh, onEvent, onResync, onStatus });
    this.ws = null;
    this.lastEventId = null;
    this.attempt = 0;
    this.stopped = true;
    this.needsRefresh = false;
    this.resyncs = 0;
    this.timer = null;
    this.watchdog = null;
  }

  start() {
    this.stopped = false;
    this.setStatus("connecting");
    this.open();
    this.watchdog = setInterval(() => this.checkAlive(), 5000);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    if (this.ws) this.ws.close();
    this.ws = null;
  }

  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    this.ws = ws;
    this.lastFrameAt = Date.now();
    this.lastPingAt = Date.now();
    ws.onopen = () => this.send({ type: "auth", token: this.token() });
    ws.onmessage = (message) => {
      if (this.ws !== ws) return;
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      this.receive(frame);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setStatus("down");
      if (!this.stopped) this.reconnectLater();
    };
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  receive(frame) {
    this.lastFrameAt = Date.now();
    switch (frame.type) {
      case "ready": {
        const subscribe = { type: "subscribe", room: "tenant" };
        if (this.lastEventId !== null) subscribe.last_event_id = this.lastEventId;
        this.send(subscribe);
        break;
      }
      case "subscribed":
        this.attempt = 0;
        this.setStatus("up");
        if (this.lastEventId === null) {  // first subscription: everything comes from REST
          this.lastEventId = frame.lastEventId;
          this.resync();
        }
        break;
      case "resync":
        this.lastEventId = frame.lastEventId;
        this.resync();
        break;
      case "event":
        if (this.lastEventId !== null && frame.id <= this.lastEventId) return;  // a replay seen
        this.lastEventId = frame.id;
        this.onEvent(frame.event, frame.data);
        break;
      case "error":
        if (frame.error === "ERR_SESSION_EXPIRED") this.needsRefresh = true;
        break;
      default:  // heartbeat, pong
        break;
    }
  }

  resync() {
    this.resyncs += 1;
    document.body.dataset.resyncs = String(this.resyncs);
    this.onResync();
  }

  reconnectLater() {
    const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(async () => {
      if (this.stopped) return;
      if (this.needsRefresh) {
        try {
          await this.refresh();
          this.needsRefresh = false;
        } catch {
          if (this.stopped) return;  // the session ended: the page goes back to the login
        }
      }
      if (!this.stopped) this.open();
    }, delay);
  }

  checkAlive() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    if (now - this.lastFrameAt > SILENCE_MS) {
      this.ws.close();  // onclose reconnects
    } else if (now - this.lastPingAt > PING_MS) {
      this.lastPingAt = now;
      this.send({ type: "ping" });
    }
  }

  setStatus(state) {
    document.body.dataset.live = state;
    this.onStatus(state);
  }
}
