"""Tests of the fieldlink core."""
