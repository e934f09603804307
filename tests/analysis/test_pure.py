"""analysis/ stays pure: importing every module pulls in neither Flask nor the app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MODULES = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "analysis").glob("*.py")
                 if p.stem != "__init__")


def test_no_flask_no_app_no_pyplot():
    code = (
        "import sys\n"
        + "".join(f"import analysis.{name}\n" for name in MODULES)
        + "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'app')"
        " or m == 'matplotlib.pyplot']\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2], check=False)
    assert result.returncode == 0, result.stderr
    assert "ranking" in MODULES
