"""The staff fixtures (tests/agent/staff/conftest.py) for the staff screens' tests here too."""

from tests.agent.staff.conftest import other_client, staff_client  # noqa: F401
