"""A griffe extension for the API reference (mkdocs.yml): docstrings checked, Sphinx roles made readable.

* A public module, class, function or method without a docstring is logged as a warning, so that
  ``mkdocs build --strict`` (``make test``) fails on it. Public: no name on the way down from the package starts
  with an underscore (special methods such as ``__call__`` are left out).
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
            obj.docstring.value = rewrite_roles(obj.docstring.value, obj, package, self.elsewhere)
        elif _is_public(obj) and (obj.is_module or obj.is_class or obj.is_function):
            where = f"{obj.relative_filepath}:{obj.lineno or 1}"
            logger.warning(f"{where}: {obj.kind.value} {obj.path} has no docstring: write one (numpy style)")
        for member in obj.members.values():
            if not member.is_alias and (member.is_module or member.is_class or member.is_function or member.is_attribute):
                self._walk(member, package)
