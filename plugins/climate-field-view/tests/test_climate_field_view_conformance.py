"""The conformance suite every provider plugin passes, against Climate's emulator."""

from fieldlink.testing import conformance_tests

TestConformance = conformance_tests("climate-field-view")
