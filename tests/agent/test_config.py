import pytest

from agent.config import ConfigError, from_dict, load_config


def test_defaults_and_toml(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text('[agent]\nid = "bistro-1"\n[broker]\nport = 1884\n[[printers]]\nname = "bar"\nstations = ["bar"]\n'
                    '[printers.options]\nhost = "10.0.0.9"\n')
    config = load_config(path, env={})
    assert config.agent.id == "bistro-1" and config.broker.port == 1884
    assert config.printers[0].options == {"host": "10.0.0.9"}
    assert config.http.port == 8080 and config.public_url == "http://127.0.0.1:8080"
    assert config.restaurant.visit_grace_minutes == 15  # a paid visit's phones keep it this long after all is served


def test_environment_overrides_the_file(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text("[broker]\nport = 1884\n")
    config = load_config(path, env={"TABLESIDE_AGENT_BROKER_PORT": "1999", "TABLESIDE_AGENT_ID": "env-agent"})
    assert config.broker.port == 1999 and config.agent.id == "env-agent"


@pytest.mark.parametrize(("raw", "env", "key"), [
    ({}, {"TABLESIDE_AGENT_BROKER_PORT": "abc"}, "broker.port"),
    ({"http": {"port": 70000}}, {}, "http.port"),
    ({"broker": {"hots": "x"}}, {}, "broker"),
    ({"agent": {"id": "has/slash"}}, {}, "agent.id"),
    ({"printers": [{"name": "k", "stations": []}]}, {}, "printers[0].stations"),
    ({"hub": {"url": "ftp://x"}}, {}, "hub.url"),
    ({"restaurant": {"visit_grace_minutes": -1}}, {}, "restaurant.visit_grace_minutes"),
    ({}, {"TABLESIDE_AGENT_RESTAURANT_VISIT_GRACE_MINUTES": "soon"}, "restaurant.visit_grace_minutes"),
])
def test_errors_name_the_key(tmp_path, raw, env, key):
    with pytest.raises(ConfigError) as info:
        if env:
            load_config(None, env=env)
        else:
            from_dict(raw)
    assert str(info.value).startswith(key)


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[agent\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, env={})


def test_log_format_is_text_or_json():
    assert load_config(None, {}).agent.log_format == "text"
    assert load_config(None, {"TABLESIDE_AGENT_LOG_FORMAT": "json"}).agent.log_format == "json"
    with pytest.raises(ConfigError, match="agent.log_format"):
        load_config(None, {"TABLESIDE_AGENT_LOG_FORMAT": "xml"})
