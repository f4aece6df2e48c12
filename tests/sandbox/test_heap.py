"""The standalone sandbox freezes what survives a full collection (sandbox/heap.py).

Run in a child process: the collector's callbacks are process-wide, and the test process
keeps Python's collector as it is.
"""

import subprocess
import sys

SCRIPT = """
import gc
from sandbox.heap import freeze_after_full_collections, thaw

freeze_after_full_collections()
kept = [[n] for n in range(10_000)]  # a history that stays
gc.collect()
print(gc.get_freeze_count() > len(kept))
thaw()  # a reset: the collector sees it all again
print(gc.get_freeze_count())
"""


def test_survivors_of_a_full_collection_are_frozen_until_a_reset_thaws_them() -> None:
    result = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["True", "0"]
