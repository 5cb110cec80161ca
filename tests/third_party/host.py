"""A host application, written as a third party's user would write it: it finds the
installed provider plugins, connects a grower to the sample provider through its
emulator (a form flow), and lists everything the grower has there.

It prints one JSON object: the providers found, the form's fields, the stored
credential's status, and how many resources of each kind were listed.
"""

from __future__ import annotations

import json

from fieldlink import Fieldlink
from fieldlink.sandbox import build_emulators, serve

PROVIDER = "sample"
GROWER = "grower-1"


def main() -> None:
    with Fieldlink() as host:
        emulator = build_emulators(host.registry, {"size": 60})[PROVIDER]
        with serve(emulator) as running:
            host.override_endpoints(PROVIDER, emulator.endpoints(running.url))
            host.register_app(PROVIDER, emulator.app_fields())

            start = host.start_auth(GROWER, PROVIDER)
            assert start.form is not None
            # The grower types the keys the provider issued them.
            typed = {"state": start.state, **emulator.login_fields()}
            credential = host.complete_auth(PROVIDER, typed).credential

            kinds = host.provider(PROVIDER).info.resource_kinds
            listed = {
                kind: len(list(host.iter_resources(GROWER, PROVIDER, kind)))
                for kind in kinds
            }
        summary = {
            "providers": sorted(host.providers()),
            "failures": [failure.name for failure in host.plugin_failures()],
            "form": [field.name for field in start.form.fields],
            "status": credential.status.value,
            "listed": listed,
        }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
