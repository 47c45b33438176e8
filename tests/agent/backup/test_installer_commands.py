"""What the installer types: pairing prints the recovery code; `backup now|list|code` beside the box;
the [backup] and [backups] keys checked with errors that name them."""

import aiohttp
import pytest

from agent.backup import recovery_code
from agent.config import ConfigError, from_dict
from hub.app import create_app as create_hub_app
from hub.config import ConfigError as HubConfigError
from hub.config import HubConfig, load_config
from tableside.serve import Server
from tests.agent.backup.boxes import OPERATOR_TOKEN, backup_command, code_for, restaurant, setup_command
from tests.services import free_port


def test_backup_keys_are_checked_by_name(tmp_path):
    with pytest.raises(ConfigError, match=r"backup\.interval_minutes"):
        from_dict({"backup": {"interval_minutes": 0}})
    with pytest.raises(ConfigError, match=r"backup\.keep_daily"):
        from_dict({"backup": {"keep_daily": "many"}})
    assert from_dict({"backup": {"dir": "/media/usb"}}).backup.dir == "/media/usb"
    with pytest.raises(HubConfigError, match=r"backups\.keep"):
        HubConfig(data_dir=tmp_path, operator_token=OPERATOR_TOKEN, backups_keep=0)
    env = {"TABLESIDE_HUB_DATA_DIR": str(tmp_path), "TABLESIDE_HUB_OPERATOR_TOKEN": OPERATOR_TOKEN,
           "TABLESIDE_HUB_BACKUPS_MAX_MB": "lots"}
    with pytest.raises(HubConfigError, match=r"backups\.max_mb \(from TABLESIDE_HUB_BACKUPS_MAX_MB\)"):
        load_config(None, env)
    assert HubConfig(data_dir=tmp_path, operator_token=OPERATOR_TOKEN).backups_dir == tmp_path / "backups"


async def test_pairing_prints_the_recovery_code_and_backups_reach_the_hub(tmp_path):
    hub = await Server(create_hub_app(HubConfig(data_dir=tmp_path / "hub", operator_token=OPERATOR_TOKEN,
                                                broker_port=free_port())), "127.0.0.1", 0).start()
    data_dir = tmp_path / "box"
    config_path = tmp_path / "agent.toml"
    config_path.write_text(f'[agent]\ndata_dir = "{data_dir}"\n')
    try:
        async with aiohttp.ClientSession() as http:
            rid = await restaurant(http, hub.url)
            status, out, err = await setup_command(config_path, "--hub", hub.url, "--code",
                                                   await code_for(http, hub.url, rid))
        assert status == 0, err
        code = recovery_code.load(data_dir)
        assert "RECOVERY CODE" in out and code in out
        assert (data_dir / recovery_code.CODE_FILE).stat().st_mode & 0o777 == 0o600
        status, out, _ = await backup_command(config_path, "code")
        assert status == 0 and code in out

        # no database yet: said plainly
        status, out, err = await backup_command(config_path, "now")
        assert status == 2 and "no database" in err
        # the agent's database, as `add-staff` would make it at set-up
        from agent.store.database import Database
        from agent.store.migrations import migrate

        database = Database(data_dir / "agent.sqlite")
        database.start()
        migrate(database)
        database.close()
        status, out, err = await backup_command(config_path, "now")
        assert status == 0 and f"sent to {hub.url}" in out, err
        status, out, err = await backup_command(config_path, "list")
        assert status == 0, err
        local = [line.split()[1] for line in out.splitlines() if line.startswith("local")]
        held = [line.split()[1] for line in out.splitlines() if line.startswith("hub")]
        assert len(local) == 1 and held == local
    finally:
        await hub.stop()
