"""How many credential payloads a second fieldlink validates, beside plain jsonschema.

Fieldlink adds to jsonschema the registry's lookup, every error sorted best first
with its JSON path, and messages that never quote a value; this measures what that
costs against a pre-built jsonschema validator on the same payloads.
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
import timeit
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema
from _report import Summary, per_second, report
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from fieldlink import Fieldlink
from fieldlink._plugins import LoadedProvider
from fieldlink._schemas import core_schema_dir, load_json
from fieldlink.errors import CredentialValidationError

REPEATS = 9
#: Seconds each sample should last, long enough to dwarf the timer's own cost.
SAMPLE_SECONDS = 0.2
GOAL = 0.8

BASELINE = "baseline: jsonschema validate(), first error"
ALL_ERRORS = "reference: jsonschema, best of all errors"
SCHEMA = "LoadedProvider.schema.validate"
PUBLIC = "Fieldlink.validate"

Check = Callable[[Any], bool]


def variants(
    schema: Mapping[str, Any], example: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The example, and four ways a host gets it wrong."""
    first_required = schema["required"][0]
    strings = [name for name, value in example.items() if isinstance(value, str)]
    return [
        dict(example),
        {key: value for key, value in example.items() if key != first_required},
        {**example, "unexpected": "value"},
        {**example, strings[0]: 42},
        {**example, strings[-1]: ""},
    ]


def baseline_validator(loaded: LoadedProvider) -> Any:
    """A jsonschema validator resolving $refs offline, built as a host would."""
    resources = []
    for directory in (core_schema_dir(), loaded.schema.path.parent):
        for file in sorted(directory.glob("*.json")):
            document = load_json(file)
            if "$id" in document:
                resources.append((document["$id"], Resource.from_contents(document)))
    schema = copy.deepcopy(loaded.schema.document)
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema, registry=Registry().with_resources(resources))


def passes(check: Callable[[Any], None], error: type[Exception]) -> Check:
    def run(payload: Any) -> bool:
        try:
            check(payload)
        except error:
            return False
        return True

    return run


def contenders(fieldlink: Fieldlink, provider: str) -> dict[str, Check]:
    validator = baseline_validator(fieldlink.provider(provider))
    registry = fieldlink.registry

    # validator.validate stops at the first error; jsonschema.validate weighs every
    # error, as fieldlink does, and is shown beside it.
    def best_of_all(payload: Any) -> None:
        error = best_match(validator.iter_errors(payload))
        if error is not None:
            raise error

    return {
        BASELINE: passes(validator.validate, ValidationError),
        ALL_ERRORS: passes(best_of_all, ValidationError),
        SCHEMA: passes(
            lambda payload: registry.provider(provider).schema.validate(payload),
            CredentialValidationError,
        ),
        PUBLIC: passes(
            lambda payload: fieldlink.validate(provider, payload),
            CredentialValidationError,
        ),
    }


def sweep(cases: list[tuple[Check, Any]]) -> Callable[[], None]:
    """One pass over every (check, payload), as a function timeit can call."""

    def run() -> None:
        for check, payload in cases:
            check(payload)

    return run


def measure(fieldlink: Fieldlink) -> None:
    cases: dict[str, list[tuple[Check, Any]]] = {
        label: [] for label in (BASELINE, ALL_ERRORS, SCHEMA, PUBLIC)
    }
    valid = 0
    for provider in sorted(fieldlink.providers()):
        checks = contenders(fieldlink, provider)
        schema = fieldlink.provider(provider).schema
        for example in schema.examples:
            for payload in variants(schema.document, example):
                # All must give the same answer, or the comparison means nothing.
                answers = {check(payload) for check in checks.values()}
                if len(answers) != 1:
                    sys.exit(f"{provider}: fieldlink and jsonschema disagree")
                valid += answers.pop()
                for label, check in checks.items():
                    cases[label].append((check, payload))

    runs = {label: sweep(pairs) for label, pairs in cases.items()}
    fastest = min(timeit.timeit(run, number=1) for run in runs.values())
    loops = max(1, int(SAMPLE_SECONDS / fastest))
    count = len(cases[BASELINE])
    rates: dict[str, list[float]] = {label: [] for label in runs}
    # Interleaved, so that drift in the machine's load falls on every contender.
    for _ in range(REPEATS):
        for label, run in runs.items():
            rates[label].append(loops * count / timeit.timeit(run, number=loops))

    providers = len(fieldlink.providers())
    summaries = {label: Summary.of(samples) for label, samples in rates.items()}
    base = summaries[BASELINE].median
    verdicts = []
    for label in (SCHEMA, PUBLIC):
        ratio = summaries[label].median / base
        verdicts.append(
            (f"{label} / baseline", f"{ratio:.2f}", f"at least {GOAL}", ratio >= GOAL)
        )
    report(
        "Credential validation throughput, payloads a second",
        [
            f"{count} payloads from the schema examples of {providers} providers: "
            f"{valid} valid, {count - valid} invalid.",
            f"Each figure: {REPEATS} samples of {loops} passes over them, interleaved.",
            "The baseline stops at the first error, although fieldlink reports them",
            "all; the reference row weighs every error too, for comparison only.",
        ],
        list(summaries.items()),
        per_second,
        verdicts,
    )


def main() -> None:
    # Loading plugins caches schema checks on disk: keep that out of the user's cache.
    with tempfile.TemporaryDirectory() as cache:
        os.environ["FIELDLINK_CACHE_DIR"] = cache
        measure(Fieldlink())


if __name__ == "__main__":
    main()
