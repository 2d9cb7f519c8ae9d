"""The repository's Markdown: every relative link leads to a file that exists, and to a heading that exists."""

from __future__ import annotations

import pathlib
import re
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

# [text](target "title") and ![alt](target); reference definitions "[id]: target".
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


def markdown_files() -> list[pathlib.Path]:
    """The Markdown files git tracks (or, outside a git checkout, every .md not under bin/obj)."""
    try:
        names = subprocess.run(["git", "ls-files", "*.md"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
        return [REPO / n for n in names]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in REPO.rglob("*.md") if not {"bin", "obj", ".git", "node_modules"} & set(p.parts)]


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks, with inline code spans blanked."""
    lines, fence = [], None
    for line in text.splitlines():
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)[0] * len(match.group(1))
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        lines.append(CODE_SPAN.sub("", line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|__", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading anchors on its text
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: pathlib.Path) -> set[str]:
    """Every heading anchor of a Markdown file, numbered as GitHub numbers repeats (x, x-1, x-2)."""
    seen: dict[str, int] = {}
    result = set()
    for line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def relative_links(path: pathlib.Path) -> list[str]:
    prose = "\n".join(prose_lines(path.read_text(encoding="utf-8")))
    targets = INLINE_LINK.findall(prose) + REFERENCE.findall(prose)
    return [t for t in targets if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", t)]  # http:, https:, mailto:, …


def broken_links(path: pathlib.Path, root: pathlib.Path = REPO) -> list[str]:
    problems = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        resolved = path if not file_part else ((root / file_part.lstrip("/")) if file_part.startswith("/") else (path.parent / file_part)).resolve()
        if not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {resolved.relative_to(root)}")
    return problems


def test_the_repository_has_markdown_with_relative_links():
    """The check below has something to check: the README and its links are found."""
    files = markdown_files()
    assert REPO / "README.md" in files
    assert any(relative_links(f) for f in files)


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(path):
    """Each relative link in a Markdown file names an existing file, and an existing heading when it has #anchor."""
    assert broken_links(path) == []


def test_the_checker_finds_a_broken_file_and_a_broken_anchor(tmp_path):
    """A missing file and a missing heading are reported; links in code are not links."""
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other page\n\n## Real heading\n", encoding="utf-8")
    page.write_text(
        "# Page\n[ok](other.md#real-heading) [self](#page) [gone](missing.md) [bad](other.md#nope)\n"
        "`[in code](nowhere.md)`\n```\n[in a block](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page, tmp_path.resolve()) == ["missing.md: no such file", "other.md#nope: no heading #nope in other.md"]


def test_heading_anchors_follow_github():
    """Anchors drop code marks and punctuation and number repeats, as GitHub's do."""
    assert slug("Jupyter and the `datastack` package") == "jupyter-and-the-datastack-package"
    assert slug("Processing API (v1)") == "processing-api-v1"


def test_ci_trusts_the_developer_certificate_exactly_as_the_readme_says_for_linux():
    """The commands of the README's Linux row ("The developer certificate") are lines of .ci/run, in that order."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    [row] = [line for line in readme.splitlines() if line.startswith("| Linux | ")]
    commands = [c for c in re.findall(r"`([^`]+)`", row) if c.startswith(("export ", "dotnet "))]
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert commands == ['export SSL_CERT_DIR="$HOME/.aspnet/dev-certs/trust:/usr/lib/ssl/certs"', "dotnet dev-certs https --trust"]
    positions = [ci.index(command) for command in commands]  # ValueError when CI does not run one of them
    assert positions == sorted(positions)
