"""A griffe extension for the API reference (mkdocs.yml): docstrings checked, Sphinx roles made readable.

* A public module, class, function or method without a docstring is logged as a warning, so that
  ``mkdocs build --strict`` (``make test``) fails on it. Public: no name on the way down from the package starts
  with an underscore (special methods such as ``__call__`` are left out).
* Tables written as reStructuredText simple tables (``====  ====`` borders) become Markdown tables.
* The package's docstrings use Sphinx roles (``:func:`~auralisation.audio.stft```); mkdocstrings does not read
  them. Each becomes a cross-reference to the object's page where the target is a public object of the package
  (written in full, relative to the module with a leading dot, or a name of the enclosing module or class), and
  plain code otherwise (NumPy, librosa, Keras...), with the role's ``~`` honoured: only the last part shown.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

logger = griffe.get_logger("griffe_docstrings")

#: ``:role:`target``` or ``:role:`title <target>```.
ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|attr|data|obj|exc|const|ref|term):`([^`]+)`")


#: A simple table's border: runs of ``=`` separated by spaces, one run per column.
BORDER = re.compile(r"^ *=+(?: +=+)+ *$")
#: Inline code, where a pipe is not a cell separator.
CODE = re.compile(r"(``?[^`]+``?)")


def _cells(line: str, starts: list[int]) -> list[str]:
    """A row cut at the column starts; where a cell's text runs past the next column's start, at the gap of two
    or more spaces nearest to it."""
    gaps = [match.end() for match in re.finditer(r" {2,}", line)]
    cuts = [0]
    for start in starts[1:]:
        if start >= len(line) or line[start - 1] == " ":
            cuts.append(start)
        else:
            cuts.append(min(gaps, key=lambda gap: abs(gap - start), default=start))
    cuts.append(max(len(line), cuts[-1]))
    return [line[a:b].strip() for a, b in zip(cuts, cuts[1:])]


def _escape_pipes(cell: str) -> str:
    return "".join(part if CODE.fullmatch(part) else part.replace("|", "\\|") for part in CODE.split(cell))


def simple_tables_to_markdown(text: str) -> str:
    """``text`` with every reStructuredText simple table (with or without a header) as a Markdown table.

    A row whose first cell is blank continues the row above it.
    """
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        if not BORDER.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        starts = [match.start() for match in re.finditer(r"=+", lines[i])]
        end = next((j for j in range(i + 1, len(lines)) if BORDER.match(lines[j])), None)
        if end is None:
            out.append(lines[i])
            i += 1
            continue
        header: list[str] = []
        rows: list[list[str]] = []
        after = end + 1
        closing = next((j for j in range(end + 1, len(lines)) if BORDER.match(lines[j])), None)
        if closing is not None and all(line.strip() for line in lines[end + 1:closing]):
            header = _cells(lines[i + 1], starts) if end == i + 2 else []  # one header row, then a border
        body = lines[end + 1:closing] if header else lines[i + 1:end]
        after = closing + 1 if header else end + 1
        for line in body:
            if not line.strip():
                continue
            cells = _cells(line, starts)
            if rows and not cells[0]:
                rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells)]
            else:
                rows.append(cells)
        head = header or [""] * len(starts)
        out += ["", "| " + " | ".join(map(_escape_pipes, head)) + " |", "|" + "---|" * len(starts)]
        out += ["| " + " | ".join(map(_escape_pipes, row)) + " |" for row in rows] + [""]
        i = after
    return "\n".join(out)


def _is_public(obj: griffe.Object) -> bool:
    current: griffe.Object | None = obj
    while current is not None:
        if current.name.startswith("_"):
            return False
        current = current.parent
    return True


def _documented_target(path: str, package: griffe.Module, elsewhere: tuple[str, ...]) -> str | None:
    """The canonical path of ``path`` when it names a public object of the package that has a page, else None."""
    try:
        found = package.modules_collection[path] if "." in path else None
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    if found is None:
        return None
    try:
        final = found.final_target if found.is_alias else found
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    rendered = not final.is_attribute or final.docstring is not None  # mkdocstrings leaves out bare attributes
    outside = any(final.path == prefix or final.path.startswith(prefix + ".") for prefix in elsewhere)
    return final.path if _is_public(final) and rendered and not outside else None


def _candidates(target: str, obj: griffe.Object) -> list[str]:
    """Where a role's target may live, most specific first."""
    module = obj if obj.is_module else obj.module
    if target.startswith("."):
        relative = target.lstrip(".")
        base = module if module.is_package or obj.is_module and module.is_init_module else module.parent
        return [f"{base.path}.{relative}", f"{module.path}.{relative}"]
    scopes = [obj.path] if obj.is_class else []
    scopes += [obj.parent.path] if obj.parent is not None and obj.parent.is_class else []
    scopes += [module.path, module.package.path]
    return [target] + [f"{scope}.{target}" for scope in scopes]


def rewrite_roles(text: str, obj: griffe.Object, package: griffe.Module, elsewhere: tuple[str, ...] = ()) -> str:
    """``text`` with every Sphinx role replaced by a cross-reference or by plain code (always for the modules
    ``elsewhere``, which have no API page)."""

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        titled = re.fullmatch(r"(.+?)\s*<(.+)>", inner)
        title, target = (titled.group(1), titled.group(2)) if titled else (None, inner)
        short = target.startswith("~")
        target = target.lstrip("~").rstrip("()")
        shown = title or (target.lstrip(".").rsplit(".", 1)[-1] if short else target.lstrip("."))
        for candidate in _candidates(target, obj):
            found = _documented_target(candidate, package, elsewhere)
            if found is not None:
                return f"[`{shown}`][{found}]"
        return f"`{shown}`"

    return ROLE.sub(replace, text)


class DocstringChecks(griffe.Extension):
    """Warn about public objects without a docstring and rewrite Sphinx roles, once the package is loaded.

    Parameters
    ----------
    elsewhere : list of str
        Modules without an API page (``auralisation.cli``, documented as the command line): never linked to.
    """

    def __init__(self, elsewhere: list[str] | None = None) -> None:
        super().__init__()
        self.elsewhere = tuple(elsewhere or ())

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Walk the whole package once it is loaded."""
        self._walk(pkg, pkg)

    def _walk(self, obj: griffe.Object, package: griffe.Module) -> None:
        if obj.docstring is not None:
            text = simple_tables_to_markdown(obj.docstring.value)
            obj.docstring.value = rewrite_roles(text, obj, package, self.elsewhere)
        elif _is_public(obj) and (obj.is_module or obj.is_class or obj.is_function):
            where = f"{obj.relative_filepath}:{obj.lineno or 1}"
            logger.warning(f"{where}: {obj.kind.value} {obj.path} has no docstring: write one (numpy style)")
        for member in obj.members.values():
            if not member.is_alias and (member.is_module or member.is_class or member.is_function or member.is_attribute):
                self._walk(member, package)
