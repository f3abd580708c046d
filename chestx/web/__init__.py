"""The web UI: Gradio pages mounted in FastAPI behind our own login (see chestx.web.server).

Each page is a folder (``review/``, ``teach/``, ``export/``, ``admin/``, ``dashboards/``): its
``page.py`` lays out components and wires events, its handlers and actions are thin and call the
use cases of :mod:`services` and the store of :mod:`review_db`, its ``*_html.py`` are templates.
The shell (server, login, auth, context, shared templates and static files) is here. Nothing
outside this package imports gradio.
"""

from chestx.settings import quiet_gradio

quiet_gradio()  # before gradio is first imported
