"""Playwright against Debian's Chromium and pytest-django's live server."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

from tests.conftest import IN_CI

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        message = f"Chromium not found at {CHROMIUM}; `make test` installs it from Debian."
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)  # only outside CI; under CI this is a failure above

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any, request: Any) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    refused = watch_content_security_policy(page)
    yield page
    screenshot(page, request.node.name + "-end")
    context.close()
    assert not refused, "the Content-Security-Policy blocked: " + "; ".join(refused)


@pytest.fixture
def phone_page(browser: Any, live_server: Any, request: Any) -> Iterator[Any]:
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    refused = watch_content_security_policy(page)
    yield page
    screenshot(page, request.node.name + "-end")
    context.close()
    assert not refused, "the Content-Security-Policy blocked: " + "; ".join(refused)


def watch_content_security_policy(page: Any) -> list[str]:
    """What the page's Content-Security-Policy refused (an inline script or style left over
    would break the page silently): the test fails at the end if anything was."""
    refused: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            refused.append(f"{page.url}: {message.text[:300]}")

    page.on("console", on_console)
    return refused


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Any, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()


def assert_accessible(page: Any, name: str) -> None:
    """axe-core on the current page: no serious or critical violations."""

    results = Axe().run(page)
    bad = [
        violation
        for violation in results.response["violations"]
        if violation.get("impact") in {"serious", "critical"}
    ]
    assert not bad, f"{name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes'][:3]]}"
        for v in bad
    )
