"""The eID link page in a real browser: headless Chromium presents the officer's citizen
certificate from an NSS database, selected by a managed policy, and confirms the link.

The link URL comes from the chat ``lier`` reply; Chromium is driven over the DevTools protocol
(aiohttp). First the same browser visits an attacker's page on another origin that
auto-posts a confirmation the attacker read with their own card: the link page refuses it.
Needs the Debian packages ``chromium`` and ``libnss3-tools``.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import http.server
import json
import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy import select

from bot.link_page import LinkPage
from core import i18n, nrn
from core.conversation.engine import Engine
from core.conversation.types import Inbound
from core.models import ChatIdentity
from core.services import links
from core.services.access import NewOfficer, add_officer
from tests.conftest import NOW, World
from tests.support import pki
from tests.support.pki import CertAndKey

OFFICER_NRN = nrn.generate(random.Random(71))
ATTACKER_NRN = nrn.generate(random.Random(72))
OFFICER_NAME = "Sophie Mertens"
POLICY_DIR = Path("/etc/chromium/policies/managed")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None or shutil.which("certutil") is None or shutil.which("pk12util") is None:
        pytest.fail("headless Chromium and NSS tools are required: "
                    "apt-get install -y chromium libnss3-tools")
    return found


def _nss_home(home: Path, leaf: CertAndKey, chain: list[CertAndKey]) -> None:
    """A fresh NSS database under ``home/.pki/nssdb`` holding the citizen certificate + key."""
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True)
    p12 = home / "citizen.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"citizen", leaf.key, leaf.cert, [c.cert for c in chain],  # type: ignore[arg-type]
        serialization.NoEncryption()))
    env = {**os.environ, "HOME": str(home)}
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"],
                   check=True, capture_output=True, env=env, timeout=20)
    subprocess.run(["pk12util", "-i", str(p12), "-d", f"sql:{db}", "-W", ""],
                   check=True, capture_output=True, env=env, timeout=20)


class DevTools:
    """A minimal Chrome DevTools protocol client over one page target's websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        await self.ws.send_json({"id": ident, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self.ws.receive_json(), timeout=15)
            if message.get("id") == ident:
                assert "error" not in message, message
                return dict(message.get("result", {}))
            self.events.append(message)

    async def wait_event(self, method: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if any(e.get("method") == method for e in self.events):
                self.events = [e for e in self.events if e.get("method") != method]
                return
            left = deadline - time.monotonic()
            assert left > 0, f"no {method} from Chromium"
            self.events.append(await asyncio.wait_for(self.ws.receive_json(), timeout=left))

    async def text(self) -> str:
        result = await self.call("Runtime.evaluate", expression="document.body.innerText",
                                 returnByValue=True)
        return " ".join(str(result["result"].get("value", "")).split())


async def _drive(debug_port: int, url: str, screenshot: Path) -> tuple[str, str]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{debug_port}/json/list") as response:
            targets = await response.json(content_type=None)
        page = next(t for t in targets if t.get("type") == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            tools = DevTools(ws)
            await tools.call("Page.enable")
            await tools.call("Page.navigate", url=url)
            await tools.wait_event("Page.loadEventFired")
            before = await tools.text()
            await tools.call("Runtime.evaluate",
                             expression="document.querySelector('form').submit()")
            await tools.wait_event("Page.loadEventFired")
            after = await tools.text()
            shot = await tools.call("Page.captureScreenshot", format="png")
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            return before, after


async def _visit_attacker(debug_port: int, attacker_url: str, target: str) -> str:
    """Open the attacker's page; it posts its form to ``target`` at once. The page text then."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{debug_port}/json/list") as response:
            targets = await response.json(content_type=None)
        page = next(t for t in targets if t.get("type") == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            tools = DevTools(ws)
            await tools.call("Page.navigate", url=attacker_url)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                state = await tools.call(
                    "Runtime.evaluate", returnByValue=True,
                    expression="location.href + ' ' + document.readyState")
                if state["result"].get("value") == f"{target} complete":
                    return await tools.text()
                await asyncio.sleep(0.1)
            raise AssertionError("the attacker's form did not reach the link page")


class _AttackerSite:
    """Another origin serving one page that auto-posts a form to the link page, as a phishing
    site would: it carries a confirmation value the attacker read with their own card."""

    def __init__(self, action: str, confirmation: str) -> None:
        body = (f'<!DOCTYPE html><html><body><form method="post" action="{action}">'
                f'<input type="hidden" name="csrf" value="{confirmation}"></form>'
                "<script>document.forms[0].submit()</script></body></html>").encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __enter__(self) -> _AttackerSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _debug_port(profile: Path, process: subprocess.Popen[bytes]) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"Chromium exited early with {process.returncode}")
        if marker.exists():
            first = marker.read_text().split("\n", 1)[0].strip()
            if first.isdigit():
                return int(first)
        time.sleep(0.1)
    raise AssertionError("Chromium did not open its DevTools port")


def test_link_in_headless_chromium(world: World, tmp_path: Path) -> None:
    browser = _chromium()
    ca = pki.build_pki(NOW)
    trust_dir = pki.write_trust_dir(tmp_path / "eid-trust", ca.trust_pems())
    app = world.app
    with app.unit_of_work() as uow:
        add_officer(uow, NewOfficer("sophie.mertens@bosa.example", OFFICER_NAME, OFFICER_NRN,
                                    ["BOSA"], language="fr"))

    app.settings = dataclasses.replace(app.settings, link_listen=("127.0.0.1", 0),
                                       eid_trust_dir=trust_dir)
    page = LinkPage(app).start()
    policy = POLICY_DIR / f"itma-test-link-{os.getpid()}.json"
    process: subprocess.Popen[bytes] | None = None
    try:
        port = page.address[1]
        origin = f"https://127.0.0.1:{port}"
        app.settings = dataclasses.replace(app.settings, public_url=origin)
        reply = Engine(app).handle(Inbound("slack:T1", "U1", text="lier"))
        found = re.search(re.escape(origin) + r"/link/[A-Za-z0-9_\-]+", reply.text)
        assert found is not None, reply.text
        url = found.group(0)

        with app.unit_of_work() as uow:
            add_officer(uow, NewOfficer("bart@bosa.example", "Bart Janssens", ATTACKER_NRN,
                                        ["BOSA"]))
            attack_action = links.issue(uow, "slack", "T0ATT", "U0ATTACKER")
        own_card = ca.citizen(ATTACKER_NRN, key_type="ec").pem
        read = page.handle("GET", urlsplit(attack_action).path, "fr", own_card, None)
        found_value = re.search(rb'name="csrf" value="([^"]+)"', read.body)
        assert read.status == 200 and found_value is not None
        attacker_confirmation = found_value.group(1).decode()

        home = tmp_path / "home"
        leaf = ca.citizen(OFFICER_NRN)
        _nss_home(home, leaf, [ca.citizen_ca])
        POLICY_DIR.mkdir(parents=True, exist_ok=True)
        pattern = json.dumps({"pattern": origin, "filter": {}})
        policy.write_text(json.dumps({"AutoSelectCertificateForUrls": [pattern]}))

        profile = tmp_path / "profile"
        process = subprocess.Popen(
            [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--ignore-certificate-errors", "--lang=fr",
             f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--window-size=1000,800", "about:blank"],
            env={**os.environ, "HOME": str(home)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        screenshot = tmp_path / "link-page.png"
        port_ = _debug_port(profile, process)
        with _AttackerSite(attack_action, attacker_confirmation) as attacker:
            attacked = asyncio.run(_visit_attacker(port_, attacker.url, attack_action))
        attacked = " ".join(attacked.split())  # in the browser's language: no card was read
        assert any(i18n.t(lang, "linkpage.cross_site") in attacked
                   for lang in i18n.LANGUAGES), attacked
        before, after = asyncio.run(_drive(port_, url, screenshot))
        print(f"\nlink page screenshot: {screenshot}")

        assert OFFICER_NAME in before, before
        assert i18n.t("fr", "linkpage.confirm_title") in before, before
        assert i18n.t("fr", "linkpage.confirm_button") in before, before
        assert i18n.t("fr", "linkpage.confirm_warning") in before, before
        assert "Slack" in before and "T1" in before and "U1" in before
        assert OFFICER_NRN not in before and nrn.format_nrn(OFFICER_NRN) not in before
        done = " ".join(i18n.t("fr", "linkpage.done", name=OFFICER_NAME).split())
        assert done in after, after
        assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        policy.unlink(missing_ok=True)
        page.stop()

    with app.unit_of_work(readonly=True) as uow:
        identity = uow.session.scalar(select(ChatIdentity).where(
            ChatIdentity.platform == "slack", ChatIdentity.workspace == "T1",
            ChatIdentity.user_ref == "U1"))
        assert identity is not None
        assert identity.linked_via == "eid"
        assert uow.session.scalar(select(ChatIdentity).where(
            ChatIdentity.user_ref == "U0ATTACKER")) is None
