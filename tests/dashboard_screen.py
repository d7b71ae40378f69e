"""Selenium helpers for the dashboard tests: one headless Chromium and a page object per window.

The browser is Debian's ``chromium`` driven by ``/usr/bin/chromedriver`` (no Selenium Manager: it
needs the network). Each :class:`Screen` is one attendant's window; two attendants of one test use
two origins (``127.0.0.1`` and ``localhost``) so each keeps its own login in localStorage.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,800", "--lang=en-US",
         # background windows must keep running their timers and sockets like a real screen
         "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
         "--disable-backgrounding-occluded-windows")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
PASSWORD = "secret123"


def start_browser() -> tuple[webdriver.Chrome, str]:
    """A fresh headless Chromium with its own temporary profile. Returns (driver, profile dir)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="tt-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    return driver, profile


def stop_browser(driver, profile: str) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def reset_windows(driver) -> None:
    """Close every window but the first; forget the test's logins; leave it blank."""
    handles = driver.window_handles
    for handle in handles:
        driver.switch_to.window(handle)
        try:
            driver.execute_script("window.localStorage && localStorage.clear()")
        except Exception:  # noqa: BLE001 - about:blank has no storage
            pass
        if handle != handles[0]:
            driver.close()
    driver.switch_to.window(handles[0])
    driver.get("about:blank")


def script_errors(driver) -> list[str]:
    """Uncaught JavaScript errors logged since the last call."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" and "Uncaught" in entry["message"]]


class Screen:
    """One attendant's window on the dashboard at ``base`` (``http://host:port``)."""

    def __init__(self, driver, base: str, handle: str | None = None) -> None:
        self.driver = driver
        self.base = base
        self.handle = handle or driver.current_window_handle

    def no_script_ran(self) -> bool:
        """True when no injected markup ran: the page's ``window.__xss`` marker is unset and no
        ``alert()`` is open (the XSS payloads of the tests set one or the other)."""
        if self.js("return window.__xss") is not None:
            return False
        try:
            self.driver.switch_to.alert.text  # noqa: B018 - raises when no alert is open
        except NoAlertPresentException:
            return True
        return False

    @classmethod
    def new_window(cls, driver, base: str) -> "Screen":
        driver.switch_to.new_window("window")
        return cls(driver, base, driver.current_window_handle)

    # --- plumbing ---------------------------------------------------------------------------

    def focus(self) -> None:
        if self.driver.current_window_handle != self.handle:
            self.driver.switch_to.window(self.handle)

    def wait(self, condition, timeout: float = 5.0, message: str = ""):
        """Poll ``condition()`` every 50 ms until it returns something truthy; returns it."""
        self.focus()
        return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(
            lambda _: condition(), message)

    def js(self, script: str, *args):
        self.focus()
        return self.driver.execute_script(script, *args)

    def find(self, css: str):
        self.focus()
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        return found[0] if found else None

    def shown(self, css: str) -> bool:
        return bool(self.js("const e = document.querySelector(arguments[0]);"
                            "return !!e && e.checkVisibility();", css))

    def text(self, css: str) -> str:
        return self.js("const e = document.querySelector(arguments[0]);"
                       "return e ? e.textContent : null;", css)

    def screenshot(self, name: str) -> None:
        self.focus()
        SCREENSHOTS.mkdir(exist_ok=True)
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))

    # --- screens ------------------------------------------------------------------------------

    def open(self) -> None:
        self.focus()
        self.driver.get(self.base + "/")
        self.wait(lambda: self.shown("#login-email") or self.shown("#user-name"),
                  message="the page loaded")

    def login(self, email: str, password: str = PASSWORD) -> None:
        self.open()
        self.find("#login-email").send_keys(email)
        self.find("#login-password").send_keys(password, Keys.ENTER)
        self.wait(lambda: self.text("#user-name") and self.live() == "up", 10,
                  message="logged in and live")

    def live(self) -> str:
        return self.js("return document.body.dataset.live")

    def go(self, page: str) -> None:
        self.js("location.hash = arguments[0]", f"#/{page}")

    # --- tickets --------------------------------------------------------------------------------

    def tickets(self) -> list[dict]:
        """The list on screen: ``[{id, status, name, number, preview, unread}]``."""
        return self.js("""return [...document.querySelectorAll('li[data-testid=ticket]')].map(e => ({
            id: Number(e.dataset.id), status: e.dataset.status,
            name: e.querySelector('.name').textContent,
            number: e.querySelector('.number').textContent,
            preview: e.querySelector('.preview').textContent,
            unread: Number((e.querySelector('.unread') || {}).textContent || 0)}));""")

    def ticket(self, number: str) -> dict | None:
        return next((t for t in self.tickets() if t["number"] == number), None)

    def tab(self, status: str) -> None:
        self.find(f"#tab-{status}").click()

    def count(self, status: str) -> int:
        return int(self.text(f"#count-{status}"))

    def open_ticket(self, number: str) -> int:
        found = self.wait(lambda: self.ticket(number), message=f"ticket of {number}")
        # by script: the list may re-render between finding the row and clicking it
        self.js("document.querySelector(arguments[0]).click()",
                f'li[data-testid=ticket][data-id="{found["id"]}"]')
        self.wait(lambda: self.js("return document.getElementById('conversation-pane')"
                                  ".dataset.loaded") == str(found["id"]),
                  message="conversation loaded")
        return found["id"]

    def action(self, kind: str) -> None:
        self.wait(lambda: self.find(f'#conv-actions [data-action="{kind}"]'),
                  message=f"action {kind}").click()

    # --- conversation -----------------------------------------------------------------------------

    def bubbles(self) -> list[dict]:
        """The conversation on screen: ``[{id, state, ack, body, optimistic, html}]``."""
        return self.js("""return [...document.querySelectorAll('#messages .msg')].map(e => ({
            id: e.dataset.id, state: e.dataset.state, ack: Number(e.dataset.ack),
            body: (e.querySelector('.body') || {}).textContent || '',
            optimistic: e.classList.contains('optimistic'), html: e.innerHTML}));""")

    def bubble(self, body: str) -> dict | None:
        return next((b for b in self.bubbles() if b["body"] == body), None)

    def type(self, *keys) -> None:
        self.find("#composer-text").send_keys(*keys)
