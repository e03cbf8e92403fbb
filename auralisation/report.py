"""Deprecated: use :mod:`auralisation.ui.report`."""

from ._moved import warn_moved
from .ui.report import PAGE, add_report_arguments, build_report, run_report

warn_moved(__name__, "auralisation.ui.report")

__all__ = ["PAGE", "add_report_arguments", "build_report", "run_report"]
