"""The conformance suite every provider plugin passes, against AgVance's emulator."""

from fieldlink.testing import conformance_tests

TestConformance = conformance_tests("agvance")
