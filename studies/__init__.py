"""Studies: many runs of the engine at once, compared side by side or swept over a grid.

``compare`` runs scenarios (or a sweep) and tabulates their summaries; ``sweep``
expands a sweep file into points and runs them resumably; ``runner`` is the
executor both use (local processes or Dask).
"""
