"""The sample plugin's own tests run where it is installed: in the fresh environment
of test_third_party_plugin.py, or with the sample on the path
(test_conformance_suite.py), never in this repository's run, where it is not."""

collect_ignore = ["fieldlink-sample"]
