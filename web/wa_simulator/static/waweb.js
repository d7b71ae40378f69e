/*
 * The simulator's stand-in for WhatsApp Web. It offers what bridge.js reads, under the names of
 * actors/whatsapp/adapter.py: window.require(<module>) with Backbone-like collections and models
 * (Msg, Chat, Socket, Conn, …) and the QR in div[data-ref]. It talks to the simulator server
 * (web/wa_simulator) by long polling; the login token lives in IndexedDB ("wawc"), i.e. in the
 * browser profile, as WhatsApp Web keeps its keys.
 */
(function () {
  'use strict';
  window.Debug = {VERSION: '2.3000.0-tt-sim'};

  function Emitter() { this._handlers = {}; }
  Emitter.prototype.on = function (event, fn) {
    (this._handlers[event] = this._handlers[event] || []).push(fn);
  };
  Emitter.prototype.off = function (event, fn) {
    var list = this._handlers[event] || [], i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
  };
  Emitter.prototype.emit = function (event) {
    var args = Array.prototype.slice.call(arguments, 1);
    (this._handlers[event] || []).slice().forEach(function (fn) {
      try { fn.apply(null, args); } catch (e) { console.error(e); }
    });
  };

  function Wid(serialized) {
    var parts = String(serialized).split('@');
    this.user = parts[0];
    this.server = parts[1] || 'c.us';
    this._serialized = this.user + '@' + this.server;
  }
  Wid.prototype.toString = function () { return this._serialized; };

  function Collection() { Emitter.call(this); this._byId = {}; this._list = []; }
  Collection.prototype = Object.create(Emitter.prototype);
  Collection.prototype.add = function (model) {
    var id = model.id._serialized || String(model.id);
    if (this._byId[id]) return this._byId[id];
    this._byId[id] = model;
    this._list.push(model);
    this.emit('add', model);
    return model;
  };
  Collection.prototype.get = function (id) { return this._byId[String(id)]; };
  Collection.prototype.getModelsArray = function () { return this._list.slice(); };
  Collection.prototype.reset = function () { this._byId = {}; this._list = []; };

  var Msg = new Collection(), Chat = new Collection();
  var Socket = new Emitter(), Conn = new Emitter();
  Socket.state = 'OPENING';
  Conn.wid = null;
  Conn.pushname = null;
  Socket.setState = function (state) {
    if (state === Socket.state) return;
    Socket.state = state;
    Socket.emit('change:state', Socket, state);
  };

  var session = {device: null, after: 0, generation: 0};

  // --- the server ------------------------------------------------------------------------------

  function api(method, path, body) {
    var init = {method: method, headers: {}};
    if (body) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) {
        if (!r.ok) { var e = new Error(json.error || ('HTTP ' + r.status)); e.status = r.status; throw e; }
        return json;
      });
    });
  }

  function idb(mode, fn) {
    return new Promise(function (resolve, reject) {
      var open = indexedDB.open('wawc', 1);
      open.onupgradeneeded = function () { open.result.createObjectStore('user'); };
      open.onerror = function () { reject(open.error); };
      open.onsuccess = function () {
        var db = open.result, tx = db.transaction('user', mode, {durability: 'strict'});
        var req = fn(tx.objectStore('user'));
        tx.oncomplete = function () { db.close(); resolve(req.result); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      };
    });
  }
  function getToken() { return idb('readonly', function (s) { return s.get('token'); }); }
  function setToken(t) { return idb('readwrite', function (s) { return s.put(t, 'token'); }); }
  function dropToken() { return idb('readwrite', function (s) { return s.delete('token'); }); }

  // --- models ----------------------------------------------------------------------------------

  function chatOf(wid) {
    return Chat.get(wid._serialized) ||
      Chat.add({id: wid, unreadCount: 0, msgs: new Collection()});
  }

  function incoming(m, isNew) {
    if (Msg.get(m.id)) return;
    var from = new Wid(m.from + '@c.us');
    var msg = {
      id: {fromMe: false, remote: from, id: m.id, _serialized: m.id},
      from: from, to: Conn.wid, body: m.body || '', type: m.type, t: m.t,
      notifyName: m.name || undefined, isNewMsg: isNew, ack: 0,
      quotedStanzaID: m.quotedId || undefined
    };
    if (m.directPath) {
      msg.mimetype = m.mimetype; msg.filename = m.filename; msg.directPath = m.directPath;
      msg.mediaKey = 'sim-media-key'; msg.mediaKeyTimestamp = m.t;
      msg.caption = m.body || ''; msg.body = '';
    }
    var chat = chatOf(from);
    if (isNew) chat.unreadCount += 1;
    chat.msgs.add(msg);
    Msg.add(msg);
  }

  function loadChats(chats) {
    Msg.reset();
    Chat.reset();
    chats.forEach(function (c) {
      c.msgs.forEach(function (m) { incoming(m, false); });
      chatOf(new Wid(c.id + '@c.us')).unreadCount = c.unreadCount;
    });
  }

  // --- screens ---------------------------------------------------------------------------------

  var app = function () { return document.getElementById('app'); };

  function showQr(ref) {
    var el = document.querySelector('div[data-ref]');
    if (el) { el.setAttribute('data-ref', ref); el.lastChild.textContent = ref; return; }
    app().innerHTML = '<h3>Use WhatsApp on your computer</h3>' +
      '<div data-ref=""><canvas width="64" height="64"></canvas><p class="qr"></p></div>';
    el = document.querySelector('div[data-ref]');
    el.setAttribute('data-ref', ref);
    el.lastChild.textContent = ref;
  }

  function showChats() {
    var html = '<div data-asset-intro-image-light="true"><b>' + Conn.wid.user + '</b></div>' +
      '<div id="pane-side">';
    Chat.getModelsArray().forEach(function (c) {
      html += '<div class="chat">' + c.id.user +
        (c.unreadCount ? '<span class="unread">' + c.unreadCount + '</span>' : '') + '</div>';
    });
    app().innerHTML = html + '</div>';
  }

  // --- the connection --------------------------------------------------------------------------

  function connect() {
    var generation = ++session.generation;
    if (Socket.state !== 'PAIRING') Socket.setState('OPENING');
    getToken().then(function (token) {
      return api('POST', '/api/hello', {token: token || null});
    }).then(function (hello) {
      if (generation !== session.generation) return;
      session.device = hello.device;
      session.after = hello.since;
      if (hello.paired) {
        Conn.wid = new Wid(hello.number + '@c.us');
        Conn.pushname = hello.pushname;
        loadChats(hello.chats);
        showChats();
        Socket.setState('CONNECTED');
      } else {
        Conn.wid = null;
        showQr(hello.qr);
        Socket.setState('UNPAIRED');
      }
      poll(generation);
    }, function () {
      if (generation === session.generation) setTimeout(connect, 1000);
    });
  }

  function poll(generation) {
    if (generation !== session.generation) return;
    api('GET', '/api/poll?device=' + session.device + '&after=' + session.after + '&timeout=20')
      .then(function (r) {
        r.events.forEach(function (e) {
          if (generation !== session.generation) return;
          session.after = Math.max(session.after, e.n);
          handle(e);
        });
        poll(generation);
      }, function () { setTimeout(function () { poll(generation); }, 500); });
  }

  function loggedOut() {
    session.generation += 1;
    Conn.wid = null;
    Msg.reset();
    Chat.reset();
    Socket.setState('UNPAIRED');
    return dropToken().then(connect, connect);
  }

  function handle(e) {
    if (e.kind === 'qr') {
      showQr(e.qr);
    } else if (e.kind === 'paired') {
      session.generation += 1;
      Socket.setState('PAIRING');
      setToken(e.token).then(connect);
    } else if (e.kind === 'message') {
      incoming(e.message, true);
      showChats();
    } else if (e.kind === 'ack') {
      var msg = Msg.get(e.id);
      if (msg && e.ack > msg.ack) { msg.ack = e.ack; Msg.emit('change:ack', msg, e.ack); }
    } else if (e.kind === 'logout') {
      loggedOut();
    } else if (e.kind === 'reload') {
      location.reload();
    }
  }

  Socket.logout = function () {
    return api('POST', '/api/logout', {device: session.device}).catch(function () {}).then(loggedOut);
  };
  Socket.takeover = function () { Socket.setState('CONNECTED'); };

  function hexId() {
    var s = '';
    for (var i = 0; i < 20; i++) s += '0123456789ABCDEF'[Math.floor(Math.random() * 16)];
    return s;
  }

  var modules = {
    WAWebCollections: {Msg: Msg, Chat: Chat},
    WAWebSocketModel: {Socket: Socket},
    WAWebConnModel: {Conn: Conn},
    WAWebContactProfilePicThumbBridge: {
      requestProfilePicFromServer: function () {
        return api('GET', '/api/profile-pic?device=' + session.device).then(function (r) {
          if (r.eurl) return r;
          var e = new Error('no profile picture');
          e.name = 'ServerStatusCodeError';  // what WhatsApp Web raises for a 404
          throw e;
        });
      }
    },
    WAWebSendMsgChatAction: {
      addAndSendMsgToChat: function (chat, draft) {
        var id = 'true_' + chat.id._serialized + '_' + hexId();
        var msg = {
          id: {fromMe: true, remote: chat.id, id: id, _serialized: id}, from: Conn.wid,
          to: chat.id, body: draft.body, type: draft.type, t: Math.floor(Date.now() / 1000),
          ack: 0, isNewMsg: true
        };
        Msg.add(msg);
        chat.msgs.add(msg);
        var sent = api('POST', '/api/send', {
          device: session.device, id: id, to: chat.id.user, body: draft.body,
          media: draft.media || null, quotedId: draft.quotedStanzaID || null
        }).then(function () { return {messageSendResult: 'OK'}; }, function (e) {
          if (e.status === 502) return {messageSendResult: 'ERROR_UNKNOWN'};
          throw e;
        });
        return [Promise.resolve(msg), sent];
      }
    },
    WAWebFindChatAction: {
      findOrCreateLatestChat: function (wid) { return Promise.resolve({chat: chatOf(wid)}); }
    },
    WAWebWidFactory: {createWid: function (s) { return new Wid(s); }},
    WAWebDownloadManager: {
      downloadManager: {
        downloadAndMaybeDecrypt: function (o) {
          return fetch(o.directPath).then(function (r) {
            if (!r.ok) throw new Error('media download failed: HTTP ' + r.status);
            return r.arrayBuffer();
          });
        }
      }
    },
    WAWebChatLoadMessages: {loadEarlierMsgs: function () { return Promise.resolve([]); }}
  };

  window.require = function (name) {
    if (!Object.prototype.hasOwnProperty.call(modules, name)) {
      throw new Error('Requiring unknown module "' + name + '"');
    }
    return modules[name];
  };

  connect();
})();
