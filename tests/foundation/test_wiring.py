"""Cross-domain hooks are installed by the entry points at start-up, not by importing a module."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_importing_the_routers_installs_no_hook_and_start_up_installs_each_once() -> None:
    script = textwrap.dedent(
        """
        import app.knowledge.api, app.routes
        from app.replies.service import draft_checks
        from app.routing.service import kb_evidence
        print(len(draft_checks), len(kb_evidence))
        from app.main import create_app
        create_app(start_scheduler=False)
        create_app(start_scheduler=False)
        print(len(draft_checks), len(kb_evidence))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "0", "1", "1"]


def test_importing_the_routers_registers_no_inbox_feed_and_install_adds_each_once() -> None:
    script = textwrap.dedent(
        """
        import app.routes
        from app import wiring
        from app.notifications import inbox
        print(",".join(feed.source for feed in inbox.feeds()))
        wiring.install()
        wiring.install()
        print(",".join(feed.source for feed in inbox.feeds()))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["sla", "sla,topic,zombie"]
