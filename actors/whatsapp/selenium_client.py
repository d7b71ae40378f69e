"""WhatsApp Web in headless Chromium, driven by selenium (``TT_WHATSAPP_CLIENT=selenium``).

One Chromium per connection, with its own ``--user-data-dir`` (the saved login lives there, as
WhatsApp Web keeps it in IndexedDB). ``bridge.js`` is injected into every document (CDP
``Page.addScriptToEvaluateOnNewDocument``, and again by hand when a drain finds it missing; its
sentinel makes a second injection a no-op). A poller greenlet drains the bridge's event log from
the last sequence number it processed — the page forgets only what Python confirmed — and turns
entries into the ``Client*`` events of :mod:`actors.messages`.

Before every launch :func:`free_profile` reads the profile's ``SingletonLock`` (a symlink to
``<hostname>-<pid>``): a browser orphaned by a server that died hard (its chromedriver gone or
adopted by pid 1 / a subreaper) is killed and a stale lock removed, so a restarted server can use
the profile again; a browser some live process still owns, or a lock taken on another host
(shared storage), makes the start fail with ClientError instead — nothing is stolen.

Every browser command runs under one lock (chromedriver serialises a session's commands anyway)
and a ``gevent.Timeout``; selenium talks to chromedriver over urllib3 sockets, which gevent
patches, so a command in flight never blocks other greenlets. Slow WhatsApp calls (send, profile
picture, unread, media) are started in the page and answered through the log (``result``
entries), so no command waits on WhatsApp.
"""
from __future__ import annotations

import base64
import itertools
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass

import gevent
import gevent.event
import gevent.lock

from actors.messages import (ClientAck, ClientDisconnected, ClientLoggedOut, ClientMessage,
                             ClientQr, ClientReady, ClientState, Media, WaMessage)
from actors.whatsapp import adapter
from actors.whatsapp.client import (CONFLICT, CONNECTED, DISCONNECTED, OPENING, ClientError,
                                    NotConnected, NotPaired, SendReceipt, WhatsAppClient)

log = logging.getLogger(__name__)

BRIDGE_SOURCE = open(os.path.join(os.path.dirname(__file__), "bridge.js"),
                     encoding="utf-8").read().strip()
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--no-first-run",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage")
_DRAIN = ("var b = window.__ttBridge;"
          " return b ? b.drain(arguments[0], arguments[1], arguments[2]) : null;")
_STATE = "var b = window.__ttBridge; return b ? b.state() : null;"
_CALL = "return window.__ttBridge.call(arguments[0], arguments[1], arguments[2]);"
SINGLETON_FILES = ("SingletonLock", "SingletonSocket", "SingletonCookie")
ORPHAN_GRACE = 3.0   # seconds an orphaned browser gets to exit on SIGTERM before SIGKILL
ORPHAN_REAP = 5.0    # seconds to wait for it to be gone after SIGKILL


@dataclass(frozen=True)
class BrowserOptions:
    """How to run Chromium. Seconds for every duration."""

    url: str = adapter.WHATSAPP_WEB_URL
    profiles_dir: str = "data/wa-profiles"
    chromium: str = "/usr/bin/chromium"
    chromedriver: str = "/usr/bin/chromedriver"
    poll_interval: float = 0.25     # between drains of the event log (0.05 while a call waits)
    command_timeout: float = 15.0   # one chromedriver command
    start_timeout: float = 60.0     # launch + page load; and the wait for ready after a reload
    call_timeout: float = 30.0      # an in-page WhatsApp call without its own timeout


class SeleniumClientFactory:
    """``factory(whatsapp_id, on_event)`` → a :class:`SeleniumClient` with its own profile dir."""

    def __init__(self, options: BrowserOptions) -> None:
        self.options = options

    def __call__(self, whatsapp_id: int, on_event) -> "SeleniumClient":
        return SeleniumClient(whatsapp_id, on_event, self.options)


class SeleniumClient(WhatsAppClient):
    def __init__(self, whatsapp_id: int, on_event, options: BrowserOptions) -> None:
        super().__init__(whatsapp_id, on_event)
        self.options = options
        self.profile_dir = os.path.abspath(
            os.path.join(options.profiles_dir, f"whatsapp-{whatsapp_id}"))
        self._driver = None
        self._command_lock = gevent.lock.RLock()
        self._life_lock = gevent.lock.RLock()   # start / reconnect / stop never overlap
        self._poller: gevent.Greenlet | None = None
        self._wake = gevent.event.Event()
        self._epoch: str | None = None
        self._seq = 0
        self._pending: dict[int, gevent.event.AsyncResult] = {}
        self._req_ids = itertools.count(1)
        self._state = DISCONNECTED
        self._paired = False                       # a ready was seen since the last QR
        self._settled = gevent.event.AsyncResult()  # "ready" | "qr" after a (re)load
        self._muted = False                         # during our own logout: no events out
        self.bridge_version: str | None = None

    def __str__(self) -> str:
        return f"<SeleniumClient whatsapp={self.whatsapp_id}>"

    # --- the interface --------------------------------------------------------------------------

    def start(self) -> None:
        with self._life_lock:
            if self._driver is not None and self._browser_alive():
                return
            self._emit(ClientState(OPENING))
            self._quit()
            self._launch()

    def state(self) -> str:
        if self._life_lock.locked():  # starting, reconnecting or logging out: not a failure
            return OPENING
        return adapter.session_state(self._command(lambda d: d.execute_script(_STATE)))

    def verify_real_connection(self, timeout: float) -> bool:
        try:
            self._call("profilePic", [int(timeout * 1000)], timeout)
            return True
        except ClientError as exc:
            log.info("%s: profile picture round trip failed: %s", self, exc)
            return False

    def send(self, to, body, media=None, quoted_wa_id=None, timeout=30.0) -> SendReceipt:
        if not self._paired or self._state != CONNECTED:
            raise NotConnected(f"session is {self._state}")
        payload = None
        if media is not None:
            major = media.mimetype.split("/", 1)[0]
            payload = {"type": major if major in ("image", "video", "audio") else "document",
                       "mimetype": media.mimetype, "filename": media.filename,
                       "data": base64.b64encode(media.data or b"").decode()}
        value = self._call("send", [to, body, payload, quoted_wa_id], timeout)
        return SendReceipt(value["id"], int(value.get("ack") or 0))

    def get_unread(self, limit_per_chat: int = 100) -> list[WaMessage]:
        if not self._paired:
            raise NotConnected(f"session is {self._state}")
        return [_message(m) for m in self._call("unread", [limit_per_chat])]

    def download_media(self, message: WaMessage) -> Media:
        value = self._call("download", [message.wa_id], self.options.call_timeout * 2)
        return Media(value["mimetype"], value.get("filename"), base64.b64decode(value["data"]))

    def reconnect(self, hard: bool = False) -> None:
        """Soft: take over a CONFLICT, else reload the page (the bridge comes back with it).
        Hard: restart Chromium on the same profile. Returns once CONNECTED; NotPaired when
        the page shows a QR instead; ClientError otherwise."""
        with self._life_lock:
            self._settled = gevent.event.AsyncResult()
            if hard:
                self._quit()
                self._launch()
            elif self._driver is None or not self._browser_alive():
                raise ClientError("the browser is gone (a restart is needed)")
            elif self._state == CONFLICT:
                self._call("takeover", [])
            else:
                self._stop_poller()
                self._command(lambda d: d.refresh(), self.options.start_timeout)
                self._inject()
                self._start_poller()
            try:
                outcome = self._settled.get(timeout=self.options.start_timeout)
            except gevent.Timeout:
                raise ClientError("WhatsApp Web did not come back after the reload") from None
            if outcome != "ready":
                raise NotPaired("not paired: the page shows a QR code")

    def logout(self) -> None:
        with self._life_lock:
            self._paired, self._muted = False, True
            try:
                if self._driver is not None:
                    self._call("logout", [], 5.0)
            except ClientError as exc:
                log.info("%s: in-page logout failed (%s); deleting the profile anyway", self, exc)
            finally:
                self._quit()
                self._muted = False
            shutil.rmtree(self.profile_dir, ignore_errors=True)

    def new_qr(self) -> None:
        with self._life_lock:
            self.logout()
            self.start()

    def stop(self) -> None:
        with self._life_lock:
            self._quit()

    # --- for tests and benchmarks ---------------------------------------------------------------

    def browser_pids(self) -> list[int]:
        """Every process under chromedriver (Chromium's browser, renderers, zygotes, …)."""
        driver = self._driver
        process = getattr(getattr(driver, "service", None), "process", None)
        return _descendants(process.pid) if process is not None else []

    def browser_pid(self) -> int | None:
        driver = self._driver
        process = getattr(getattr(driver, "service", None), "process", None)
        if process is None:
            return None
        children = _children(process.pid)
        return children[0] if children else None

    # --- the browser ---------------------------------------------------------------------------

    def _launch(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        opts = self.options
        os.makedirs(self.profile_dir, exist_ok=True)
        free_profile(self.profile_dir)
        chrome = webdriver.ChromeOptions()
        chrome.binary_location = opts.chromium
        for flag in CHROMIUM_FLAGS:
            chrome.add_argument(flag)
        chrome.add_argument(f"--user-data-dir={self.profile_dir}")
        chrome.page_load_strategy = "normal"
        service = Service(executable_path=opts.chromedriver, log_output=subprocess.DEVNULL)
        try:
            with gevent.Timeout(opts.start_timeout, ClientError("Chromium did not start")):
                driver = webdriver.Chrome(service=service, options=chrome)
        except ClientError:
            _kill_tree(service)
            raise
        except Exception as exc:  # noqa: BLE001 - selenium's many startup errors
            _kill_tree(service)
            raise ClientError(f"Chromium did not start: {exc}") from exc
        # A fallback bound under our own gevent timeouts.
        driver.command_executor._client_config.timeout = opts.start_timeout + 5
        self._driver = driver
        self._epoch, self._seq = None, 0
        version = driver.capabilities.get("browserVersion", "124.0.0.0")
        self._command(lambda d: d.execute_cdp_cmd("Emulation.setUserAgentOverride", {
            "userAgent": adapter.USER_AGENT.format(version=version)}))
        self._command(lambda d: d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
            "source": f"({BRIDGE_SOURCE})({json.dumps(adapter.PAGE)});"}))
        self._command(lambda d: d.set_page_load_timeout(opts.start_timeout))
        self._command(lambda d: d.get(opts.url), opts.start_timeout)
        self._inject()
        self._start_poller()

    def _inject(self) -> None:
        result = self._command(lambda d: d.execute_script(
            f"return ({BRIDGE_SOURCE})(arguments[0]);", adapter.PAGE))
        if isinstance(result, dict):
            self.bridge_version = result.get("version")

    def _quit(self) -> None:
        self._stop_poller()
        driver, self._driver = self._driver, None
        self._state = DISCONNECTED
        for result in list(self._pending.values()):
            result.set({"ok": False, "error": "the browser was closed"})
        if driver is None:
            return
        try:
            with gevent.Timeout(10):
                driver.quit()
        except (Exception, gevent.Timeout) as exc:  # noqa: BLE001 - then kill it
            log.warning("%s: Chromium did not quit (%s); killing it", self, exc)
            _kill_tree(driver.service)

    def _browser_alive(self) -> bool:
        pid = self.browser_pid()
        return pid is not None and _alive(pid)

    def _command(self, fn, timeout: float | None = None):
        """Run one chromedriver command under the lock and a timeout. ClientError on failure."""
        from selenium.common.exceptions import WebDriverException

        timeout = timeout or self.options.command_timeout
        with self._command_lock:
            driver = self._driver
            if driver is None:
                raise NotConnected("the browser is not running")
            try:
                with gevent.Timeout(timeout, ClientError(f"browser command timed out after "
                                                         f"{timeout}s")):
                    return fn(driver)
            except WebDriverException as exc:
                raise ClientError(f"browser: {exc.msg or type(exc).__name__}") from exc

    # --- the event log --------------------------------------------------------------------------

    def _start_poller(self) -> None:
        self._stop_poller()
        self._poller = gevent.spawn(self._poll_forever)

    def _stop_poller(self) -> None:
        poller, self._poller = self._poller, None
        if poller is not None and poller is not gevent.getcurrent():
            poller.kill(block=True, timeout=self.options.command_timeout + 1)

    def _poll_forever(self) -> None:
        failures = 0
        while True:
            try:
                batch = self._command(lambda d: d.execute_script(_DRAIN, self._epoch,
                                                                 self._seq, 500))
                failures = 0
            except ClientError as exc:
                failures += 1
                if failures >= 3 or not self._browser_alive():
                    log.warning("%s: the browser stopped answering: %s", self, exc)
                    self._state = DISCONNECTED
                    self._emit(ClientDisconnected(str(exc)))
                    return
                gevent.sleep(self.options.poll_interval)
                continue
            if batch is None:  # a document without the bridge (it outran the CDP script)
                try:
                    self._inject()
                except ClientError as exc:
                    log.info("%s: bridge not injected yet: %s", self, exc)
                continue
            self._consume(batch)
            fast = self._pending or len(batch.get("entries", ())) >= 500
            self._wake.clear()
            self._wake.wait(0.05 if fast else self.options.poll_interval)

    def _consume(self, batch: dict) -> None:
        if batch["epoch"] != self._epoch:  # a new document: its log starts again at 1
            self._epoch, self._seq = batch["epoch"], 0
            self.bridge_version = batch.get("version")
        for entry in batch["entries"]:
            if entry["seq"] <= self._seq:
                continue
            self._seq = entry["seq"]
            try:
                self._dispatch(entry["type"], entry["data"])
            except Exception:  # noqa: BLE001 - one bad entry never stops the poller
                log.exception("%s: bad bridge entry %r", self, entry)

    def _dispatch(self, kind: str, data: dict) -> None:
        if kind == "result":
            waiting = self._pending.get(data["req"])
            if waiting is not None:
                waiting.set(data)
        elif kind == "state":
            self._state = adapter.session_state(data["state"])
            self._emit(ClientState(self._state))
        elif kind == "qr":
            if self._paired:  # a QR after a login: the phone unlinked us (maybe across a reload)
                self._paired = False
                self._emit(ClientLoggedOut("the page shows a QR code again"))
            self._settled.set("qr")
            self._emit(ClientQr(data["qr"]))
        elif kind == "ready":
            self._paired = True
            self._state = CONNECTED
            self._emit(ClientReady(data.get("number")))
            self._settled.set("ready")
        elif kind == "message":
            self._emit(ClientMessage(_message(data)))
        elif kind == "ack":
            self._emit(ClientAck(data["id"], int(data["ack"])))
        elif kind == "logout":
            if self._paired:
                self._paired = False
                self._emit(ClientLoggedOut(data.get("reason") or "logged out"))
        elif kind == "disconnected":
            self._emit(ClientDisconnected(data.get("reason") or "disconnected"))

    def _call(self, name: str, args: list, timeout: float | None = None):
        """Start ``name`` in the page and wait for its ``result`` entry. ClientError on failure."""
        timeout = timeout or self.options.call_timeout
        req = next(self._req_ids)
        waiting = self._pending[req] = gevent.event.AsyncResult()
        try:
            self._command(lambda d: d.execute_script(_CALL, req, name, args))
            self._wake.set()
            outcome = waiting.get(timeout=timeout)
        except gevent.Timeout:
            raise ClientError(f"{name} timed out after {timeout}s") from None
        finally:
            self._pending.pop(req, None)
        if not outcome["ok"]:
            raise ClientError(outcome.get("error") or f"{name} failed")
        return outcome.get("value")

    def _emit(self, event) -> None:
        if self._muted:
            return
        try:
            self.on_event(event)
        except Exception as exc:  # noqa: BLE001 - the session is gone: nobody to tell
            log.debug("%s: event %r dropped: %s", self, event, exc)


def _message(data: dict) -> WaMessage:
    """A bridge ``message`` entry → :class:`WaMessage` (media described, bytes not loaded)."""
    media = data.get("media")
    return WaMessage(
        wa_id=data["id"], number=str(data.get("from") or ""), body=data.get("body") or "",
        type=data.get("type") or "chat", name=data.get("name"), timestamp=data.get("t"),
        from_me=bool(data.get("fromMe")), is_group=bool(data.get("isGroup")),
        quoted_wa_id=data.get("quotedId"),
        media=Media(media["mimetype"], media.get("filename")) if media else None)


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return sorted(found)


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def _kill_tree(service) -> None:
    process = getattr(service, "process", None)
    if process is None:
        return
    for pid in _descendants(process.pid) + [process.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        process.wait(timeout=5)
    except Exception:  # noqa: BLE001
        pass


# --- who holds a profile ---------------------------------------------------------------------


def free_profile(profile_dir: str) -> None:
    """Make ``profile_dir`` usable by a new Chromium, judging by its ``SingletonLock``.

    - no lock: nothing to do;
    - a lock taken on another host: ClientError, the lock is kept (the profile may be on shared
      storage and in use there; if that host is gone — say a recreated container with a new
      hostname — delete ``SingletonLock`` by hand);
    - a stale lock (its pid is dead, or is no longer a browser on this profile): the
      ``Singleton*`` files are removed;
    - a browser on this profile whose launcher is gone (its parent — or its chromedriver's
      parent — is pid 1 or a subreaper above us, as after a server was killed with ``kill -9``):
      it is killed with its whole process tree and its chromedriver, waited for, and the
      ``Singleton*`` files are removed (logged as a warning);
    - a browser on this profile that a live process owns (another server, another client of
      this process): ClientError naming its pid; nothing is killed.

    ClientError also when the orphan cannot be killed (another user's) or does not exit.
    """
    lock = _read_lock(profile_dir)
    if lock is None:
        return
    host, pid = lock
    if host != socket.gethostname():
        raise ClientError(f"profile {profile_dir} is locked by pid {pid} on another host {host} "
                          f"(shared storage?); delete its SingletonLock if that host is gone")
    if not _is_browser_on(pid, profile_dir):
        log.info("%s: removing a stale SingletonLock (pid %s is no browser on it)",
                 profile_dir, pid)
        _remove_singleton_files(profile_dir)
        return
    driver, owner = _launcher(pid)
    if not _is_orphan(owner):
        holder = "another client of this process" if owner == os.getpid() else "another process"
        raise ClientError(f"profile {profile_dir} in use by {holder}: Chromium pid {pid} "
                          f"(started by pid {owner})")
    log.warning("%s: killing orphaned Chromium pid %s (chromedriver %s, adopted by pid %s)",
                profile_dir, pid, driver, owner)
    _kill_orphan(pid, driver, profile_dir)
    _remove_singleton_files(profile_dir)


def _read_lock(profile_dir: str) -> tuple[str, int] | None:
    """``(hostname, pid)`` from ``SingletonLock``; None without a (readable) lock."""
    try:
        target = os.readlink(os.path.join(profile_dir, "SingletonLock"))
        host, pid = target.rsplit("-", 1)
        return host, int(pid)
    except (OSError, ValueError):
        return None


def _is_browser_on(pid: int, profile_dir: str) -> bool:
    """Whether ``pid`` is a live browser process (not a ``--type=`` child) on ``profile_dir``."""
    args = _cmdline(pid)
    if not args or any(a.startswith("--type=") for a in args):
        return False
    return _has_profile(args, profile_dir)


def _has_profile(args: list[str], profile_dir: str) -> bool:
    """Whether a command line has ``--user-data-dir=<profile_dir>`` (compared as real paths)."""
    flags = [a for a in args if a.startswith("--user-data-dir=")]
    wanted = os.path.realpath(profile_dir)
    return any(os.path.realpath(a.split("=", 1)[1]) == wanted for a in flags)


def _launcher(pid: int) -> tuple[int | None, int | None]:
    """``(chromedriver pid or None, owner pid)`` of a browser: the owner is the parent of
    its chromedriver, else its own parent (None once it is gone)."""
    parent = _parent(pid)
    if parent is not None and _name(parent) == "chromedriver":
        return parent, _parent(parent)
    return None, parent


def _is_orphan(owner: int | None) -> bool:
    """Whether a browser adopted by ``owner`` has lost its launcher: ``owner`` is gone, is pid
    1, or is one of our own ancestors (a subreaper such as ``systemd --user`` or tini, which
    adopts what a server under it leaves behind)."""
    return owner is None or owner <= 1 or owner in _ancestors(os.getpid())


def _kill_orphan(pid: int, driver: int | None, profile_dir: str) -> None:
    """SIGTERM the browser (a clean shutdown flushes the profile); after ``ORPHAN_GRACE``
    SIGKILL what is left of its family and its chromedriver, again until none is left (a dying
    browser can still fork a child). ClientError if they are not gone in ``ORPHAN_REAP``."""
    family = _family(pid, driver, profile_dir)
    _signal({pid: family[pid]}, signal.SIGTERM)
    if not _wait_gone({pid: family[pid]}, ORPHAN_GRACE):
        log.warning("orphaned Chromium pid %s ignored SIGTERM; killing it", pid)
    deadline = time.monotonic() + ORPHAN_REAP
    while True:
        family.update(_family(pid, driver, profile_dir))
        _signal(family, signal.SIGKILL)
        if _wait_gone(family, 0.5):
            return
        if time.monotonic() > deadline:
            raise ClientError(f"orphaned Chromium pid {pid} did not exit")


def _family(pid: int, driver: int | None, profile_dir: str) -> dict[int, int | None]:
    """``{pid: start time}`` of a browser, its descendants, every other process on its profile
    (children it lost to re-parenting) and its chromedriver."""
    pids = [pid, *_descendants(pid), *_processes_on(profile_dir), *([driver] if driver else [])]
    return {p: _start_time(p) for p in pids}


def _processes_on(profile_dir: str) -> list[int]:
    """Every process whose command line has ``--user-data-dir=<profile_dir>`` (Chromium passes
    it to all its children)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _has_profile(_cmdline(int(entry)), profile_dir):
            found.append(int(entry))
    return found


def _remove_singleton_files(profile_dir: str) -> None:
    """Unlink ``Singleton{Lock,Socket,Cookie}``, and the socket and cookie in the temporary
    ``org.chromium.*`` dir the profile's socket link points to (then that dir, if empty)."""
    try:
        socket_dir = os.path.dirname(os.readlink(os.path.join(profile_dir, "SingletonSocket")))
    except OSError:
        socket_dir = ""
    if not os.path.basename(socket_dir).startswith("org.chromium."):
        socket_dir = ""
    for folder in filter(None, (profile_dir, socket_dir)):
        for name in SINGLETON_FILES:
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass
    try:
        if socket_dir:
            os.rmdir(socket_dir)
    except OSError:
        pass


def _signal(processes: dict[int, int | None], signum: int) -> None:
    """Send ``signum`` to each pid still the process it was (same start time)."""
    for pid, started in processes.items():
        if _is_still(pid, started):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass
            except PermissionError as exc:
                raise ClientError(f"cannot kill orphaned Chromium process {pid}: {exc}") from exc


def _wait_gone(processes: dict[int, int | None], timeout: float) -> bool:
    """Whether every process exited (or is a zombie) within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while any(_is_still(p, started) for p, started in processes.items()):
        if time.monotonic() > deadline:
            return False
        gevent.sleep(0.05)
    return True


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first); None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _is_still(pid: int, started: int | None) -> bool:
    """Whether ``pid`` is still the live process that started at ``started`` (not reused)."""
    return started is not None and _start_time(pid) == started and _alive(pid)


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def _parent(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if fields is not None else None


def _start_time(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[19]) if fields is not None else None


def _ancestors(pid: int) -> set[int]:
    out = set()
    parent = _parent(pid)
    while parent and parent not in out:
        out.add(parent)
        parent = _parent(parent)
    return out


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return []
