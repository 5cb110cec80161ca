"""The conformance suite, against Sample Soil Lab's emulator: a form flow whose
credentials sign each request and are never refreshed."""

from fieldlink.testing import conformance_tests

TestConformance = conformance_tests("sample")
