"""Error-analysis reports: ``report.json`` for programs, ``report.html`` for people, PNG plots.

Built from gold and predicted tags (a ``word ... gold pred`` file, or a model evaluated on a
corpus split) by :mod:`nerkit.conll.analysis` and :mod:`nerkit.conll.metrics`, plus the training
curves of a model folder's ``eval_results.json``. The page draws sentences with
:mod:`nerkit.server.render`, so it looks like the web page; this package therefore sits above
``server`` (and ``tagging``), below ``cli``. Plots need matplotlib (the ``report`` extra).
"""
