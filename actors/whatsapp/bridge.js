/*
 * TikTickets bridge: injected into WhatsApp Web (or the local simulator) by
 * actors/whatsapp/selenium_client.py as `(<this expression>)(PAGE)`, where PAGE is the table of
 * WhatsApp-Web names in actors/whatsapp/adapter.py. No WhatsApp name is written here.
 *
 * window.__ttBridge keeps an event log: entries {seq, type, data} with seq increasing by 1 within
 * one document ("epoch"). Types: state {state}, qr {qr}, ready {number, pushname},
 * message {id, from, name, body, type, t, quotedId, isGroup, media}, ack {id, ack},
 * disconnected {reason}, logout {reason}, result {req, ok, value | error}.
 * Python drains with drain(epoch, after, max): entries with seq > after; entries <= after are
 * forgotten (Python has them). Reading never consumes: a lost answer is asked for again.
 *
 * Idempotent: a second injection into the same document is a no-op (the sentinel is
 * window.__ttBridge with the same version); an older version is uninstalled first.
 */
(function (A) {
  'use strict';
  var VERSION = 'tt-bridge/1';
  var MAX_LOG = 5000;
  var old = window.__ttBridge;
  if (old && old.version === VERSION) return {installed: false, version: VERSION, epoch: old.epoch};
  if (old && typeof old.uninstall === 'function') old.uninstall();

  var B = {
    version: VERSION,
    epoch: Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10),
    seq: 0, dropped: 0, log: [], undo: [], m: null,
    lastState: null, lastQr: null, wasConnected: false
  };
  window.__ttBridge = B;

  function push(type, data) {
    B.seq += 1;
    B.log.push({seq: B.seq, type: type, data: data || {}});
    if (B.log.length > MAX_LOG) { B.dropped += B.log.length - MAX_LOG; B.log.splice(0, B.log.length - MAX_LOG); }
  }

  function mod(key) { return window.require(A.modules[key]); }

  function modules() {
    if (typeof window.require !== 'function') return null;
    try {
      var m = {coll: mod('collections'), socket: mod('socket').Socket, conn: mod('conn').Conn};
      return m.coll && m.coll.Msg && m.coll.Chat && m.socket && m.conn ? m : null;
    } catch (e) { return null; }
  }

  function listen(emitter, event, fn) {
    emitter.on(event, fn);
    B.undo.push(function () { emitter.off(event, fn); });
  }

  function user(wid) { return wid ? (wid.user || String(wid._serialized || wid).split('@')[0]) : null; }

  function serialize(msg) {
    var hasMedia = Boolean(msg.mediaKey && msg.directPath);
    var remote = msg.id.remote || msg.from;
    return {
      id: msg.id._serialized,
      from: user(msg.author || msg.from),
      isGroup: Boolean(remote && remote.server === 'g.us'),
      fromMe: Boolean(msg.id.fromMe),
      name: msg.notifyName || null,
      body: hasMedia ? (msg.caption || '') : (msg.body || ''),
      type: msg.type,
      t: msg.t,
      quotedId: msg.quotedStanzaID || null,
      media: hasMedia ? {mimetype: msg.mimetype, filename: msg.filename || null} : null
    };
  }

  function onState(state) {
    if (state === B.lastState) return;
    B.lastState = state;
    push('state', {state: state});
    if (state === 'CONNECTED') {
      B.wasConnected = true;
      push('ready', {number: user(B.m.conn.wid), pushname: B.m.conn.pushname || null});
    } else if (A.loggedOutStates.indexOf(state) >= 0) {
      if (B.wasConnected) push('logout', {reason: state});
      B.wasConnected = false;
    } else if (A.acceptedStates.indexOf(state) < 0) {
      push('disconnected', {reason: state});
    }
  }

  function attach(m) {
    B.m = m;
    listen(m.socket, 'change:state', function (_socket, state) { onState(state); });
    listen(m.coll.Msg, 'add', function (msg) {
      if (msg.isNewMsg && !msg.id.fromMe) push('message', serialize(msg));
    });
    listen(m.coll.Msg, 'change:ack', function (msg, ack) {
      if (msg.id.fromMe) push('ack', {id: msg.id._serialized, ack: ack});
    });
    onState(m.socket.state);
  }

  function watchQr() {
    var el = document.querySelector(A.selectors.qr);
    var ref = el ? el.getAttribute(A.qrAttribute) : null;
    if (ref && ref !== B.lastQr) { B.lastQr = ref; push('qr', {qr: ref}); }
    var retry = document.querySelector(A.selectors.qrRetry);
    if (retry) retry.click();
  }

  function boot() {
    watchQr();
    if (!B.m) { var m = modules(); if (m) attach(m); }
  }

  var observer = new MutationObserver(watchQr);
  observer.observe(document, {subtree: true, childList: true, attributes: true,
                              attributeFilter: [A.qrAttribute]});
  var timer = setInterval(boot, 100);
  B.undo.push(function () { observer.disconnect(); clearInterval(timer); });

  function withTimeout(promise, ms, what) {
    return new Promise(function (resolve, reject) {
      var t = setTimeout(function () { reject(new Error(what + ' timed out after ' + ms + ' ms')); }, ms);
      promise.then(function (v) { clearTimeout(t); resolve(v); },
                   function (e) { clearTimeout(t); reject(e); });
    });
  }

  function need() { if (!B.m) throw new Error('WhatsApp Web is not loaded'); return B.m; }

  function toBase64(buffer) {
    var bytes = new Uint8Array(buffer), chunks = [];
    for (var i = 0; i < bytes.length; i += 0x8000) {
      chunks.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)));
    }
    return btoa(chunks.join(''));
  }

  var CALLS = {
    profilePic: function (timeoutMs) {
      var m = need();
      return withTimeout(mod('profilePic').requestProfilePicFromServer(m.conn.wid), timeoutMs,
                         'profile picture').then(
        function (r) { return {eurl: (r && r.eurl) || null}; },
        function (e) {
          if (e && A.noPictureErrors.indexOf(e.name) >= 0) return {eurl: null};
          throw e;
        });
    },
    send: function (to, body, media, quotedId) {
      need();
      var wid = mod('widFactory').createWid(to + '@' + A.userServer);
      return mod('findChat').findOrCreateLatestChat(wid).then(function (found) {
        var draft = {body: body, type: 'chat', quotedStanzaID: quotedId || undefined};
        if (media) { draft.type = media.type; draft.media = media; draft.caption = body; }
        var pair = mod('sendMsg').addAndSendMsgToChat(found.chat, draft);
        return Promise.all(pair).then(function (res) {
          var sent = res[1] || {};
          if (sent.messageSendResult && sent.messageSendResult !== 'OK') {
            throw new Error('send failed: ' + sent.messageSendResult);
          }
          return {id: res[0].id._serialized, ack: res[0].ack || 0};
        });
      });
    },
    unread: function (limit) {
      var m = need(), out = [];
      var chats = m.coll.Chat.getModelsArray().filter(function (c) { return c.unreadCount > 0; });
      return Promise.all(chats.map(function (chat) {
        var msgs = chat.msgs.getModelsArray();
        var loaded = msgs.length >= chat.unreadCount ? Promise.resolve()
          : Promise.resolve(mod('loadMsgs').loadEarlierMsgs(chat));
        return loaded.then(function () {
          var all = chat.msgs.getModelsArray().filter(function (x) { return !x.id.fromMe; });
          all.slice(-Math.min(chat.unreadCount, limit)).forEach(function (x) { out.push(serialize(x)); });
        });
      })).then(function () { return out; });
    },
    download: function (id) {
      var msg = need().coll.Msg.get(id);
      if (!msg || !msg.directPath) throw new Error('media no longer available');
      return mod('download').downloadManager.downloadAndMaybeDecrypt({
        directPath: msg.directPath, encFilehash: msg.encFilehash, filehash: msg.filehash,
        mediaKey: msg.mediaKey, mediaKeyTimestamp: msg.mediaKeyTimestamp, type: msg.type,
        signal: new AbortController().signal
      }).then(function (buffer) {
        return {mimetype: msg.mimetype, filename: msg.filename || null, data: toBase64(buffer)};
      });
    },
    logout: function () { return need().socket.logout(); },
    takeover: function () { return need().socket.takeover(); }
  };

  // Starts `name` and returns at once; the outcome arrives as a `result` entry in the log, so a
  // slow WhatsApp call never holds the (serial) chromedriver session.
  B.call = function (req, name, args) {
    Promise.resolve().then(function () { return CALLS[name].apply(null, args || []); }).then(
      function (v) { push('result', {req: req, ok: true, value: v === undefined ? null : v}); },
      function (e) { push('result', {req: req, ok: false, error: String((e && e.message) || e)}); });
    return true;
  };

  B.drain = function (epoch, after, max) {
    if (epoch === B.epoch) { while (B.log.length && B.log[0].seq <= after) B.log.shift(); }
    return {epoch: B.epoch, version: B.version, dropped: B.dropped,
            entries: B.log.slice(0, max || 500)};
  };

  B.state = function () {
    if (B.m) return B.m.socket.state || null;
    return document.querySelector(A.selectors.qr) ? 'UNPAIRED' : null;
  };

  B.uninstall = function () { B.undo.forEach(function (f) { try { f(); } catch (e) { /* gone */ } }); };

  boot();
  return {installed: true, version: VERSION, epoch: B.epoch};
})
