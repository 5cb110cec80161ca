"""The conformance suite every provider plugin passes, against John Deere's emulator."""

from fieldlink.testing import conformance_tests

TestConformance = conformance_tests("john-deere")
