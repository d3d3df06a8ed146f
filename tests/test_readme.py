"""The README's examples, run exactly as printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_the_aggregator_example_runs_as_a_plain_script(tmp_path: Path) -> None:
    # Saved as a script and run, it crashed: the workers ran the script
    # again (FeedExistsError in each), then WorkerStartupError.
    (example,) = [code for code in python_examples() if "Aggregator(" in code]
    script = tmp_path / "example.py"
    script.write_text(example, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""
    # Offline here: the feed's failure, said as the example prints it.
    assert result.stdout.startswith("https://example.org/feed.xml failed: "), result.stdout
    assert (tmp_path / "feeds.sqlite").exists()
