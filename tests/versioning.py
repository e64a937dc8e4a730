"""Helpers for the versioned-publishing tests: a small site whose data changes between builds, and
ways to look at a published output folder (its files, their hashes, whether it is consistent)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

from conftest import DEALS_CSV, deals_site, run_cli

EPOCH = 1795000000  # 2026-11-18T11:06:40Z: every build of a test lands on the same day
DAY = "2026-11-18"
CREATED = "2026-11-18T11:06:40+00:00"

HOME = """
---
title: Home
---

# Sales

```sql won
select count(*) as deals, sum(amount) as amount_usd0 from deals where stage = 'Closed Won'
```

```sql all_deals
select id, account, stage, amount from deals order by id
```

{{ big_value(won, "amount_usd0", title="Won revenue") }}

Won deals: {{ value(won, "deals") }}

{{ table(all_deals) }}
"""

PIPELINE = """
---
title: Pipeline
---

# Pipeline

```sql by_stage
select stage, count(*) as deals, sum(amount) as amount_usd0 from deals group by stage order by stage
```

```checks
by_stage: row_count > 0
warn: by_stage: row_count > 10
```

{{ table(by_stage) }}
"""

# The data of build 1, 2 and 3: build 2 adds a won deal; build 3 drops Initech, wins Globex for 900.
DATA = [
    DEALS_CSV,
    DEALS_CSV + "5,Hooli,Organic,Closed Won,3000,2026-03-20\n",
    DEALS_CSV.replace("2,Globex,Organic,Proposal,800", "2,Globex,Organic,Closed Won,900")
    .replace("3,Initech,Paid Search,Closed Lost,400,2026-02-20\n", "")
    + "5,Hooli,Organic,Closed Won,3000,2026-03-20\n",
]

GIT_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com", "GIT_COMMITTER_NAME": "Test",
           "GIT_COMMITTER_EMAIL": "test@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def versioned_site(root: Path, extra: dict[str, str] | None = None) -> Path:
    return deals_site(root, {"reports/index.md": HOME, "reports/pipeline.md": PIPELINE, **(extra or {})})


def set_data(project: Path, step: int) -> None:
    (project / "sources" / "deals.csv").write_text(DATA[step], encoding="utf-8")


def build(project: Path, *extra: str, env: dict[str, str] | None = None):
    """`gtmsite build` in-process with the day fixed; returns the Click result."""
    return run_cli("build", "--project", project, *extra, env={"SOURCE_DATE_EPOCH": str(EPOCH), **(env or {})})


def build_ok(project: Path, *extra: str) -> str:
    result = build(project, *extra)
    assert result.exit_code == 0, result.output
    return result.stdout


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                         env={**os.environ, **GIT_ENV})
    assert out.returncode == 0, f"git {' '.join(args)}: {out.stderr}"
    return out.stdout.strip()


def git_repo(folder: Path) -> Path:
    """Make `folder` a git repository with everything in it committed on `main`."""
    git(folder, "init", "-q", "-b", "main")
    (folder / ".gitignore").write_text("build/\n.gtmsite-cache/\n")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "site")
    return folder


# -- looking at an output folder -------------------------------------------------------------------

LEFTOVER = re.compile(r"^(\.staging-|\.latest-|\.old-|\.[^/]+\.\d+\.tmp$)")


def files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative path -> bytes); symlinks as `-> target`."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[rel] = b"-> " + os.fsencode(os.readlink(path))
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out


def tree_hash(folder: Path) -> str:
    """One hash over every path (files, folders, symlinks) and every file's bytes under `folder`."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        if path.is_symlink():
            digest.update(b"L" + os.fsencode(os.readlink(path)))
        elif path.is_file():
            digest.update(b"F" + hashlib.sha256(path.read_bytes()).digest())
        else:
            digest.update(b"D")
    return digest.hexdigest()


def versions(output: Path) -> list[dict]:
    """versions.json, which must always be valid JSON (a list)."""
    data = json.loads((output / "versions.json").read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def leftovers(output: Path) -> list[str]:
    """What a killed build may leave behind: staging folders, half-made copies, unlisted versions."""
    found = sorted(p.name for p in output.iterdir() if LEFTOVER.match(p.name))
    listed = {v["id"] for v in versions(output)} if (output / "versions.json").exists() else set()
    if (output / "v").is_dir():
        found += sorted(f"v/{p.name}" for p in (output / "v").iterdir() if p.name not in listed)
    return found


def published(output: Path) -> dict[str, bytes]:
    """What a static host would serve and link to: everything except leftovers and the lock file."""
    skip = set(leftovers(output)) | {".gtmsite.lock"}
    return {rel: data for rel, data in files(output).items()
            if not any(rel == s or rel.startswith(s + "/") for s in skip)}


def assert_complete(output: Path, version_id: str) -> None:
    """`v/<id>/` holds a whole version: its manifest, every page, the changes and checks pages, the data."""
    folder = output / "v" / version_id
    manifest = json.loads((folder / "_version.json").read_text(encoding="utf-8"))
    assert manifest["version"]["id"] == version_id
    urls = json.loads((folder / "_pages.json").read_text(encoding="utf-8"))
    assert len(urls) == manifest["version"]["pages"] > 0
    for url in [*urls, "/_changes/", "/_checks/"]:
        assert (folder / url.strip("/") / "index.html").is_file(), f"{version_id}: {url} missing"
    assert (folder / "404.html").is_file()
    for page in manifest["pages"]:
        key = page["url"].strip("/") or "index"
        section = (folder / "_data" / key).parent
        for query in page["queries"]:
            assert (folder / "_data" / key / f"{query}.csv").is_file(), f"{version_id}: {key}/{query}.csv"
            # the snapshot: the page's own, or one for all pages of a templated report (`_by_<param>/`)
            assert (folder / "_data" / key / f"{query}.parquet").is_file() or \
                list(section.glob(f"_by_*/{query}.parquet")), f"{version_id}: {key}/{query}.parquet"
    for html in folder.rglob("*.html"):
        for ref in re.findall(r'(?:href|src)="([^"#?]*_assets/[^"#?]+)"', html.read_text(encoding="utf-8")):
            where = output / ref.lstrip("/") if ref.startswith("/") else html.parent / ref  # base_url "/"
            assert where.resolve().is_file(), f"{html}: {ref} does not resolve"
    assert not (folder / "_assets").exists(), "assets are shared at the root, not copied per version"


def assert_consistent(output: Path) -> list[dict]:
    """versions.json is valid, every listed version is complete, latest/ is exactly versions[0]."""
    listed = versions(output)
    ids = [v["id"] for v in listed]
    assert len(ids) == len(set(ids)), ids
    for vid in ids:
        assert_complete(output, vid)
    if listed:
        assert [v["aliases"] for v in listed] == [["latest"]] + [[]] * (len(listed) - 1)
        assert files(output / "latest") == files(output / "v" / ids[0]), "latest/ is not the newest version"
        assert "url=latest/" in (output / "index.html").read_text(encoding="utf-8")
    return listed
