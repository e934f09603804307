"""matplotlib, imported once per process under a lock: safe when threads draw at once.

The charts and maps import matplotlib on their first drawing, so that processes that never
draw (most web workers' requests, the CLI) start without it. In a threaded server (`flask
run`, gunicorn's gthread workers) two first requests drawing at the same moment used to import
it in two threads in different orders (one matplotlib.path first, the other
matplotlib.figure); Python's import machinery then hands one of them a partially initialized
module ("cannot import name 'Path' from partially initialized module 'matplotlib.path'") and
the process kept answering 500 for every chart and map. ensure_loaded() imports every
matplotlib module the project draws with, one thread at a time, before any drawing function
touches matplotlib. Drawing itself needs no lock: the charts and maps use Figure objects with
the Agg canvas, never pyplot's shared state, and matplotlib keeps its font objects per thread.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_loaded = False


def ensure_loaded() -> None:
    """Import the matplotlib modules the charts and maps use, once per process, under a lock."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        # The Agg canvas draws PNG, backend_svg the SVG that savefig(format="svg") loads.
        import matplotlib.backends.backend_agg
        import matplotlib.backends.backend_svg
        import matplotlib.figure
        import matplotlib.patches
        import matplotlib.path
        import matplotlib.ticker  # noqa: F401 - imported here for the lock's sake

        _loaded = True
