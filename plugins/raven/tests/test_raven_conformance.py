"""The conformance suite every provider plugin passes, against Raven's emulator."""

from fieldlink.testing import conformance_tests

TestConformance = conformance_tests("raven")
