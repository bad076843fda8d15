"""The README's two set-up commands exist, and CI runs the test one."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _bash_blocks():
    text = open(os.path.join(ROOT, "README.md")).read()
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", setup, flags=re.S)


def test_readme_has_exactly_two_setup_commands():
    blocks = _bash_blocks()
    assert len(blocks) == 2 and all(len(b.strip().splitlines()) == 1 for b in blocks)
    assert "keras-transfer demo" in blocks[0]
    assert "pytest" in blocks[1]


def test_ci_runs_the_readme_test_command():
    ci = open(os.path.join(ROOT, ".ci", "run")).read()
    assert _bash_blocks()[1].strip() in ci


def test_setup_script_installs_what_the_commands_need():
    setup = open(os.path.join(ROOT, "scripts", "setup.sh")).read()
    assert "dataset-fashion-mnist" in setup
    assert "constraints.txt" in setup and ".[test" in setup


def test_the_readme_points_only_inside_the_repository():
    import os
    import re

    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    assert "../" not in text
    for target in re.findall(r"\]\(([^)#]+)", text):
        if not target.startswith(("http://", "https://")):
            assert os.path.exists(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), target)), target
