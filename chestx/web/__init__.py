"""The web UI: Gradio pages mounted in FastAPI behind our own login (see chestx.web.server).

Each page is its own module with a ``build_*_page(ctx) -> gr.Blocks``; handlers are thin and
call plain functions (``*_actions``) that call :mod:`review_db.store`. Nothing outside this
package (and ``app.py``) imports gradio.
"""
