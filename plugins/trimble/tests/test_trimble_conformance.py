"""The conformance suite every provider plugin passes, against Trimble's emulator."""

from fieldlink.testing import conformance_tests

TestConformance = conformance_tests("trimble", page_size=50)
