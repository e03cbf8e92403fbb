"""MkDocs hooks (``hooks:`` in mkdocs.yml): the pages that follow the repository instead of being written by hand.

* **Notebooks**: every ``notebooks/NN_*.ipynb``, rendered by mkdocs-jupyter without executing it. Where
  ``make reproduce`` has left an executed copy in ``results/notebooks/``, that copy (with its figures and players)
  is rendered instead (unless ``AURALISATION_DOCS_EXECUTED=0``: the strict test builds the repository's own, so it
  stays fast and sees what CI sees); on a fresh clone the notebooks render without outputs.
* **API reference**: one page per public module or subpackage of ``auralisation/`` (``cli`` is the command line,
  documented on its own page), each a mkdocstrings ``:::`` block, so the reference lists the modules that exist
  and nothing else. The package is read by griffe from its source: nothing is imported.

Both are added to the navigation here, after the hand-written sections of mkdocs.yml.

* **The study's table**: a page that holds ``<!-- readme:study -->`` gets the block that ``make study`` writes into
  README.md (between its study markers), so the table lives in one place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "auralisation"
#: Subpackages documented elsewhere than the API reference.
NOT_IN_API = {"cli"}
#: Where a page asks for the README's study table, and the markers around it (auralisation.study.report's).
STUDY_PLACEHOLDER = "<!-- readme:study -->"
STUDY_MARKERS = ("<!-- study:begin -->", "<!-- study:end -->")
#: An API page: the module's own heading is the page's title.
API_PAGE = "::: {}\n    options:\n      heading_level: 1\n"


def notebooks(root: Path = ROOT) -> list[tuple[str, Path]]:
    """Each numbered notebook's site path and the folder that holds ``notebooks/<name>``: ``results/`` where
    ``make reproduce`` left an executed copy (and ``AURALISATION_DOCS_EXECUTED`` is not ``0``), else the
    repository."""
    use_executed = os.environ.get("AURALISATION_DOCS_EXECUTED", "1") != "0"
    chosen = []
    for source in sorted((root / "notebooks").glob("[0-9]*.ipynb")):
        executed = use_executed and (root / "results" / "notebooks" / source.name).is_file()
        chosen.append((f"notebooks/{source.name}", root / "results" if executed else root))
    return chosen


def api_modules(root: Path = ROOT) -> list[str]:
    """The public top-level modules and subpackages of the package, in alphabetical order."""
    names = []
    for path in sorted((root / PACKAGE).iterdir()):
        name = path.stem if path.suffix == ".py" else path.name
        is_module = path.suffix == ".py" or (path / "__init__.py").is_file()
        if is_module and not name.startswith("_") and name not in NOT_IN_API:
            names.append(name)
    return names


def _title(notebook: str) -> str:
    number, _, rest = Path(notebook).stem.partition("_")
    return f"{number} {rest.replace('_', ' ')}"


def on_config(config: MkDocsConfig, **kwargs: Any) -> MkDocsConfig:
    """Append the notebooks and the API reference to the navigation."""
    config.nav = list(config.nav or [])
    config.nav.append({"Notebooks": [{_title(uri): uri} for uri, _ in notebooks()]})
    config.nav.append({"API reference": ["api/index.md"]
                       + [{f"{PACKAGE}.{name}": f"api/{name}.md"} for name in api_modules()]})
    return config


@event_priority(50)  # before mkdocs-jupyter's on_files, which turns the notebooks into pages
def on_files(files: Files, config: MkDocsConfig, **kwargs: Any) -> Files:
    """Add the notebooks and one API page per module to the site's files."""
    for uri, folder in notebooks():  # a real file (mkdocs-jupyter reads the notebook from its abs_src_path)
        files.append(File(uri, src_dir=str(folder), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
    for name in api_modules():
        files.append(File.generated(config, f"api/{name}.md", content=API_PAGE.format(f"{PACKAGE}.{name}")))
    return files


def study_table(readme: Path = ROOT / "README.md") -> str:
    """The README's study block, without its markers."""
    text = readme.read_text(encoding="utf-8")
    begin, end = STUDY_MARKERS
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise PluginError(f"{readme}: expected one {begin!r} line, then one {end!r} line (make study writes them)")
    return text[text.index(begin) + len(begin):text.index(end)].strip()


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Put the README's study table where a page asks for it."""
    return markdown.replace(STUDY_PLACEHOLDER, study_table()) if STUDY_PLACEHOLDER in markdown else markdown
