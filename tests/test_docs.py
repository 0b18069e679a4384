"""The documentation site builds with `mkdocs build --strict`: every page is in
the nav, every link and anchor resolves, every docstring of the API reference
parses, and every included benchmark table exists."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_docs_build_strictly(tmp_path):
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    api = (site / "api" / "index.html").read_text()
    for name in ("NTMCell", "SAMCell", "DNCCell", "allocation_weighting", "SDNCCell", "follow_links", "LANTMCell", "RAMCell", "HAMCell", "HAMModel",
                 "lie_access_optimizer", "plot_leaf_visits"):
        assert f'id="keras_memory.' in api and name in api, name
