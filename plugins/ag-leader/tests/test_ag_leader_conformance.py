"""The conformance suite every provider plugin passes, against AgLeader's emulator."""

from fieldlink.testing import conformance_tests

TestConformance = conformance_tests("ag-leader")
