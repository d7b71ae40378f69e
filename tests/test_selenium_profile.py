"""Who holds a connection's Chromium profile before the selenium client launches on it: a
browser orphaned by a server killed hard is killed, a stale ``SingletonLock`` is removed, and a
browser that a live process still owns — or a lock taken on another host — is never touched:
the start fails with ClientError instead. Real headless Chromium; every process a test starts
is killed by the test itself (the ``profiles`` fixture checks that none is left)."""
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from actors.messages import ClientQr
from actors.whatsapp.client import ClientError
from actors.whatsapp.selenium_client import (BrowserOptions, SeleniumClient, _descendants,
                                             _remove_singleton_files)
from helpers import wait_for
from wa_backends import simulator  # noqa: F401 - a fixture

WHATSAPP_ID = 7
CHROMIUM = "/usr/bin/chromium"
SERVER = """
from gevent import monkey; monkey.patch_all()
import sys, time
from actors.whatsapp.selenium_client import BrowserOptions, SeleniumClient
client = SeleniumClient(int(sys.argv[1]), lambda event: None,
                        BrowserOptions(url=sys.argv[2], profiles_dir=sys.argv[3]))
client.start()
print(client.browser_pid(), client._driver.service.process.pid, flush=True)
time.sleep(60)
"""
HOLDER = """
import subprocess, sys, time
subprocess.Popen(sys.argv[1:])
time.sleep(60)
"""


def _processes_using(path: str) -> list[int]:
    """Every live process whose command line mentions ``path``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if path.encode() in fh.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def _kill(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _kill_until_gone(find, timeout: float = 5.0) -> None:
    """SIGKILL whatever ``find()`` returns until it returns nothing (a dying browser can still
    fork a child)."""
    wait_for(lambda: not _kill(find()) and not [p for p in find() if _alive(p)],
             timeout=timeout, interval=0.05, message="the processes to die")


def _cmd(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return "?"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _browser_args(profile: str) -> list[str]:
    return [CHROMIUM, "--headless=new", "--no-sandbox", f"--user-data-dir={profile}",
            "about:blank"]


def _lock_pid(profile: str, timeout: float = 10.0) -> int:
    """Wait for Chromium to take ``profile``; the browser process's pid."""
    lock = os.path.join(profile, "SingletonLock")
    target = wait_for(lambda: os.path.islink(lock) and os.readlink(lock), timeout=timeout,
                      message="the SingletonLock")
    return int(target.rsplit("-", 1)[1])


@pytest.fixture
def profiles(tmp_path):
    """A profiles dir; afterwards no process may still use it (leftovers are killed, then
    reported)."""
    path = str(tmp_path / "profiles")
    os.makedirs(path)
    yield path
    leftovers = {pid: _cmd(pid) for pid in _processes_using(path)}
    _kill(leftovers)
    assert not leftovers, f"processes left on the profiles dir: {leftovers}"


@pytest.fixture
def client(simulator, profiles):  # noqa: F811 - the fixture imported above
    _sim, url, _control = simulator
    events: list = []
    options = BrowserOptions(url=url, profiles_dir=profiles, poll_interval=0.05,
                             start_timeout=15.0)
    made = SeleniumClient(WHATSAPP_ID, events.append, options)
    made.events = events
    os.makedirs(made.profile_dir)
    yield made
    made.stop()


def _shows_a_qr(client) -> None:
    wait_for(lambda: any(isinstance(e, ClientQr) for e in client.events), timeout=10,
             message="a QR code")


def test_an_orphaned_chromium_on_the_profile_is_killed_and_the_client_starts(client, caplog):
    subprocess.run(["setsid", "sh", "-c", " ".join(_browser_args(client.profile_dir))
                    + " >/dev/null 2>&1 &"], check=True, timeout=5)
    orphan = _lock_pid(client.profile_dir)
    assert _alive(orphan)

    client.start()

    _shows_a_qr(client)
    assert not _alive(orphan)
    assert f"killing orphaned Chromium pid {orphan}" in caplog.text
    assert client.browser_pid() != orphan
    assert os.readlink(os.path.join(client.profile_dir, "SingletonLock")) \
        == f"{socket.gethostname()}-{client.browser_pid()}"


def test_the_browser_of_a_server_killed_hard_is_killed_with_its_chromedriver(client):
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(WHATSAPP_ID),
                               client.options.url, client.options.profiles_dir],
                              stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    left_behind: list[int] = []
    try:
        left_behind[:] = browser, driver = [int(p) for p in server.stdout.readline().split()]
        server.kill()  # kill -9: chromedriver and Chromium are left behind
        server.wait(timeout=5)
        assert _alive(driver) and _alive(browser)

        client.start()

        _shows_a_qr(client)
        assert not _alive(driver) and not _alive(browser)
    finally:
        _kill(left_behind + _descendants(server.pid))
        server.kill()
        server.wait(timeout=5)


def test_a_stale_lock_of_a_dead_pid_does_not_block_a_start(client):
    gone = subprocess.Popen(["true"])
    gone.wait()
    os.symlink(f"{socket.gethostname()}-{gone.pid}",
               os.path.join(client.profile_dir, "SingletonLock"))

    client.start()

    _shows_a_qr(client)
    assert os.readlink(os.path.join(client.profile_dir, "SingletonLock")) \
        == f"{socket.gethostname()}-{client.browser_pid()}"


def test_a_lock_whose_pid_is_now_another_program_does_not_block_a_start(client):
    os.symlink(f"{socket.gethostname()}-{os.getpid()}",  # alive, but not a browser
               os.path.join(client.profile_dir, "SingletonLock"))

    client.start()

    _shows_a_qr(client)


def test_a_profile_held_by_a_browser_a_live_process_owns_is_not_taken(client):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER,
                               *_browser_args(client.profile_dir)])
    try:
        browser = _lock_pid(client.profile_dir)
        started = time.monotonic()

        with pytest.raises(ClientError,
                           match=rf"in use by another process: Chromium pid {browser} "):
            client.start()

        assert time.monotonic() - started < 2  # refused before launching anything
        assert _alive(browser)
        assert client.browser_pid() is None
    finally:
        _kill_until_gone(lambda: _descendants(holder.pid) + _processes_using(client.profile_dir))
        holder.kill()
        holder.wait(timeout=5)
        _remove_singleton_files(client.profile_dir)  # and the socket's dir in /tmp


def test_a_lock_taken_on_another_host_is_refused_and_kept(client):
    lock = os.path.join(client.profile_dir, "SingletonLock")
    os.symlink("some-other-host-4242", lock)

    with pytest.raises(ClientError, match=r"pid 4242 on another host some-other-host"):
        client.start()

    assert os.readlink(lock) == "some-other-host-4242"
    assert client.browser_pid() is None
