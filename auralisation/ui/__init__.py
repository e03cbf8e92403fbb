"""What a person looks at and listens to: one module per job, imported only when used.

=====================================  ===================================================================
:mod:`auralisation.ui.view`            the pure view: what one selection shows and plays (no ipywidgets)
:mod:`auralisation.ui.explorer`        the notebook explorer: ipywidgets controls wired to the view
:mod:`auralisation.ui.report`          the static HTML report (``auralisation report``; no ipywidgets, no IPython)
:mod:`auralisation.ui.page`            what the static pages (report, atlas) share: style and self-check
=====================================  ===================================================================

This package imports none of them, so ``import auralisation.ui.report`` loads neither ipywidgets nor IPython.
"""
