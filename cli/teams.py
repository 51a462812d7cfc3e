"""`teams package|channels|channel`: the sideloadable Teams app, and where request cards go.

The package is what an administrator uploads in Teams (Apps → Manage your apps → Upload an
app): manifest.json (the bot, its scopes and its command lists, in French with Dutch, English
and German translations) and the two icons, all at the root of the zip. Nothing here imports
the Teams SDK.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cli.runtime import CommandError, make_app, print_json
from core import i18n
from core.config import load_settings

MANIFEST_VERSION = "1.17"
SCHEMA = "https://developer.microsoft.com/json-schemas/teams/v{}/MicrosoftTeams{}.schema.json"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
DEFAULT_LANGUAGE = "fr"
LANGUAGE_TAGS = {"fr": "fr-BE", "nl": "nl-BE", "en": "en", "de": "de-BE"}
COMMANDS = ("help", "enroll", "seats", "requests", "link")
ACCENT = (0x1F, 0x4E, 0x79)
ZIP_TIME = (2026, 1, 1, 0, 0, 0)


def register(sub: argparse._SubParsersAction, command: Any) -> None:
    p = command("package", "write the sideloadable Teams app (manifest and icons, zipped)", sub)
    p.add_argument("--app-id", required=True, metavar="ID",
                   help="the bot's Microsoft App ID (Entra application, client id)")
    p.add_argument("--out", default="itma-assistant-teams.zip", metavar="FILE")
    p.set_defaults(func=package)
    p = command("channels", "Teams channels the bot was added to, and their organisation", sub)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=list_channels)
    p = command("channel", "send an organisation's new-registration cards to a channel", sub)
    p.add_argument("conversation", metavar="CHANNEL_ID", help="as listed by `teams channels`")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--org", metavar="CODE")
    target.add_argument("--none", action="store_true", help="no organisation any more")
    p.set_defaults(func=set_channel)


# -- the package ------------------------------------------------------------------------------


def _texts(language: str) -> dict[str, str]:
    """The manifest's localizable strings, by their manifest paths."""
    t = lambda key: i18n.t(language, key)  # noqa: E731
    texts = {"name.short": "ITMA Assistant", "name.full": "ITMA Assistant",
             "description.short": t("teams.app_short"), "description.full": t("teams.app_full")}
    for number, name in enumerate(COMMANDS):
        prefix = f"bots[0].commandLists[0].commands[{number}]"
        texts[f"{prefix}.title"] = t(f"teams.command_{name}")[:32]
        texts[f"{prefix}.description"] = t(f"teams.command_{name}_text")[:128]
    return texts


def manifest(app_id: str, public_url: str, version: str) -> dict[str, Any]:
    texts = _texts(DEFAULT_LANGUAGE)
    commands = [{"title": texts[f"bots[0].commandLists[0].commands[{n}].title"],
                 "description": texts[f"bots[0].commandLists[0].commands[{n}].description"]}
                for n in range(len(COMMANDS))]
    host = urlsplit(public_url).hostname or "localhost"
    website = public_url if public_url.startswith("https://") else f"https://{host}"
    return {
        "$schema": SCHEMA.format(MANIFEST_VERSION, ""),
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {"name": "SPF BOSA – IFA", "websiteUrl": website,
                      "privacyUrl": website, "termsOfUseUrl": website},
        "name": {"short": texts["name.short"], "full": texts["name.full"]},
        "description": {"short": texts["description.short"],
                        "full": texts["description.full"]},
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [{"botId": app_id, "scopes": ["personal", "team", "groupChat"],
                  "supportsFiles": True, "isNotificationOnly": False,
                  "commandLists": [{"scopes": ["personal", "team", "groupChat"],
                                    "commands": commands}]}],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [host],
        "localizationInfo": {
            "defaultLanguageTag": LANGUAGE_TAGS[DEFAULT_LANGUAGE],
            "additionalLanguages": [{"languageTag": LANGUAGE_TAGS[lang], "file": f"{lang}.json"}
                                    for lang in i18n.LANGUAGES if lang != DEFAULT_LANGUAGE]},
    }


def localization(language: str) -> dict[str, Any]:
    return {"$schema": SCHEMA.format(MANIFEST_VERSION, ".Localization"), **_texts(language)}


def _png(size: int, pixel: Any) -> bytes:
    """A minimal RGBA PNG; `pixel(x, y)` gives each pixel's (r, g, b, a)."""
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size))
                    for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def _letter_i(x: int, y: int, size: int) -> bool:
    """A bold lower-case "i" in the middle of the square."""
    unit = size / 8
    dot = 2.5 * unit <= x < 5.5 * unit and 1 * unit <= y < 2.5 * unit
    stem = 3 * unit <= x < 5 * unit and 3.2 * unit <= y < 7 * unit
    return dot or stem


def color_icon() -> bytes:
    """192×192: the letter on the accent colour (Teams draws it on its tiles)."""
    white, accent = (255, 255, 255, 255), (*ACCENT, 255)
    return _png(192, lambda x, y: white if _letter_i(x, y, 192) else accent)


def outline_icon() -> bytes:
    """32×32: white on transparent, as Teams requires for the app bar."""
    return _png(32, lambda x, y: (255, 255, 255, 255) if _letter_i(x, y, 32)
                else (0, 0, 0, 0))


def write_package(out: Path, app_id: str, public_url: str, version: str) -> None:
    files = {"manifest.json": json.dumps(manifest(app_id, public_url, version),
                                         ensure_ascii=False, indent=2).encode(),
             "color.png": color_icon(), "outline.png": outline_icon()}
    for language in i18n.LANGUAGES:
        if language != DEFAULT_LANGUAGE:
            files[f"{language}.json"] = json.dumps(localization(language), ensure_ascii=False,
                                                   indent=2).encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, ZIP_TIME), data)


def package(args: argparse.Namespace) -> int:
    from importlib.metadata import PackageNotFoundError, version

    if not GUID.match(args.app_id):
        raise CommandError("--app-id: expected the bot's Microsoft App ID, a GUID such as "
                           "00000000-0000-0000-0000-000000000000")
    try:
        release = version("itma-assistant")
    except PackageNotFoundError:
        release = "0.1.0"
    out = Path(args.out)
    try:
        write_package(out, args.app_id.lower(), load_settings().public_url, release)
    except OSError as exc:
        raise CommandError(f"--out: cannot write {out}: {exc.strerror}") from exc
    print(f"{out}: upload it in Teams (Apps → Manage your apps → Upload an app)")
    return 0


# -- channels ---------------------------------------------------------------------------------


def list_channels(args: argparse.Namespace) -> int:
    from bot import teams_store

    app = make_app()
    with app.unit_of_work(readonly=True) as uow:
        rows = teams_store.channels(uow)
    if args.json:
        print_json([{"tenant": c.tenant_id, "conversation": c.conversation_id, "name": c.name,
                     "organisation": c.organisation} for c in rows])
        return 0
    for c in rows:
        print(f"{c.conversation_id}  {c.name or '-'}  {c.organisation or '-'}")
    if not rows:
        print("no channel yet: add the app to a team in Teams first")
    return 0


def set_channel(args: argparse.Namespace) -> int:
    from bot import teams_store

    app = make_app()
    try:
        with app.unit_of_work() as uow:
            channel = teams_store.assign(uow, args.conversation, None if args.none else args.org)
    except teams_store.UnknownChannel as exc:
        raise CommandError(f"no Teams channel {exc} known: see `itma-assistant teams channels`"
                           ) from exc
    print(f"{channel.name or channel.conversation_id}: new-registration cards of "
          f"{channel.organisation or 'no organisation'}")
    return 0
