"""Settings: parsing, readable errors, and every setting documented."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from services.settings import Settings, SettingsError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_defaults_are_usable_for_development() -> None:
    s = Settings.from_env({})
    assert s.database_url is None and s.port == 8000 and s.data_dir == Path(".affinity")
    assert s.base_url == "http://localhost:8000"
    assert s.effective_broker == "postgres"
    assert s.program_year_start_month == 8


def test_values_are_parsed() -> None:
    s = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://u:p@db:5432/aff",
            "REDIS_URL": "redis://r:6379/0",
            "AFFINITY_PORT": "9000",
            "AFFINITY_PUBLIC_URL": "https://aff.example.org/",
            "AFFINITY_ALLOWED_ORIGINS": "https://a.example.org, https://b.example.org",
            "AFFINITY_COOKIE_SECURE": "no",
            "AFFINITY_LOG_LEVEL": "debug",
            "AFFINITY_CHAT_SEND_POOL": "12",
        }
    )
    assert s.chat_send_pool == 12 and Settings().chat_send_pool == 4
    assert s.port == 9000 and s.base_url == "https://aff.example.org"
    assert s.allowed_origins == ("https://a.example.org", "https://b.example.org")
    assert s.secure_cookies is False and s.log_level == "DEBUG"
    assert s.effective_broker == "redis"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"AFFINITY_PORT": "eighty"}, "AFFINITY_PORT"),
        ({"AFFINITY_PORT": "70000"}, "from 1 to 65535"),
        ({"DATABASE_URL": "mysql://x"}, "postgresql://"),
        ({"AFFINITY_BROKER": "kafka"}, "one of auto, memory, postgres, redis"),
        ({"AFFINITY_BROKER": "redis"}, "needs REDIS_URL"),
        ({"AFFINITY_SECRET_KEY": "short"}, "at least 32"),
        ({"AFFINITY_PROGRAM_YEAR_START_MONTH": "13"}, "from 1 to 12"),
        ({"AFFINITY_REMINDER_HOUR": "24"}, "from 0 to 23"),
        ({"AFFINITY_CHAT_SEND_POOL": "0"}, "from 1 to 100"),
        ({"AFFINITY_ENVIRONMENT": "production"}, "AFFINITY_SECRET_KEY must be set"),
        ({"AFFINITY_ALLOWED_ORIGINS": "example.org"}, "must start with http"),
    ],
)
def test_bad_values_are_refused_with_a_readable_message(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert fragment in str(info.value)


def test_generated_secret_is_kept_private_and_stable(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path).with_secret()
    assert len(s.secret_key) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert Settings(data_dir=tmp_path).with_secret().secret_key == s.secret_key


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text()
    source = (Path(__file__).resolve().parents[2] / "services" / "settings.py").read_text()
    env_names = set(re.findall(r'take\((?:PREFIX \+ )?"([A-Z0-9_]+)"', source))
    assert len(env_names) >= len(msgspec.structs.fields(Settings)) - 1
    for name in env_names:
        full = name if name in {"DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR"} else "AFFINITY_" + name
        assert f"`{full}`" in text, f"{full} is not documented in docs/configuration.md"


def test_reminder_hour_defaults_to_nine_and_can_be_set() -> None:
    assert Settings.from_env({}).reminder_hour == 9
    assert Settings.from_env({"AFFINITY_REMINDER_HOUR": "0"}).reminder_hour == 0
