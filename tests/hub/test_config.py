from pathlib import Path

import pytest

from hub.config import ConfigError, HubConfig, load_config
from tests.hub.factories import TOKEN

BASE_ENV = {"TABLESIDE_HUB_DATA_DIR": "/srv/hub", "TABLESIDE_HUB_OPERATOR_TOKEN": TOKEN}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(text)
    return path


def test_defaults_from_env_only():
    cfg = load_config(None, BASE_ENV)
    assert cfg.data_dir == Path("/srv/hub")
    assert cfg.database_url == "sqlite:////srv/hub/hub.sqlite"
    assert (cfg.http_host, cfg.http_port) == ("127.0.0.1", 8090)
    assert cfg.public_url == "http://127.0.0.1:8090"
    assert (cfg.broker_host, cfg.broker_port) == ("127.0.0.1", 1883)
    assert cfg.broker_username is None and cfg.broker_password is None
    assert cfg.shared_subscription is True
    assert cfg.client_id.startswith("hub-") and len(cfg.client_id) > 4
    assert load_config(None, BASE_ENV).client_id != cfg.client_id


def test_file_then_env_overrides(tmp_path):
    path = write(tmp_path, f"""
[hub]
data_dir = "{tmp_path}/data"
operator_token = "{TOKEN}"
public_url = "https://hub.example.com/"
database_url = "postgres://hub:s3cret@db:5432/hub"

[http]
host = "0.0.0.0"
port = 9000

[broker]
host = "mqtt.example.com"
port = 8883
username = "hub"
password = "pw"
shared_subscription = false
client_id = "hub-1"
""")
    cfg = load_config(path, {"TABLESIDE_HUB_BROKER_PORT": "1884", "TABLESIDE_HUB_HTTP_HOST": "127.0.0.2",
                             "TABLESIDE_HUB_BROKER_SHARED_SUBSCRIPTION": "yes"})
    assert cfg.data_dir == tmp_path / "data"
    assert cfg.database_url == "postgresql+psycopg://hub:s3cret@db:5432/hub"
    assert cfg.public_url == "https://hub.example.com"
    assert (cfg.http_host, cfg.http_port) == ("127.0.0.2", 9000)
    assert (cfg.broker_host, cfg.broker_port) == ("mqtt.example.com", 1884)
    assert (cfg.broker_username, cfg.broker_password, cfg.client_id) == ("hub", "pw", "hub-1")
    assert cfg.shared_subscription is True
    assert "pw" not in repr(cfg)


@pytest.mark.parametrize(("env", "expected"), [
    ({"TABLESIDE_HUB_BROKER_PORT": "abc"}, "broker.port (from TABLESIDE_HUB_BROKER_PORT): expected an integer 1-65535, got 'abc'"),
    ({"TABLESIDE_HUB_BROKER_PORT": "0"}, "broker.port"),
    ({"TABLESIDE_HUB_HTTP_PORT": "70000"}, "http.port"),
    ({"TABLESIDE_HUB_OPERATOR_TOKEN": "short"}, "hub.operator_token (from TABLESIDE_HUB_OPERATOR_TOKEN): must be at least 24"),
    ({"TABLESIDE_HUB_DATABASE_URL": "mysql://u:topsecret@h/db"}, "hub.database_url"),
    ({"TABLESIDE_HUB_DATABASE_URL": "::::"}, "hub.database_url"),
    ({"TABLESIDE_HUB_PUBLIC_URL": "hub.example.com"}, "hub.public_url"),
    ({"TABLESIDE_HUB_BROKER_SHARED_SUBSCRIPTION": "maybe"}, "broker.shared_subscription"),
    ({"TABLESIDE_HUB_BROKER_HOST": "  "}, "broker.host"),
])
def test_env_errors_name_the_key(env, expected):
    with pytest.raises(ConfigError) as err:
        load_config(None, {**BASE_ENV, **env})
    assert str(err.value).startswith(expected)
    assert "topsecret" not in str(err.value) and "short" not in str(err.value)


@pytest.mark.parametrize(("missing", "key"), [
    ("TABLESIDE_HUB_OPERATOR_TOKEN", "hub.operator_token: required"),
    ("TABLESIDE_HUB_DATA_DIR", "hub.data_dir: required"),
])
def test_required_keys(missing, key):
    env = {k: v for k, v in BASE_ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=f"^{key}.*{missing}"):
        load_config(None, env)


@pytest.mark.parametrize(("toml", "expected"), [
    ('[broker]\nport = "abc"\n', "broker.port: expected an integer 1-65535, got 'abc'"),
    ("[broker]\nport = 18.5\n", "broker.port: expected an integer"),
    ("[broker]\nport = true\n", "broker.port: expected an integer"),
    ("[http]\nprot = 80\n", "http.prot: unknown key"),
    ("[web]\nport = 80\n", "web: unknown section"),
    ('http = "x"\n', "http: expected a [http] table"),
    ('[broker]\nshared_subscription = "sometimes"\n', "broker.shared_subscription: expected true or false"),
])
def test_file_errors_name_the_key(tmp_path, toml, expected):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, toml), BASE_ENV)
    assert str(err.value).startswith(expected)


def test_bad_toml_and_missing_file_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="hub.toml: not valid TOML"):
        load_config(write(tmp_path, "[hub\n"), BASE_ENV)
    with pytest.raises(ConfigError, match="nope.toml: config file not found"):
        load_config(tmp_path / "nope.toml", BASE_ENV)


def test_direct_construction_is_checked_too(tmp_path):
    cfg = HubConfig(data_dir=tmp_path, operator_token=TOKEN, http_port=0, broker_port=1999,
                    shared_subscription=False)
    assert cfg.database_url == f"sqlite:///{tmp_path}/hub.sqlite"
    assert cfg.http_port == 0 and cfg.broker_port == 1999 and not cfg.shared_subscription
    with pytest.raises(ConfigError, match="^hub.operator_token: must be at least 24"):
        HubConfig(data_dir=tmp_path, operator_token="x" * 23)
    with pytest.raises(ConfigError, match="^broker.port"):
        HubConfig(data_dir=tmp_path, operator_token=TOKEN, broker_port=70000)


def test_log_format_is_text_or_json():
    base = {"TABLESIDE_HUB_DATA_DIR": "/tmp/hub", "TABLESIDE_HUB_OPERATOR_TOKEN": "t" * 30}
    assert load_config(None, base).log_format == "text"
    assert load_config(None, {**base, "TABLESIDE_HUB_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ConfigError, match=r"hub.log_format \(from TABLESIDE_HUB_LOG_FORMAT\): expected one of text, json"):
        load_config(None, {**base, "TABLESIDE_HUB_LOG_FORMAT": "xml"})
