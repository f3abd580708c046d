"""The reader-study page (``/study/``): see :mod:`chestx.web.study.page`."""
