"""``fieldlink new-provider``: a working provider plugin, written from a template.

The template is the folder ``templates/provider`` beside this module, shipped in the
wheel. Its files are real files with a plain substitution: every ``{{placeholder}}``
below, in a file's text or in its path, is replaced by its value, and every file's
``.tmpl`` suffix is dropped (the suffix keeps the template's Python out of reach of
linters, type checkers and test collectors). For the id ``acme-farms``:

====================  ============================  ======================
placeholder           value                         for ``acme-farms``
====================  ============================  ======================
``provider_id``       the provider id               ``acme-farms``
``distribution``      the distribution's name       ``fieldlink-acme-farms``
``package``           the package's name            ``fieldlink_acme_farms``
``module``            the id as a Python name       ``acme_farms``
``name``              the provider's name           ``Acme Farms``
``a_name``            the name after "a" or "an"    ``an Acme Farms``
``class_name``        the plugin's class name       ``AcmeFarms``
``min_core_version``  the running core's version    ``0.1.0``
====================  ============================  ======================

Text such as GitHub Actions' ``${{ matrix.python }}`` (with spaces) is left alone.
Write ``{{a_name}}`` wherever the name follows an indefinite article: the article
is chosen by the name's first letter, "an" before a vowel (an Acme Farms, a Trimble).
"""

from __future__ import annotations

import re
from pathlib import Path

from ._version import __version__

TEMPLATE_DIR = Path(__file__).with_name("templates") / "provider"
SUFFIX = ".tmpl"
#: Lower-case words of letters and digits joined by hyphens, as Leaf's ids are; the
#: first character a letter, so that the id also makes a Python name.
PROVIDER_ID = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")


class TemplateError(ValueError):
    """The provider id cannot name a plugin, or the template is broken."""


def placeholders(provider_id: str, name: str | None = None) -> dict[str, str]:
    """The value of each placeholder for ``provider_id``."""
    if not PROVIDER_ID.fullmatch(provider_id):
        raise TemplateError(
            f"{provider_id!r} is not a provider id: it must start with a lower-case "
            "letter and go on with lower-case letters and digits, words joined by "
            "single hyphens, such as acme-farms or agri2-cloud"
        )
    words = provider_id.split("-")
    module = "_".join(words)
    name = name or " ".join(word.capitalize() for word in words)
    return {
        "provider_id": provider_id,
        "distribution": f"fieldlink-{provider_id}",
        "package": f"fieldlink_{module}",
        "module": module,
        "name": name,
        "a_name": f"{_article(name)} {name}",
        "class_name": "".join(word.capitalize() for word in words),
        "min_core_version": __version__,
    }


def _article(name: str) -> str:
    # By the first letter, not the sound: right for most names, if not for all.
    return "an" if name[:1].lower() in {"a", "e", "i", "o", "u"} else "a"


def write_provider(
    provider_id: str, directory: Path, *, name: str | None = None
) -> list[Path]:
    """Write the plugin for ``provider_id`` into ``directory``, which must be empty
    or absent; return the files written."""
    values = placeholders(provider_id, name)
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(
            f"{directory} is not empty: choose another directory with --directory"
        )

    written = []
    for source in sorted(TEMPLATE_DIR.rglob(f"*{SUFFIX}")):
        relative = source.relative_to(TEMPLATE_DIR).as_posix().removesuffix(SUFFIX)
        target = directory / _fill(relative, values)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_fill(source.read_text(encoding="utf-8"), values), "utf-8")
        written.append(target)
    return written


def _fill(text: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        try:
            return values[match.group(1)]
        except KeyError:
            raise TemplateError(
                f"the template uses no such placeholder: {match[0]}"
            ) from None

    return PLACEHOLDER.sub(value, text)
