def pytest_configure(config):
    config.addinivalue_line(
        "markers", "processes: starts a Dask LocalCluster of worker processes (a few seconds each)")
