"""The registry's tests share the reports' message fixture (zombie checks look at unanswered messages)."""

from tests.reports.conftest import add_message

__all__ = ["add_message"]
