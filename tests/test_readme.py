"""The README's front-matter (Flower's baseline template) and its citations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fedvideo.cli import main

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
#: Every method fedvideo implements, by the name its paper gives it.
IMPLEMENTED = ("FedVSR", "FedVSSL", "Catch-the-Patch", "multigrid", "RAF")


def _front_matter() -> dict[str, str]:
    match = re.match(r"---\n(.*?)\n---\n", README, re.DOTALL)
    assert match, "README.md does not start with a --- front-matter block"
    fields = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def _list(value: str) -> list[str]:
    assert value.startswith("[") and value.endswith("]"), value
    return [item.strip() for item in value[1:-1].split(",") if item.strip()]


def _papers_table() -> list[tuple[str, str]]:
    """(title, arXiv address) of each row of the Papers table."""
    return re.findall(
        r"^\| [^|]+ \| \[([^\]]+)\]\((https://arxiv\.org/abs/[0-9.]+)\)",
        README,
        re.MULTILINE,
    )


def _bibtex() -> str:
    section = README.split("\n## Citation\n", 1)
    assert len(section) == 2, "README.md has no '## Citation' section"
    match = re.search(r"```bibtex\n(.*?)```", section[1], re.DOTALL)
    assert match, "the Citation section has no ```bibtex block"
    return match.group(1)


def test_front_matter_within_the_template_limits():
    fields = _front_matter()
    assert {"title", "url", "labels", "dataset"} <= set(fields)
    assert 4 <= len(_list(fields["labels"])) <= 10
    assert fields["url"].startswith("https://arxiv.org/abs/")


def test_front_matter_title_names_every_implemented_method():
    title = _front_matter()["title"]
    assert [name for name in IMPLEMENTED if name not in title] == []


def test_every_paper_in_the_table_has_a_bibtex_entry():
    papers = _papers_table()
    assert len(papers) == len(IMPLEMENTED)
    bibtex = _bibtex()
    titles = {
        re.sub(r"[{}]", "", t) for t in re.findall(r"title\s*=\s*\{(.*)\},", bibtex)
    }
    assert [title for title, _ in papers if title not in titles] == []
    arxiv_ids = {url.rsplit("/", 1)[1] for _, url in papers}
    cited = " ".join(re.findall(r"arXiv:([0-9.]+)", bibtex))
    conference_papers = {"2105.02545", "2205.05069"}  # cited by their proceedings
    assert [i for i in sorted(arxiv_ids - conference_papers) if i not in cited] == []


def test_bibtex_entries_are_well_formed():
    bibtex = _bibtex()
    entries = re.split(r"\n(?=@)", bibtex.strip())
    keys = [re.match(r"@\w+\{([\w]+),", entry) for entry in entries]
    assert all(keys), entries
    assert len({key.group(1) for key in keys}) == len(entries)  # unique keys
    for entry in entries:
        assert entry.count("{") == entry.count("}"), entry
        assert re.search(r"year\s*=\s*\{\d{4}\}", entry), entry


def _real_datasets() -> list[str]:
    """The real datasets of the README's Datasets table (not the synthetic ones)."""
    table = README.split("**Datasets**", 1)[1].split("\n\n", 2)[1]
    names = [row.split("|")[1].strip() for row in table.splitlines()[2:]]
    return [name for name in names if not name.startswith("synthetic")]


def test_the_datasets_table_lists_the_six_real_datasets():
    assert _real_datasets() == [
        "REDS",
        "Vid4",
        "UCF-101",
        "HMDB-51",
        "Kinetics-400",
        "MPII",
    ]


@pytest.mark.parametrize("dataset", _real_datasets())
def test_every_real_dataset_has_a_check_command_and_a_section(dataset, capsys):
    command = dataset.lower().replace("-", "")
    with pytest.raises(SystemExit) as exited:
        main(["prepare", command, "--help"])
    assert exited.value.code == 0
    assert "--check DIR" in capsys.readouterr().out
    guide = (REPO / "docs" / "datasets.md").read_text()
    assert f"fedvideo prepare {command} --check" in guide
    assert any(line.startswith(f"## {dataset}") for line in guide.splitlines())
