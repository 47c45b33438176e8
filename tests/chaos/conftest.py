"""The fault-injection suite: `pytest tests/chaos` alone, or with everything else (`make test`)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "chaos: the fault-injection suite (real processes, minutes long)")
