"""The docs hold together: every relative link reaches a file of the repository, and every #anchor a heading of it."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p for p in ROOT.rglob("*.md") if not {".git", "test-artifacts"} & set(p.relative_to(ROOT).parts))
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> Iterator[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    for title in re.findall(r"^#{1,6} (.+)$", FENCE.sub("", page.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
        yield slug if not seen[slug] else f"{slug}-{seen[slug]}"


def links(page: Path) -> list[str]:
    """The page's links to other files of the repository or to its own headings (no web addresses)."""
    return [link for link in LINK.findall(FENCE.sub("", page.read_text())) if not re.match(r"^[a-z]+:", link)]


def test_the_docs_have_pages_with_links():
    assert ROOT / "README.md" in PAGES and sum(len(links(page)) for page in PAGES) > 50


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file_and_a_heading_of_it(page):
    broken = []
    for link in links(page):
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists() or anchor and target.suffix == ".md" and anchor not in set(anchors(target)):
            broken.append(link)
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def test_a_broken_anchor_is_caught(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A title, with punctuation\n\n## Again\n\n## Again\n\n[ok](#a-title-with-punctuation) [ok](#again-1) [no](#gone)\n")
    assert set(anchors(page)) == {"a-title-with-punctuation", "again", "again-1"}
    assert [link for link in links(page) if link.partition("#")[2] not in set(anchors(page))] == ["#gone"]
