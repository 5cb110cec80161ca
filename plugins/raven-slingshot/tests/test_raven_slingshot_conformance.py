"""The conformance suite every provider plugin passes, against Slingshot's emulator."""

from fieldlink.testing import conformance_tests

TestConformance = conformance_tests("raven-slingshot")
