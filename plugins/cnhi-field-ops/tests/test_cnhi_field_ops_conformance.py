"""The conformance suite every provider plugin passes, against the emulator."""

from fieldlink.testing import conformance_tests

# Three companies, farms and fields per parent, two to a page: every kind pages.
TestConformance = conformance_tests("cnhi-field-ops", size=3, page_size=2)
