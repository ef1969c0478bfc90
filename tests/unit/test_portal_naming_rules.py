"""The portal checks file names in the browser from portal/naming-rules.json; that file must say
exactly what s2s.domain.naming.naming_rules() says, or the browser and the API disagree about a name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from s2s.domain.naming import naming_rules

pytestmark = pytest.mark.unit

RULES_FILE = Path(__file__).resolve().parents[2] / "portal" / "naming-rules.json"
REGENERATE = (
    '.venv/bin/python -c "import json; from s2s.domain.naming import naming_rules; '
    "open('portal/naming-rules.json','w').write(json.dumps(naming_rules(), indent=1, sort_keys=True)+'\\n')\""
)


def test_portal_naming_rules_match_the_python_rules() -> None:
    # Given the JSON the portal fetches, when compared with the rules the API applies
    on_disk = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    # Then they are the same document
    assert on_disk == naming_rules(), f"portal/naming-rules.json has drifted; regenerate it with:\n{REGENERATE}"


def test_portal_naming_rules_carry_the_la_codes_the_browser_needs() -> None:
    on_disk = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    # The example school LA (823) is known; a code outside the list is not.
    assert "823" in on_disk["la_codes"]
    assert "999" not in on_disk["la_codes"]
    assert on_disk["reasons"][0] == "bad_extension"
