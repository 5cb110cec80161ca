"""The conformance suite every provider plugin passes, against Stara's emulator."""

from fieldlink.testing import conformance_tests

TestConformance = conformance_tests("stara")
