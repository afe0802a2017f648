"""Settings: file, environment overrides, and errors that name the key."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from bot import config

ROOT = Path(__file__).parents[2]


def test_defaults_start_without_a_file() -> None:
    s = config.load(None, env={})
    assert s.database.url.startswith("sqlite:///")
    assert [n.number for n in s.safety.emergency()] == ["112", "19696", "02 2327 2327", "1522"]
    assert not s.twilio.enabled and not s.email.enabled


def test_example_documents_every_setting() -> None:
    data = tomllib.loads((ROOT / "config.example.toml").read_text())
    for section in dataclasses.fields(config.Settings):
        if section.name == "source":
            continue
        keys = {
            f.name
            for f in dataclasses.fields(
                section.type if isinstance(section.type, type) else getattr(config, section.type)
            )
        }
        assert section.name in data, f"[{section.name}] missing from config.example.toml"
        assert set(data[section.name]) == keys, f"[{section.name}] keys differ"
    config.load(ROOT / "config.example.toml", env={})  # and it is valid


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[server]\nport = 9000\n[twilio]\nauth_token = "from-file"\n')
    s = config.load(
        path,
        env={
            "SOS_TWILIO_AUTH_TOKEN": "from-env",
            "SOS_SERVER_PORT": "9100",
            "SOS_WORKER_POLL_SECONDS": "0.5",
        },
    )
    assert s.twilio.auth_token == "from-env"
    assert s.server.port == 9100
    assert s.worker.poll_seconds == 0.5


def test_sos_config_variable_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[privacy]\nretention_days = 30\n")
    assert config.load(None, env={"SOS_CONFIG": str(path)}).privacy.retention_days == 30


def test_list_setting_from_environment_as_toml() -> None:
    s = config.load(None, env={"SOS_SAFETY_NUMBERS": '[{name = "Emergenza", number = "112"}]'})
    assert [n.number for n in s.safety.emergency()] == ["112"]


@pytest.mark.parametrize(
    ("text", "env", "named"),
    [
        ("[server]\nport = 'eighty'\n", {}, "server.port"),
        ("[server]\nprot = 80\n", {}, "server.prot"),
        ("[nope]\na = 1\n", {}, "[nope]"),
        ("[email]\nimap_tls = 'ssl'\n", {}, "email.imap_tls"),
        ("[service]\nhours = 'lun 9-12'\n", {}, "service.hours"),
        ("[service]\ntimezone = 'Mars/Olympus'\n", {}, "service.hours"),
        ("[privacy]\nretention_days = 0\n", {}, "privacy.retention_days"),
        ("", {"SOS_SERVER_PORT": "x"}, "SOS_SERVER_PORT"),
        ("", {"SOS_SAFETY_NUMBERS": "[{name = 1"}, "SOS_SAFETY_NUMBERS"),
        ("[safety]\nnumbers = [{name = 'x'}]\n", {}, "safety.numbers[0]"),
        ("[twilio]\nwhatsapp_number = '+39333'\n", {}, "twilio.whatsapp_number"),
        ("[server]\nenvironment = 'production'\n", {}, "server.secret_key"),
        ("[database]\nurl = 'nowhere'\n", {}, "database.url"),
    ],
)
def test_bad_value_names_the_key(
    tmp_path: Path, text: str, env: dict[str, str], named: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(config.ConfigError) as err:
        config.load(path, env=env)
    assert named in str(err.value)


def test_broken_toml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[server]\nport = = 1\n")
    with pytest.raises(config.ConfigError, match=r"c\.toml.*line 2"):
        config.load(path, env={})


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="not found"):
        config.load(tmp_path / "absent.toml", env={})


def test_production_accepts_real_secrets() -> None:
    s = config.load(
        None,
        env={
            "SOS_SERVER_ENVIRONMENT": "production",
            "SOS_SERVER_SECRET_KEY": "k" * 40,
            "SOS_SERVER_PUBLIC_URL": "https://aiuto.example.org",
        },
    )
    assert s.production
