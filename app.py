"""ChestX Review's web app: ``python app.py`` is the main job.

With no arguments, on a fresh machine: creates ``./chestx-data`` (``CHESTX_HOME``), creates and
migrates the SQLite database, seeds the offline demo (a reviewer account ``demo`` whose password
is printed, the real chest radiograph from ``pydicom-data`` and more demo cases) and serves the
app on http://127.0.0.1:7860 . ``--no-demo`` skips the demo; ``--host``/``--port`` override the
settings. ``chestx serve`` is the same command. The composition root is
:mod:`chestx.web.launch` (it reads the settings and builds the app); this script runs it.
"""

from __future__ import annotations

import sys

from chestx.web.launch import build_app, main, prepare_database, seed_demo, serve

__all__ = ["build_app", "main", "prepare_database", "seed_demo", "serve"]

if __name__ == "__main__":
    sys.exit(main())
