"""The weekly digest (`gtmsite digest`): what changed between two published versions, as Markdown for an
issue, mail-safe HTML or text, and sent through a real SMTP server (aiosmtpd on localhost)."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import deals_site, run_cli

from gtmsite.config import load_config
from gtmsite.digest import make_digest, markdown_text, render_digest
from gtmsite.publish import read_versions
from gtmsite.release import build_site

INDEX_MD = """\
---
title: Overview
---

# Overview

```sql totals
select sum(amount) as total_usd0, count(*) as deals, sum(amount) / 100 as cost_usd0 from deals
```

{{ big_value(totals, value="total_usd0", title="Total amount") }}
{{ big_value(totals, value="deals", title="Deals") }}
{{ big_value(totals, value="cost_usd0", title="Cost per deal", down_is_good=true) }}
"""

CHANNELS_MD = """\
---
title: Channels | *all*
---

# Channels

```sql by_channel
select channel, sum(amount) as amount from deals group by all order by 1
```

```checks
warn: by_channel: row_count > 10
```

{{ table(by_channel) }}
"""

STABLE_MD = "# Stable\n\nNothing here changes.\n"
PASSWORD = "s3cret-Passw0rd"

MORE_DEALS = "5,Hooli,Organic,Closed Won,1800,2026-03-20\n"


@dataclass
class Site:
    project: Path
    ids: list[str]


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    project = deals_site(tmp_path_factory.mktemp("digest") / "project", {
        "site.toml": '[site]\ntitle = "Digest Test"\nurl = "https://acme.example/gtm"\nbase_url = "/gtm/"\n',
        "reports/index.md": INDEX_MD, "reports/channels.md": CHANNELS_MD, "reports/stable.md": STABLE_MD})
    first = build_site(project, label="week-47").record.id
    with open(project / "sources/deals.csv", "a", encoding="utf-8") as handle:
        handle.write(MORE_DEALS)
    second = build_site(project, label="week-48").record.id
    yield Site(project, [first, second])


def digest_of(site: Site, *args: str) -> str:
    result = run_cli("digest", *args, "--project", site.project)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_markdown_digest_of_the_last_two_versions(two_versions: Site) -> None:
    text = digest_of(two_versions)
    first, second = two_versions.ids
    base = f"https://acme.example/gtm/v/{second}/"
    assert text.startswith(f"## Digest Test: what changed in {second} (vs {first})")
    assert f"| KPI | {first} | {second} | Change |" in text
    assert f"| [Total amount]({base}) | $4,600 | **$6,400** | ▲ +$1,800 (+39.1%), good |" in text
    assert f"| [Cost per deal]({base}) | $46 | **$64** | ▲ +$18 (+39.1%), bad |" in text  # down_is_good
    assert "| [Deals](" in text and "| 4 | **5** | ▲ +1 (+25.0%), good |" in text
    assert f"[what changed]({base}_changes/)" in text


def test_markdown_lists_checks_and_changed_pages_with_links(two_versions: Site) -> None:
    text = digest_of(two_versions)
    base = f"https://acme.example/gtm/v/{two_versions.ids[1]}/"
    assert "- **warned**: `by_channel: row_count > 10` (3 rows) · reports/channels.md:" in text
    assert f"· [page]({base}channels/)" in text
    assert f"- **[Channels \\| \\*all\\*]({base}channels/)**" in text  # data is literal text, not Markdown
    assert "    - 1 query result changed (by\\_channel)" in text
    assert "Stable" not in text and "1 page unchanged." in text
    assert "Source results" not in text  # these versions used no external database


def test_links_without_a_site_url_start_at_base_url(two_versions: Site, tmp_path: Path) -> None:
    project = tmp_path / "copy"
    shutil.copytree(two_versions.project, project)
    (project / "site.toml").write_text('[site]\ntitle = "Digest Test"\nbase_url = "/gtm/"\n', encoding="utf-8")
    result = run_cli("digest", "--project", project)
    assert result.exit_code == 0, result.output
    assert f"[{two_versions.ids[1]}](/gtm/v/{two_versions.ids[1]}/)" in result.stdout
    assert "https://" not in result.stdout


def test_html_digest_is_mail_safe(two_versions: Site, tmp_path: Path) -> None:
    target = tmp_path / "digest.html"
    result = run_cli("digest", "--format", "html", "--output", target, "--project", two_versions.project)
    assert result.exit_code == 0, result.output
    html = target.read_text(encoding="utf-8")
    assert "<script" not in html and "<style" not in html and "<link" not in html and "class=" not in html
    assert 'style="' in html
    assert "▲ +$1,800 (+39.1%), good" in html  # the arrow is text
    assert "color:#c0392b" in html  # the bad move (cost up) is red
    assert "Channels | *all*" in html and "<em>" not in html


def test_text_digest(two_versions: Site) -> None:
    text = digest_of(two_versions, "--format", "text")
    assert "HEADLINE KPIS" in text and "Total amount: $4,600 -> $6,400  ▲ +$1,800 (+39.1%), good" in text
    assert "WARNED: by_channel: row_count > 10 (3 rows)" in text


def test_choosing_versions(two_versions: Site) -> None:
    first, second = two_versions.ids
    assert digest_of(two_versions, first, second) == digest_of(two_versions)
    assert digest_of(two_versions, second, first) == digest_of(two_versions)  # older first, whichever order
    assert digest_of(two_versions, first) == digest_of(two_versions)  # A alone: against the newest
    same = run_cli("digest", first, first, "--project", two_versions.project)
    assert same.exit_code == 2 and "two different versions" in same.stderr
    unknown = run_cli("digest", "nope", "--project", two_versions.project)
    assert unknown.exit_code == 2 and f"no version 'nope' (versions: {second}, {first})" in unknown.stderr
    bad = run_cli("digest", "--format", "pdf", "--project", two_versions.project)
    assert bad.exit_code == 2 and "markdown, html, text" in bad.stderr


def test_the_first_version_has_nothing_to_compare(tmp_path: Path) -> None:
    project = deals_site(tmp_path / "p", {"reports/index.md": INDEX_MD})
    build_site(project)
    result = run_cli("digest", "--project", project)
    assert result.exit_code == 0, result.output
    assert "is the first version" in result.stdout
    assert "| [Total amount](/v/" in result.stdout and "| – | **$4,600** | • new |" in result.stdout
    nothing = run_cli("digest", "--project", deals_site(tmp_path / "empty", {"reports/index.md": "# Hi\n"}))
    assert nothing.exit_code == 2 and "no versions published yet" in nothing.stderr


def test_source_results_from_versions_json(two_versions: Site, tmp_path: Path) -> None:
    output = tmp_path / "out"
    shutil.copytree(two_versions.project / "build", output)
    versions = json.loads((output / "versions.json").read_text())
    versions[1]["sources"] = {"crm.deals": {"rows": 4, "hash": "aaa", "fetched_at": "2026-11-25T06:00:00Z"},
                              "crm.leads": {"rows": 90, "hash": "bbb"}}
    versions[0]["sources"] = [{"name": "crm.deals", "rows": 5, "hash": "ccc", "fetched_at": "2026-12-02T06:00:00Z"},
                              {"name": "crm.leads", "rows": 90, "hash": "bbb"}]
    (output / "versions.json").write_text(json.dumps(versions))
    config = load_config(two_versions.project)
    digest = make_digest(config, output, read_versions(output), *two_versions.ids)
    assert [(s.name, s.before, s.after) for s in digest.sources] == [
        ("crm.deals", "4 rows, fetched 2026-11-25T06:00:00Z", "5 rows, fetched 2026-12-02T06:00:00Z")]
    assert "| crm.deals | 4 rows, fetched 2026-11-25T06:00:00Z | 5 rows, fetched 2026-12-02T06:00:00Z |" in \
        render_digest(config, digest, "markdown")


def test_markdown_text_escapes_what_markdown_would_read() -> None:
    assert markdown_text("a|b *c* [d](e) <img> _f_ `g`") == \
        "a\\|b \\*c\\* \\[d\\](e) \\<img\\> \\_f\\_ \\`g\\`"


# -- by mail, through a real SMTP server -------------------------------------------------------------


@dataclass
class Mailbox:
    port: int
    messages: list = field(default_factory=list)
    logins: list = field(default_factory=list)
    starttls: bool = False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _smtp_server(tls_context: ssl.SSLContext | None = None) -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    box = Mailbox(_free_port())

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            box.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            box.starttls = box.starttls or session.ssl is not None
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        box.logins.append(auth_data.login.decode())
        ok = auth_data.login == b"digest@acme.example" and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 on a failure

    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port, authenticator=authenticate,
                            auth_require_tls=tls_context is not None, tls_context=tls_context,
                            require_starttls=tls_context is not None, server_hostname="localhost")
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    yield from _smtp_server()


def _parts(raw: bytes) -> dict[str, str]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return {"subject": message["Subject"], "to": message["To"], "from": message["From"],
            "text": message.get_body(("plain",)).get_content(), "html": message.get_body(("html",)).get_content()}


def test_email_sends_text_and_html_to_every_recipient(two_versions: Site, smtp_server: Mailbox) -> None:
    url = f"smtp://digest%40acme.example:{PASSWORD}@127.0.0.1:{smtp_server.port}"
    result = run_cli("digest", "--email", "ceo@acme.example, team@acme.example", "--smtp", url,
                     "--project", two_versions.project, "--debug")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert f"sent the digest of {two_versions.ids[1]} to ceo@acme.example, team@acme.example" in result.stderr
    (sender, recipients, raw), = smtp_server.messages
    assert recipients == ["ceo@acme.example", "team@acme.example"] and sender == "digest@acme.example"
    assert smtp_server.logins == ["digest@acme.example"]
    parts = _parts(raw)
    assert parts["subject"] == f"Digest Test: what changed in {two_versions.ids[1]} (vs {two_versions.ids[0]})"
    assert "Total amount: $4,600 -> $6,400  ▲ +$1,800 (+39.1%), good" in parts["text"]
    assert "▲ +$1,800 (+39.1%), good" in parts["html"] and "<script" not in parts["html"]
    assert PASSWORD not in raw.decode("utf-8", "replace")


def test_smtp_url_from_an_environment_variable(two_versions: Site, smtp_server: Mailbox) -> None:
    env = {"DIGEST_SMTP": f"smtp://digest%40acme.example:{PASSWORD}@127.0.0.1:{smtp_server.port}"}
    result = run_cli("digest", "--email", "ceo@acme.example", "--smtp", "env:DIGEST_SMTP", "--from",
                     "reports@acme.example", "--project", two_versions.project, env=env)
    assert result.exit_code == 0, result.output
    (sender, recipients, _raw), = smtp_server.messages
    assert sender == "reports@acme.example" and recipients == ["ceo@acme.example"]
    missing = run_cli("digest", "--email", "ceo@acme.example", "--smtp", "env:NOT_SET_ANYWHERE",
                      "--project", two_versions.project)
    assert missing.exit_code == 2 and "NOT_SET_ANYWHERE is not set" in missing.stderr


def test_a_wrong_password_is_reported_without_the_password(two_versions: Site, smtp_server: Mailbox) -> None:
    url = f"smtp://digest%40acme.example:wrong-{PASSWORD}@127.0.0.1:{smtp_server.port}"
    result = run_cli("digest", "--email", "ceo@acme.example", "--smtp", url, "--project", two_versions.project)
    assert result.exit_code == 1
    assert "refused the user name or password" in result.stderr
    assert PASSWORD not in result.output and smtp_server.messages == []


def test_an_unreachable_server_and_bad_arguments(two_versions: Site) -> None:
    url = f"smtp://u:{PASSWORD}@127.0.0.1:{_free_port()}"
    result = run_cli("digest", "--email", "ceo@acme.example", "--smtp", url, "--project", two_versions.project)
    assert result.exit_code == 1 and "cannot reach smtp://u@127.0.0.1:" in result.stderr
    assert PASSWORD not in result.output
    no_smtp = run_cli("digest", "--email", "ceo@acme.example", "--project", two_versions.project)
    assert no_smtp.exit_code == 2 and "--email needs --smtp" in no_smtp.stderr
    bad = run_cli("digest", "--email", "not-an-address", "--smtp", url, "--project", two_versions.project)
    assert bad.exit_code == 2 and "--email: expected addresses" in bad.stderr
    http = run_cli("digest", "--email", "a@b.c", "--smtp", "https://mail.example", "--project",
                   two_versions.project)
    assert http.exit_code == 2 and "expected smtp://" in http.stderr


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Mailbox, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    for box in _smtp_server(context):
        yield box, cert


def test_starttls_is_used_when_the_server_offers_it(two_versions: Site, tls_server: tuple[Mailbox, Path]) -> None:
    box, cert = tls_server
    url = f"smtp://digest%40acme.example:{PASSWORD}@localhost:{box.port}"
    result = run_cli("digest", "--email", "ceo@acme.example", "--smtp", url, "--project", two_versions.project,
                     env={"SSL_CERT_FILE": str(cert)})
    assert result.exit_code == 0, result.output
    assert box.starttls and len(box.messages) == 1
