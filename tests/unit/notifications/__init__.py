"""Unit tests of the notifications service's pure parts."""
