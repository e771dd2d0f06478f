import pytest


@pytest.fixture(autouse=True)
def _own_data_folder(settings, tmp_path):
    """Each test keeps its import files (uploads, reports, progress) in a folder of its own."""
    settings.DATA_DIR = tmp_path / "data"
