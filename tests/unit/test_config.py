"""Settings: defaults, TOML file, and one clear line for every malformed value."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, load_settings


def test_defaults_and_generated_secret(tmp_path: Path) -> None:
    settings = load_settings({"ITMA_HOME": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'itma.db'}"
    assert settings.smtp_listen == ("127.0.0.1", 8025)
    key = (tmp_path / "secret.key").read_text().strip()
    assert len(key) == 64 and (tmp_path / "secret.key").stat().st_mode & 0o077 == 0
    assert load_settings({"ITMA_HOME": str(tmp_path)}).secret_key == key.encode()


def test_toml_file_and_environment_precedence(tmp_path: Path) -> None:
    config = tmp_path / "itma.toml"
    config.write_text('mail_domain = "itma.example"\nhttp_listen = "0.0.0.0:9000"\n')
    settings = load_settings({"ITMA_HOME": str(tmp_path), "ITMA_CONFIG": str(config),
                              "ITMA_HTTP_LISTEN": "127.0.0.1:9001"})
    assert settings.mail_domain == "itma.example"
    assert settings.http_listen == ("127.0.0.1", 9001)


@pytest.mark.parametrize(("env", "named"), [
    ({"ITMA_SMTP_LISTEN": "localhost"}, "ITMA_SMTP_LISTEN"),
    ({"ITMA_HTTP_LISTEN": "1.2.3.4:99999"}, "ITMA_HTTP_LISTEN"),
    ({"ITMA_DATABASE_URL": "itma.db"}, "ITMA_DATABASE_URL"),
    ({"ITMA_SECRET_KEY": "short"}, "ITMA_SECRET_KEY"),
    ({"ITMA_PUBLIC_URL": "ftp://x"}, "ITMA_PUBLIC_URL"),
    ({"ITMA_CONFIG": "/nonexistent/itma.toml"}, "ITMA_CONFIG"),
    ({"ITMA_EID_OCSP": "sometimes"}, "ITMA_EID_OCSP"),
])
def test_malformed_settings_are_named(tmp_path: Path, env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({"ITMA_HOME": str(tmp_path), **env})
    assert str(error.value).startswith(named)


def test_unknown_key_in_file(tmp_path: Path) -> None:
    config = tmp_path / "itma.toml"
    config.write_text('smtp_relais = "x"\n')
    with pytest.raises(ConfigError, match="smtp_relais"):
        load_settings({"ITMA_HOME": str(tmp_path), "ITMA_CONFIG": str(config)})
